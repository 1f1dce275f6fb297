/**
 * The console's operations pages: bulk exports (export:run), network adequacy reports (adequacy:run) and the audit
 * trail (audit:read). Each page calls the service's own code in-process; see the modules for their routes.
 */
import type { ConsoleKit } from '../kit.ts';
import { mountExportPages } from './exports.ts';
import { mountAdequacyPages } from './adequacy.ts';
import { mountAuditPages } from './audit.ts';

export function mountOperationPages(kit: ConsoleKit): void {
  mountExportPages(kit);
  mountAdequacyPages(kit);
  mountAuditPages(kit);
}
