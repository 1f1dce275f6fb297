/**
 * The Express adapter for one tenant's FHIR base (/t/{tenant}/fhir). It parses the URL into an interaction, builds
 * the FhirContext, calls the framework-free interaction, and writes its FhirResponse. Paths it does not know are
 * 404, known paths with the wrong method are 405; every error becomes an OperationOutcome in http/errors.ts.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AppServices, FhirContext, FhirResponse } from './services.ts';
import { FhirError } from './outcome/errors.ts';
import { negotiate, requireJsonBody, FHIR_JSON } from '../http/negotiation.ts';
import * as instance from './interactions/instance.ts';
import { historyInteraction } from './interactions/history.ts';
import { processBundle, searchOptions } from './interactions/batch.ts';
import { assertSupportedType } from './interactions/resource-checks.ts';
import { buildCapabilityStatement } from './capability/capability-statement.ts';
import { parseETagVersion } from '../storage/resource-store.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { currentContext } from '../http/request-context.ts';
import { declareRoute, type RoutePolicy } from '../auth/permissions.ts';
import { authorize } from '../auth/authorize.ts';
import { ANONYMOUS } from '../auth/identity.ts';
import type { QueryPairs } from '../search/engine.ts';

function parsePrefer(header: string | string[] | undefined): { strict: boolean; preferReturn: FhirContext['preferReturn'] } {
  let strict = false;
  let preferReturn: FhirContext['preferReturn'] = 'representation';
  for (const token of [header ?? ''].flat().join(',').split(/[,;]/).map((t) => t.trim().toLowerCase())) {
    if (token === 'handling=strict') strict = true;
    else if (token === 'return=minimal') preferReturn = 'minimal';
    else if (token === 'return=operationoutcome') preferReturn = 'OperationOutcome';
  }
  return { strict, preferReturn };
}

/** Query pairs in order, from the raw URL (repeated parameters are kept: repeated = AND). */
export function queryPairs(req: Request): QueryPairs {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? [] : ([...new URLSearchParams(req.originalUrl.slice(i + 1))] as QueryPairs);
}

export function tenantBaseUrl(services: AppServices, req: Request, tenant: string): string {
  const origin = services.config.publicBaseUrl ?? `${req.protocol}://${req.get('host')}`;
  return `${origin}/t/${tenant}/fhir`;
}

function send(res: Response, r: FhirResponse): void {
  res.status(r.status);
  for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
  if (r.json !== undefined) res.type(FHIR_JSON).send(r.json);
  else res.end();
}

const methodNotAllowed = (req: Request, allowed: string) =>
  new FhirError('method-not-allowed', `${req.method} is not allowed here; allowed: ${allowed}`, { headers: { Allow: allowed } });

export function fhirRouter(services: AppServices): Router {
  const router = express.Router({ mergeParams: true });
  const jsonBody = express.json({ limit: services.config.maxBodyBytes, type: ['application/fhir+json', 'application/json', 'application/json+fhir'], strict: false });
  const formBody = express.urlencoded({ limit: services.config.maxBodyBytes, extended: false });

  router.use(negotiate);
  router.use((req: Request, res: Response, next: NextFunction) => {
    const tenant = res.locals.tenant as Tenant;
    const { strict, preferReturn } = parsePrefer(req.headers.prefer);
    res.locals.fhir = { services, tenant, baseUrl: tenantBaseUrl(services, req, tenant.id), strict, preferReturn } satisfies FhirContext;
    next();
  });

  /**
   * Wraps an interaction: declares its route policy (one place per route), notes the action for the audit row, runs
   * it and writes the response.
   */
  const handle = (method: string, path: string, action: string, policy: RoutePolicy, fn: (ctx: FhirContext, req: Request) => Promise<FhirResponse> | FhirResponse) => {
    declareRoute({ method, path: `/t/:tenant/fhir${path === '/' ? '' : path}`, action, policy });
    return async (req: Request, res: Response, next: NextFunction) => {
      const rc = currentContext();
      if (rc) {
        rc.audit.action = action;
        if (typeof req.params.type === 'string') rc.audit.resourceType = req.params.type;
        if (typeof req.params.id === 'string' && !req.params.id.startsWith('$')) rc.audit.resourceIds = [req.params.id];
      }
      try {
        const ctx = res.locals.fhir as FhirContext;
        authorize(rc?.identity ?? ANONYMOUS, ctx.tenant, policy, typeof req.params.type === 'string' ? req.params.type : undefined);
        send(res, await fn(ctx, req));
      } catch (err) { next(err); }
    };
  };
  const ifMatch = (req: Request) => (req.headers['if-match'] ? parseETagVersion(String(req.headers['if-match'])) : undefined);
  const search = (ctx: FhirContext, type: string, query: QueryPairs) => {
    assertSupportedType(type);
    return ctx.services.db.withTenant(ctx.tenant.id, async (tx) => {
      const r = await ctx.services.search.search(tx, type, query, searchOptions(ctx));
      const rc = currentContext();
      if (rc) { rc.audit.searchParams = [...new Set(query.map(([k]) => k))]; rc.audit.resultCount = r.matchCount; }
      return { status: 200, headers: {}, json: r.json } satisfies FhirResponse;
    }, { readOnly: true });
  };

  router.get('/metadata', handle('GET', '/metadata', 'capabilities', 'public', (ctx) => ({ status: 200, headers: {}, json: JSON.stringify(buildCapabilityStatement(ctx.baseUrl, ctx.services.search)) })));
  router.all('/metadata', (req, _res, next) => next(methodNotAllowed(req, 'GET')));

  router.post('/', requireJsonBody(), jsonBody, handle('POST', '/', 'batch-transaction', 'directory:write', (ctx, req) => processBundle(ctx, req.body)));
  router.all('/', (req, _res, next) => next(methodNotAllowed(req, 'POST')));

  router.get('/_history', handle('GET', '/_history', 'history-system', 'directory:read', (ctx, req) => historyInteraction(ctx, queryPairs(req))));

  router.get('/:type', handle('GET', '/:type', 'search-type', 'directory:read', (ctx, req) => search(ctx, req.params.type as string, queryPairs(req))));
  router.post('/:type', requireJsonBody(), jsonBody, handle('POST', '/:type', 'create', 'directory:write', (ctx, req) => {
    const ine = req.headers['if-none-exist'];
    return instance.create(ctx, req.params.type as string, req.body, typeof ine === 'string' ? ine : undefined);
  }));
  router.all('/:type', (req, _res, next) => next(methodNotAllowed(req, 'GET, POST')));

  router.post('/:type/_search', requireJsonBody(true), formBody, handle('POST', '/:type/_search', 'search-type', 'directory:read', (ctx, req) => {
    const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body as Record<string, string | string[]> : {};
    const fromBody: QueryPairs = Object.entries(body).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, String(x)] as [string, string]));
    return search(ctx, req.params.type as string, [...queryPairs(req), ...fromBody]);
  }));
  router.get('/:type/_history', handle('GET', '/:type/_history', 'history-type', 'directory:read', (ctx, req) => historyInteraction(ctx, queryPairs(req), req.params.type as string)));

  router.post('/:type/:id', requireJsonBody(), jsonBody, handle('POST', '/:type/$validate', 'operation:validate', 'directory:read', (ctx, req) => {
    if (req.params.id === '$validate') return instance.validateOperation(ctx, req.params.type as string, req.body);
    throw new FhirError('method-not-allowed', `POST is not allowed on an instance; use PUT to update ${req.params.type}/${req.params.id}`, { headers: { Allow: 'GET, PUT, DELETE' } });
  }));
  router.get('/:type/:id', handle('GET', '/:type/:id', 'read', 'directory:read', (ctx, req) => instance.read(ctx, req.params.type as string, req.params.id as string)));
  router.put('/:type/:id', requireJsonBody(), jsonBody, handle('PUT', '/:type/:id', 'update', 'directory:write', (ctx, req) => instance.update(ctx, req.params.type as string, req.params.id as string, req.body, ifMatch(req))));
  router.delete('/:type/:id', handle('DELETE', '/:type/:id', 'delete', 'directory:write', (ctx, req) => instance.remove(ctx, req.params.type as string, req.params.id as string, ifMatch(req))));
  router.all('/:type/:id', (req, _res, next) => next(methodNotAllowed(req, 'GET, PUT, DELETE')));

  router.get('/:type/:id/_history', handle('GET', '/:type/:id/_history', 'history-instance', 'directory:read', (ctx, req) => historyInteraction(ctx, queryPairs(req), req.params.type as string, req.params.id as string)));
  router.get('/:type/:id/_history/:vid', handle('GET', '/:type/:id/_history/:vid', 'vread', 'directory:read', (ctx, req) => instance.vread(ctx, req.params.type as string, req.params.id as string, req.params.vid as string)));
  router.all(['/:type/:id/_history', '/:type/:id/_history/:vid'], (req, _res, next) => next(methodNotAllowed(req, 'GET')));

  router.use((req: Request, _res: Response, next: NextFunction) => next(new FhirError('not-found', `No FHIR interaction at ${req.method} ${req.path}`)));
  return router;
}
