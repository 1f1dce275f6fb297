/**
 * The staff/admin API under /t/{tenant}/admin (JSON, OperationOutcome errors). Each route declares its permission.
 *   GET    /clients          list SMART clients                 clients:manage
 *   POST   /clients          register {name, scope, jwks | jwks_uri}   clients:manage
 *   DELETE /clients/:id      revoke (its live tokens fail at once)      clients:manage
 *   POST   /signing-keys/rotate   new access-token signing key            tenant:admin
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AppServices } from '../fhir/services.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { declareRoute, type RoutePolicy } from '../auth/permissions.ts';
import { authorize } from '../auth/authorize.ts';
import { ANONYMOUS } from '../auth/identity.ts';
import { currentContext } from '../http/request-context.ts';
import { FhirError } from '../fhir/outcome/errors.ts';
import { ClientRegistrationError } from '../auth/smart/clients.ts';
import { requireJsonBody } from '../http/negotiation.ts';

export function adminRouter(services: AppServices): Router {
  const router = express.Router({ mergeParams: true });
  const json = express.json({ limit: '256kb' });
  const route = (method: 'get' | 'post' | 'delete', path: string, action: string, policy: RoutePolicy,
    fn: (req: Request, res: Response, tenant: Tenant) => Promise<void>) => {
    declareRoute({ method: method.toUpperCase(), path: `/t/:tenant/admin${path}`, action, policy });
    router[method](path, ...(method === 'post' ? [requireJsonBody(), json] : []), async (req: Request, res: Response, next: NextFunction) => {
      const rc = currentContext();
      if (rc) rc.audit.action = `admin:${action}`;
      try {
        const tenant = res.locals.tenant as Tenant;
        authorize(rc?.identity ?? ANONYMOUS, tenant, policy);
        await fn(req, res, tenant);
      } catch (err) {
        next(err instanceof ClientRegistrationError ? new FhirError('bad-request', err.message) : err);
      }
    });
  };

  route('get', '/clients', 'list-clients', 'clients:manage', async (_req, res, tenant) => {
    res.json((await services.auth.clients.list(tenant.id)).map(({ jwks: _j, ...c }) => c));
  });
  route('post', '/clients', 'register-client', 'clients:manage', async (req, res, tenant) => {
    const b = (req.body ?? {}) as { name?: string; scope?: string; jwks?: unknown; jwks_uri?: string };
    const client = await services.auth.clients.register(tenant.id, {
      name: String(b.name ?? ''), scopes: String(b.scope ?? '').split(/\s+/).filter(Boolean), jwks: b.jwks, jwksUri: b.jwks_uri,
    });
    const rc = currentContext();
    if (rc) rc.audit.resourceIds = [client.clientId];
    res.status(201).json({ client_id: client.clientId, name: client.name, scope: client.scopes.join(' '), jwks_uri: client.jwksUri });
  });
  route('delete', '/clients/:id', 'revoke-client', 'clients:manage', async (req, res, tenant) => {
    const rc = currentContext();
    if (rc) rc.audit.resourceIds = [String(req.params.id)];
    if (!(await services.auth.clients.revoke(tenant.id, String(req.params.id)))) throw new FhirError('not-found', 'No active client with that id');
    res.status(204).end();
  });
  route('post', '/signing-keys/rotate', 'rotate-signing-key', 'tenant:admin', async (_req, res, tenant) => {
    // the previous key keeps verifying live tokens for one token lifetime; the JWKS publishes both meanwhile
    const kid = await services.auth.keys.rotate(tenant.id);
    res.status(201).json({ kid, jwks_uri: `/t/${tenant.id}/auth/jwks` });
  });
  router.use((req: Request, _res: Response, next: NextFunction) => next(new FhirError('not-found', `No admin route ${req.method} ${req.path}`)));
  return router;
}
