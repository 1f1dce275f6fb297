/**
 * The bulk data routes under a tenant's FHIR base, mounted ahead of the FHIR router (their paths start with `$`,
 * and their responses are not all FHIR JSON: manifests are application/json, files application/fhir+ndjson).
 * Each route declares its policy here, like the FHIR router's.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AppServices, FhirContext } from '../services.ts';
import type { Tenant } from '../../tenancy/tenants.ts';
import { declareRoute, type RoutePolicy } from '../../auth/permissions.ts';
import { authorize } from '../../auth/authorize.ts';
import { ANONYMOUS } from '../../auth/identity.ts';
import { currentContext } from '../../http/request-context.ts';
import { negotiate, requireJsonBody } from '../../http/negotiation.ts';
import { tenantBaseUrl } from '../routes.ts';
import { loadUrlSigner } from '../../jobs/export/signed-urls.ts';
import { cancel, download, kickoff, otherLevel, status } from './export.ts';
import { publishedFile, publishedManifest, publishNow } from './bulk-publish.ts';

type Handler = (ctx: FhirContext, req: Request, res: Response) => Promise<void> | void;

export function bulkDataRouter(services: AppServices): Router {
  const router = express.Router({ mergeParams: true });
  const signer = loadUrlSigner(services.config);
  const jsonBody = express.json({ limit: '1mb', type: ['application/fhir+json', 'application/json'], strict: false });

  /** Declares the route's policy and runs it; `check` enforces policies the handler does not enforce itself. */
  const route = (method: string, path: string, action: string, policy: RoutePolicy, fn: Handler, check = false) => {
    declareRoute({ method, path: `/t/:tenant/fhir${path}`, action, policy });
    return async (req: Request, res: Response, next: NextFunction) => {
      try {
        const tenant = res.locals.tenant as Tenant;
        const rc = currentContext();
        if (rc) rc.audit.action = action;
        if (check) authorize(rc?.identity ?? ANONYMOUS, tenant, policy);
        const ctx: FhirContext = { services, tenant, baseUrl: tenantBaseUrl(services, req, tenant.id), strict: false, preferReturn: 'representation' };
        await fn(ctx, req, res);
      } catch (err) { next(err); }
    };
  };

  router.get('/$export', negotiate, route('GET', '/$export', 'export-kickoff', 'export:run', (ctx, req, res) => kickoff(services, ctx, req, res)));
  router.post('/$export', negotiate, requireJsonBody(), jsonBody, route('POST', '/$export', 'export-kickoff', 'export:run', (ctx, req, res) => kickoff(services, ctx, req, res)));
  router.get('/$export-status/:id', negotiate, route('GET', '/$export-status/:id', 'export-status', 'export:run', (ctx, req, res) => status(services, ctx, req, res, signer)));
  router.delete('/$export-status/:id', route('DELETE', '/$export-status/:id', 'export-cancel', 'export:run', (ctx, req, res) => cancel(services, ctx, req, res)));
  // the signed URL is the credential (checked in the handler), so the route itself is public
  router.get('/$export-file/:id/:file', route('GET', '/$export-file/:id/:file', 'export-download', 'public', (ctx, req, res) => download(services, ctx, req, res, signer)));

  router.get('/$bulk-publish', route('GET', '/$bulk-publish', 'bulk-publish-manifest', 'directory:read', (ctx, req, res) => publishedManifest(services, ctx, req, res), true));
  router.post('/$bulk-publish', route('POST', '/$bulk-publish', 'bulk-publish-run', 'export:run', (ctx, req, res) => publishNow(services, ctx, req, res)));
  router.get('/$bulk-publish/:id/:file', route('GET', '/$bulk-publish/:id/:file', 'bulk-publish-download', 'directory:read', (ctx, req, res) => publishedFile(services, ctx, req, res), true));

  // other export levels answer 4xx OperationOutcomes (Patient: no patients here; Group: none served)
  const other = (method: string, path: string) => route(method, path, 'export-kickoff', 'public', (_ctx, req) => otherLevel(req));
  router.get('/:type/$export', other('GET', '/:type/$export'));
  router.post('/:type/$export', other('POST', '/:type/$export'));
  router.get('/:type/:id/$export', other('GET', '/:type/:id/$export'));
  router.post('/:type/:id/$export', other('POST', '/:type/:id/$export'));
  return router;
}
