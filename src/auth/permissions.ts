/**
 * The permission registry and the roles built from it. Every route declares the one permission it needs (see
 * `declareRoute`); `PUBLIC` marks routes anyone may call (metadata, discovery, public directory reads).
 */
export const PERMISSIONS = [
  'directory:read', 'directory:write', 'export:run', 'adequacy:run', 'audit:read', 'clients:manage', 'tenant:admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Route policy: a permission, or public (no identity needed). */
export type RoutePolicy = Permission | 'public';

export const ROLES: Record<string, readonly Permission[]> = {
  viewer: ['directory:read'],
  editor: ['directory:read', 'directory:write'],
  exporter: ['directory:read', 'export:run', 'adequacy:run'],
  auditor: ['directory:read', 'audit:read'],
  admin: PERMISSIONS,
};

export interface DeclaredRoute { method: string; path: string; action: string; policy: RoutePolicy }

/** Every route the app registers, with its policy, so tests can prove none is left without one. */
export const ROUTE_TABLE: DeclaredRoute[] = [];

export function declareRoute(route: DeclaredRoute): void {
  if (!ROUTE_TABLE.some((r) => r.method === route.method && r.path === route.path)) ROUTE_TABLE.push(route);
}
