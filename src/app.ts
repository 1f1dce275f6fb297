/**
 * Composition of the Express app. The middleware order is the architecture:
 *   request id + logging → health → tenancy (/t/{tenant}) → FHIR router → errors.
 * (Security headers, authentication, rate limits and audit slot in between as those pieces land.)
 */
import { randomUUIDv7 } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { AppServices } from './fhir/services.ts';
import { fhirRouter } from './fhir/routes.ts';
import { bulkDataRouter } from './fhir/operations/routes.ts';
import { adequacyRouter } from './adequacy/routes.ts';
import { errorHandler } from './http/errors.ts';
import { FhirError } from './fhir/outcome/errors.ts';
import { runWithContext, currentContext, type RequestContext } from './http/request-context.ts';
import { ANONYMOUS } from './auth/identity.ts';
import { authenticate } from './auth/authenticate.ts';
import { smartRouter, fhirBaseUrl } from './auth/smart/routes.ts';
import { samlRouter } from './auth/saml/routes.ts';
import { adminRouter } from './admin/routes.ts';
import { publicCors, requireHttps, securityHeaders } from './http/security.ts';
import { declareRoute } from './auth/permissions.ts';
import type { Metrics } from './observability/metrics.ts';
import { auditLogFields, type AuditService } from './audit/service.ts';
import { auditEventRouter } from './audit/routes.ts';
import { consoleErrors, consoleRouter } from './console/router.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildApp(services: AppServices, opts: { audit?: AuditService; metrics?: Metrics } = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // FHIR version ETags only; Express's body hashes would clash with them
  app.set('query parser', 'simple');
  if (services.config.trustProxy) app.set('trust proxy', parseTrustProxy(services.config.trustProxy));

  app.use(pinoHttp({
    logger: services.logger,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      // Version 7 (time-ordered) ids: the audit table's request-id index then grows at its right edge instead of at
      // random pages, ~4 µs less database CPU per audit row (measured; docs/performance.md, "Audit").
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUIDv7();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // Paths only: query values can identify what a consumer looked up, and bodies hold directory data.
    serializers: {
      req: (req) => ({ id: req.id, method: req.method, path: String(req.url).split('?')[0] }),
      res: (res) => ({ statusCode: res.statusCode }),
    },
    // pino-http builds a child logger from these bindings even when the line is not written. No bindings until the
    // request has a tenant, and level 'silent' when the level is off, skip that work (~10 µs a request at LOG_LEVEL=warn).
    customProps: (_req, res) => {
      const tenant = (res as Response).locals?.tenant?.id as string | undefined;
      return tenant ? { tenant, ...auditLogFields(res as Response) } : (undefined as unknown as object); // falsy: no child logger
    },
    customLogLevel: (_req, res, err) => {
      const level = err || res.statusCode >= 500 ? 'error' : 'info';
      return services.logger.isLevelEnabled(level) ? level : 'silent';
    },
    quietReqLogger: true,
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
  }));

  // Everything after this runs inside the request's context (request id, tenant, identity, audit notes).
  // Audit: a row for every tenant request, refused ones included, so it is admitted here, before everything that can
  // refuse (in this layer rather than one of its own: it runs for every request).
  const audit = opts.audit?.enabled ? opts.audit : undefined;
  app.use((req: Request, res: Response, next: NextFunction) => {
    const rc: RequestContext = { requestId: String(req.id), identity: ANONYMOUS, audit: {} };
    if (audit) runWithContext(rc, audit.admit, rc, req, res, next);
    else runWithContext(rc, next as () => void);
  });

  app.use(requireHttps(services.config.production));
  app.use(securityHeaders(services.config.production));
  app.use(publicCors);

  if (opts.metrics) {
    app.use(opts.metrics.middleware());
    // "public" in the route table, but the handler admits only the METRICS_TOKEN bearer (or loopback without one)
    declareRoute({ method: 'GET', path: '/metrics', action: 'metrics', policy: 'public' });
    app.get('/metrics', opts.metrics.handler(services.config.metricsToken));
  }
  declareRoute({ method: 'GET', path: '/healthz', action: 'health', policy: 'public' });
  declareRoute({ method: 'GET', path: '/readyz', action: 'health', policy: 'public' });
  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', async (_req, res) => {
    try {
      await services.db.query('SELECT 1');
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'database unreachable' });
    }
  });

  app.use('/t/:tenant', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const tenant = await services.tenants.get(String(req.params.tenant));
      if (!tenant) return next(new FhirError('not-found', `Unknown tenant "${req.params.tenant}"`));
      res.locals.tenant = tenant;
      const ctx = currentContext();
      if (ctx) ctx.tenant = tenant.id;
      next();
    } catch (err) { next(err); }
  });
  app.use('/t/:tenant', authenticate({
    clients: services.auth.clients, keys: services.auth.keys, sessions: services.sessions,
    fhirBase: (req, tenant) => fhirBaseUrl(services, req, tenant),
  }));
  app.use(['/t/:tenant/auth/token', '/t/:tenant/auth/saml'], services.rateLimiters.auth);
  app.use('/t/:tenant', services.rateLimiters.api);
  app.use('/t/:tenant', smartRouter(services));
  app.use('/t/:tenant', samlRouter(services));
  app.use('/t/:tenant/console', consoleRouter(services), consoleErrors(services)); // staff console pages (HTML errors on its paths)
  app.use('/t/:tenant/admin', adminRouter(services));
  app.use('/t/:tenant/fhir/AuditEvent', auditEventRouter(services)); // not a Plan-Net type: ahead of the FHIR router
  app.use('/t/:tenant/fhir', adequacyRouter(services)); // $network-adequacy, -status, -file, -dataset
  app.use('/t/:tenant/fhir', bulkDataRouter(services)); // $export, $export-status, $export-file, $bulk-publish
  app.use('/t/:tenant/fhir', fhirRouter(services));

  app.use((req: Request, _res: Response, next: NextFunction) => next(new FhirError('not-found', `Nothing at ${req.path}; FHIR bases are at /t/{tenant}/fhir`)));
  app.use(errorHandler);
  return app;
}

function parseTrustProxy(v: string): boolean | number | string {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v; // 'loopback', 'uniquelocal', CIDR lists...
}
