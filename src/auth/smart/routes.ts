/**
 * SMART Backend Services endpoints per tenant:
 *   GET  /t/{tenant}/fhir/.well-known/smart-configuration   discovery
 *   POST /t/{tenant}/auth/token                             token endpoint (form-encoded)
 *   GET  /t/{tenant}/auth/jwks                              the tenant's token-signing public keys
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AppServices } from '../../fhir/services.ts';
import type { Tenant } from '../../tenancy/tenants.ts';
import { declareRoute } from '../permissions.ts';
import { currentContext } from '../../http/request-context.ts';
import { issueToken, OAuthError, ALLOWED_ASSERTION_ALGS } from './token-endpoint.ts';

export function tenantOrigin(services: AppServices, req: Request): string {
  return services.config.publicBaseUrl ?? `${req.protocol}://${req.get('host')}`;
}
export const tokenUrl = (services: AppServices, req: Request, tenant: string) => `${tenantOrigin(services, req)}/t/${tenant}/auth/token`;
export const fhirBaseUrl = (services: AppServices, req: Request, tenant: string) => `${tenantOrigin(services, req)}/t/${tenant}/fhir`;

export function smartConfiguration(services: AppServices, req: Request, tenant: string) {
  // no `issuer`: this is not an OpenID provider (the SMART spec and Inferno expect it absent for backend services)
  return {
    jwks_uri: `${tenantOrigin(services, req)}/t/${tenant}/auth/jwks`,
    token_endpoint: tokenUrl(services, req, tenant),
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ALLOWED_ASSERTION_ALGS],
    grant_types_supported: ['client_credentials'],
    scopes_supported: ['system/*.read', 'system/*.rs', 'system/*.write', 'system/*.cruds',
      ...['Endpoint', 'HealthcareService', 'InsurancePlan', 'Location', 'Organization', 'OrganizationAffiliation', 'Practitioner', 'PractitionerRole'].map((t) => `system/${t}.rs`)],
    code_challenge_methods_supported: ['S256'],
    capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
  };
}

/** Routes under /t/:tenant that come before the FHIR router. */
export function smartRouter(services: AppServices): Router {
  const router = express.Router({ mergeParams: true });
  const note = (action: string) => { const rc = currentContext(); if (rc) rc.audit.action = action; };

  declareRoute({ method: 'GET', path: '/t/:tenant/fhir/.well-known/smart-configuration', action: 'smart-discovery', policy: 'public' });
  router.get('/fhir/.well-known/smart-configuration', (req: Request, res: Response) => {
    note('smart-discovery');
    res.set('Cache-Control', 'public, max-age=300').json(smartConfiguration(services, req, (res.locals.tenant as Tenant).id));
  });

  declareRoute({ method: 'GET', path: '/t/:tenant/auth/jwks', action: 'jwks', policy: 'public' });
  router.get('/auth/jwks', async (_req: Request, res: Response, next: NextFunction) => {
    note('jwks');
    try { res.set('Cache-Control', 'public, max-age=60').json(await services.auth.keys.jwks((res.locals.tenant as Tenant).id)); } catch (err) { next(err); }
  });

  declareRoute({ method: 'POST', path: '/t/:tenant/auth/token', action: 'token', policy: 'public' });
  router.post('/auth/token', express.urlencoded({ extended: false, limit: '64kb' }), async (req: Request, res: Response) => {
    note('token');
    res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    const tenant = (res.locals.tenant as Tenant).id;
    try {
      if (!req.is('application/x-www-form-urlencoded')) throw new OAuthError('invalid_request', 'The token request must be application/x-www-form-urlencoded');
      const token = await issueToken({ db: services.db, clients: services.auth.clients, keys: services.auth.keys }, tenant, req.body ?? {},
        { tokenUrl: tokenUrl(services, req, tenant), fhirBase: fhirBaseUrl(services, req, tenant) });
      const rc = currentContext();
      if (rc) rc.audit.resourceIds = [String(token.scope)];
      res.status(200).json(token);
    } catch (err) {
      if (err instanceof OAuthError) {
        res.locals.outcome = err.error;
        if (err.status === 401) res.set('WWW-Authenticate', 'Bearer error="invalid_client"');
        res.status(err.status).json({ error: err.error, error_description: err.message });
        return;
      }
      services.logger.error({ err }, 'token endpoint failed');
      res.status(500).json({ error: 'server_error', error_description: 'An internal error occurred' });
    }
  });
  router.all(['/auth/token', '/auth/jwks', '/fhir/.well-known/smart-configuration'], (req: Request, res: Response) => {
    res.status(405).set('Allow', req.path.endsWith('token') ? 'POST' : 'GET').json({ error: 'invalid_request', error_description: `${req.method} not allowed` });
  });
  return router;
}
