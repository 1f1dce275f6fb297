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

export interface RegisteredRoute { method: string; path: string }

/**
 * Every concrete route the Express app has registered, found by walking its router stacks (Express 5 keeps each
 * mount path in `layer.rawPath`). Catch-all `router.all` handlers, which only answer 404/405, are left out.
 */
export function listRegisteredRoutes(app: { router: { stack: unknown[] } }): RegisteredRoute[] {
  const out: RegisteredRoute[] = [];
  const join = (a: string, b: string) => (a + (b === '/' ? '' : b)).replace(/\/+/g, '/') || '/';
  const walk = (stack: unknown[], prefix: string) => {
    for (const layer of stack as { route?: { path: string | string[]; methods: Record<string, boolean> }; handle?: { stack?: unknown[] }; rawPath?: string | string[] }[]) {
      if (layer.route) {
        if (layer.route.methods._all) continue;
        for (const p of ([] as string[]).concat(layer.route.path)) {
          for (const m of Object.keys(layer.route.methods)) out.push({ method: m.toUpperCase(), path: join(prefix, p) });
        }
      } else if (layer.handle?.stack) {
        for (const p of ([] as string[]).concat(layer.rawPath ?? '')) walk(layer.handle.stack, join(prefix, p));
      }
    }
  };
  walk(app.router.stack, '');
  return out;
}
