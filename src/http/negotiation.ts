/**
 * Content negotiation for the FHIR API: JSON only (`application/fhir+json`, `application/json`, `_format=json`).
 * A request that accepts nothing we can produce gets 406; a body in another media type gets 415.
 */
import type { NextFunction, Request, Response } from 'express';
import { FhirError } from '../fhir/outcome/errors.ts';

export const FHIR_JSON = 'application/fhir+json';
const FORMAT_ALIASES = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);

function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';').map((s) => s.trim());
    const q = params.find((p) => p.startsWith('q='));
    if (q && Number(q.slice(2)) === 0) return false;
    return ['*/*', 'application/*', 'application/json', 'application/fhir+json', 'application/json+fhir'].includes(type);
  });
}

export function negotiate(req: Request, _res: Response, next: NextFunction): void {
  const format = typeof req.query._format === 'string' ? req.query._format : undefined;
  if (format !== undefined) {
    if (!FORMAT_ALIASES.has(format.toLowerCase())) return next(new FhirError('not-acceptable', `_format=${format} is not supported; this server speaks JSON (application/fhir+json)`));
  } else if (!acceptsJson(req.headers.accept)) {
    return next(new FhirError('not-acceptable', `Cannot produce any of "${req.headers.accept}"; this server speaks application/fhir+json`));
  }
  next();
}

/** For requests with a body: only FHIR JSON (and form encoding where a route allows it). */
export function requireJsonBody(allowForm = false) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    if (!hasBody) return next();
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type === 'application/fhir+json' || type === 'application/json' || type === 'application/json+fhir') return next();
    if (allowForm && type === 'application/x-www-form-urlencoded') return next();
    next(new FhirError('unsupported-media-type', `Content-Type "${type || '(none)'}" is not supported; send application/fhir+json`));
  };
}
