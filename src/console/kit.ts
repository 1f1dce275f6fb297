/**
 * What every console page module shares: declaring a route with its permission (so the route table and the server's
 * enforcement stay one list), the signed-in staff session as the page templates see it, rendering, and reads/searches
 * through the service's own storage and search engine inside the tenant's read-only transaction. Page modules
 * (directory, data quality, operations, admin) each take a kit and register their routes on the console router.
 */
import type { NextFunction, Request, Response, Router } from 'express';
import type { AppServices } from '../fhir/services.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { FhirError } from '../fhir/outcome/errors.ts';
import { currentContext } from '../http/request-context.ts';
import { ANONYMOUS, type Identity } from '../auth/identity.ts';
import { authorize, staffPermissions } from '../auth/authorize.ts';
import { declareRoute, type Permission, type RoutePolicy } from '../auth/permissions.ts';
import { StaffSessions } from '../auth/sessions/store.ts';
import { fhirBaseUrl } from '../auth/smart/routes.ts';
import { PLAN_NET_TYPES } from '../validation/validator.ts';
import { readCurrent } from '../storage/resource-store.ts';
import { consoleBase, type SessionView } from './layout.ts';

export type Json = any; // FHIR resources as parsed JSON

export type PageHandler = (req: Request, res: Response, tenant: Tenant) => Promise<void>;

export interface ConsoleKit {
  services: AppServices;
  router: Router;
  sessions?: StaffSessions;
  /** The Plan-Net types, in navigation order. */
  types: string[];
  /** Registers a console route (path relative to /t/:tenant/console) with the permission the server enforces. */
  route(method: 'get' | 'post', path: string, action: string, policy: RoutePolicy, fn: PageHandler): void;
  /** The staff session for templates; undefined for anyone else. */
  sessionView(req: Request): SessionView | undefined;
  /** A staff page: without a session, sends the browser to the landing page and returns undefined. */
  staffOnly(req: Request, res: Response, tenant: Tenant): SessionView | undefined;
  /** Whether the session's roles grant a permission (to show or hide controls; the server enforces it anyway). */
  can(s: SessionView, permission: Permission): boolean;
  page(res: Response, status: number, body: string): void;
  read(tenant: Tenant, type: string, id: string): ReturnType<typeof readCurrent>;
  /** A FHIR search through the service's engine (strict: unknown parameters are refused); the Bundle as JSON. */
  search(req: Request, tenant: Tenant, type: string, query: [string, string][]): Promise<Json>;
  assertType(type: string): void;
  base(tenant: Tenant): string;
}

export const currentIdentity = (): Identity => currentContext()?.identity ?? ANONYMOUS;
/** Names the audit row's action for this request. */
export const noteAction = (action: string) => { const rc = currentContext(); if (rc) rc.audit.action = action; };
/** Names what this request's audit row is about (a job, a client, an IdP…). */
export const noteResource = (...ids: string[]) => { const rc = currentContext(); if (rc) rc.audit.resourceIds = ids; };
export const noteResultCount = (n: number) => { const rc = currentContext(); if (rc) rc.audit.resultCount = n; };

export function consoleKit(services: AppServices, router: Router): ConsoleKit {
  const sessions = services.sessions instanceof StaffSessions ? services.sessions : undefined;
  const types: string[] = [...PLAN_NET_TYPES];
  const sessionView = (req: Request): SessionView | undefined => {
    const id = currentIdentity();
    const s = sessions?.sessionOf(req);
    if (id.kind !== 'staff' || !s || !sessions) return undefined;
    return { userId: s.userId, name: s.displayName, roles: s.roles, csrfToken: s.csrfToken, idleExpiresAt: s.idleExpiresAt, absoluteExpiresAt: s.absoluteExpiresAt, idleTimeoutS: sessions.idleTimeoutS, absoluteTimeoutS: sessions.absoluteTimeoutS };
  };
  return {
    services, router, sessions, types, sessionView,
    route(method, p, action, policy, fn) {
      declareRoute({ method: method.toUpperCase(), path: `/t/:tenant/console${p === '/' ? '' : p}`, action, policy });
      router[method](p, async (req: Request, res: Response, next: NextFunction) => {
        noteAction(action);
        try { authorize(currentIdentity(), res.locals.tenant as Tenant, policy); await fn(req, res, res.locals.tenant as Tenant); } catch (err) { next(err); }
      });
    },
    staffOnly(req, res, tenant) {
      const s = sessionView(req);
      if (!s) res.redirect(303, `${consoleBase(tenant.id)}/`);
      return s;
    },
    can: (s, permission) => staffPermissions(s.roles).has(permission),
    page(res, status, body) { res.status(status).type('html').send(body); },
    read: (tenant, type, id) => services.db.withTenant(tenant.id, (tx) => readCurrent(tx, type, id), { readOnly: true }),
    async search(req, tenant, type, query) {
      const opts = { baseUrl: fhirBaseUrl(services, req, tenant.id), strict: true, defaultCount: 20, maxCount: services.config.maxPageSize };
      const r = await services.db.withTenant(tenant.id, (tx) => services.search.search(tx, type, query, opts), { readOnly: true });
      return JSON.parse(r.json);
    },
    assertType(type) { if (!types.includes(type)) throw new FhirError('not-found', `${type} is not a Plan-Net type`); },
    base: (tenant) => consoleBase(tenant.id),
  };
}
