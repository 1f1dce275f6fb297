/**
 * The console's sections beyond the directory, in navigation order. Each page module adds its entry here; the layout
 * shows an entry only to users whose roles grant its permission (the server enforces it on every route anyway).
 */
import { ROLES, type Permission } from '../auth/permissions.ts';

export interface ConsoleSection { path: string; label: string; permission: Permission }

export const SECTIONS: ConsoleSection[] = [
  { path: '/loads', label: 'Loads', permission: 'directory:write' },
  { path: '/quality', label: 'Data quality', permission: 'directory:read' },
  { path: '/exports', label: 'Exports', permission: 'export:run' },
  { path: '/adequacy', label: 'Adequacy', permission: 'adequacy:run' },
  { path: '/audit', label: 'Audit', permission: 'audit:read' },
  { path: '/admin/clients', label: 'SMART clients', permission: 'clients:manage' },
  { path: '/admin/idp', label: 'Single sign-on', permission: 'tenant:admin' },
];

/** The sections a user with these roles may open. */
export function sectionsFor(roles: readonly string[]): ConsoleSection[] {
  return SECTIONS.filter((x) => roles.some((r) => ROLES[r]?.includes(x.permission)));
}
