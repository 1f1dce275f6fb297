/**
 * The console's admin pages: SMART Backend Services clients (clients:manage) and the tenant's SAML identity
 * provider with its group → role mapping (tenant:admin).
 */
import type { ConsoleKit } from '../kit.ts';
import { mountClientPages } from './clients.ts';
import { mountIdpPages } from './idp.ts';

export function mountAdminPages(kit: ConsoleKit): void {
  mountClientPages(kit);
  mountIdpPages(kit);
}
