/**
 * Authorization: does this identity hold the permission a route declares, for this tenant?
 * - public routes: anyone.
 * - directory:read: anyone, unless the tenant requires authentication for reads (private deployments).
 * - everything else: a staff user whose roles grant it, or a SMART client whose scopes do
 *   (directory:write needs system-wide create/update/delete: `system/*.write` or `system/*.cruds`).
 * An identity of another tenant never passes (403); no identity where one is needed is 401.
 */
import { FhirError } from '../fhir/outcome/errors.ts';
import type { Identity } from './identity.ts';
import { ROLES, type Permission, type RoutePolicy } from './permissions.ts';
import { ADEQUACY_SCOPE, scopesAllow } from './smart/scopes.ts';
import type { Tenant } from '../tenancy/tenants.ts';

export function staffPermissions(roles: string[]): Set<Permission> {
  return new Set(roles.flatMap((r) => ROLES[r] ?? []));
}

function clientHas(scopes: string[], permission: Permission, resourceType?: string): boolean {
  switch (permission) {
    case 'directory:read': return scopesAllow(scopes, resourceType ?? '*', 'r') || scopesAllow(scopes, resourceType ?? '*', 's');
    case 'directory:write': return ['c', 'u', 'd'].every((op) => scopesAllow(scopes, '*', op));
    case 'export:run': return scopesAllow(scopes, '*', 'r') || scopesAllow(scopes, resourceType ?? '*', 'r');
    case 'adequacy:run': return scopes.includes(ADEQUACY_SCOPE); // not a resource scope: granted to regulators' clients
    default: return false; // audit, client management and tenant administration are staff-only
  }
}

export function hasPermission(identity: Identity, tenant: Tenant, permission: Permission, resourceType?: string): boolean {
  switch (identity.kind) {
    case 'system': return true;
    case 'anonymous': return permission === 'directory:read' && !tenant.settings.requireAuthForReads;
    case 'client': return identity.tenant === tenant.id && clientHas(identity.scopes, permission, resourceType);
    case 'staff': return identity.tenant === tenant.id && staffPermissions(identity.roles).has(permission);
  }
}

export function authorize(identity: Identity, tenant: Tenant, policy: RoutePolicy, resourceType?: string): void {
  if (policy === 'public') return;
  if (identity.kind === 'client' || identity.kind === 'staff') {
    if (identity.tenant !== tenant.id) throw new FhirError('forbidden', 'These credentials belong to another tenant');
  }
  if (hasPermission(identity, tenant, policy, resourceType)) return;
  if (identity.kind === 'anonymous') {
    throw new FhirError('unauthorized', `Authentication is required (${policy})`, { headers: { 'WWW-Authenticate': 'Bearer' } });
  }
  throw new FhirError('forbidden', `Your ${identity.kind === 'client' ? 'scopes do' : 'roles do'} not grant ${policy}${resourceType ? ` on ${resourceType}` : ''}`);
}
