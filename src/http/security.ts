/**
 * HTTP hardening: security headers (helmet), CORS open for the public directory API and closed for staff
 * endpoints, and HTTPS enforcement in production (behind a proxy via X-Forwarded-Proto, honoured only with an
 * explicit TRUST_PROXY setting).
 */
import type { NextFunction, Request, Response, RequestHandler } from 'express';
import helmet from 'helmet';
import { FhirError } from '../fhir/outcome/errors.ts';

export function securityHeaders(production: boolean): RequestHandler {
  return helmet({
    // The API serves JSON only; the staff console sets its own, looser policy for its pages.
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] } },
    strictTransportSecurity: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    noSniff: true,
    crossOriginResourcePolicy: { policy: 'cross-origin' }, // public directory data may be read by other origins
    crossOriginOpenerPolicy: { policy: 'same-origin' },
  });
}

const PUBLIC_CORS = /^\/t\/[a-z0-9-]+\/fhir(\/|$)/;

/** CORS for browser apps reading the public directory (no credentials); nothing for staff/admin endpoints. */
export function publicCors(req: Request, res: Response, next: NextFunction): void {
  if (!PUBLIC_CORS.test(req.path) || req.headers.origin === undefined) return next();
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'ETag, Location, Last-Modified, Content-Location, X-Request-Id, X-Progress, Retry-After');
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Accept, Content-Type, Prefer, Authorization, X-Request-Id, If-None-Match');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
    return;
  }
  next();
}

/** In production every request except health probes must arrive over HTTPS. */
export function requireHttps(production: boolean): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!production || req.secure || req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics') return next();
    next(new FhirError('forbidden', 'HTTPS is required'));
  };
}
