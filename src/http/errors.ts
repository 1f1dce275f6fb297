/**
 * The one place errors become HTTP responses: a FhirError maps to its status and OperationOutcome; body-parser
 * failures map to 400/413/415; anything else is logged and answered with an opaque 500 (no message, no stack).
 */
import type { NextFunction, Request, Response } from 'express';
import { FhirError, toFhirError } from '../fhir/outcome/errors.ts';
import { FHIR_JSON } from './negotiation.ts';

export function fromBodyParserError(err: unknown): FhirError | undefined {
  const e = err as { type?: string; status?: number };
  switch (e?.type) {
    case 'entity.parse.failed': return new FhirError('bad-request', 'The request body is not valid JSON');
    case 'entity.too.large': return new FhirError('too-large', 'The request body is larger than this server accepts');
    case 'encoding.unsupported': case 'charset.unsupported': return new FhirError('unsupported-media-type', 'Unsupported body encoding or charset');
    case 'request.aborted': return new FhirError('bad-request', 'The request was aborted');
    default: return undefined;
  }
}

export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  const fhirErr = fromBodyParserError(err) ?? toFhirError(err);
  if (fhirErr.kind === 'internal') {
    (req as Request & { log?: { error: (o: object, m: string) => void } }).log?.error({ err }, 'unhandled error');
  }
  res.locals.outcome = fhirErr.kind;
  if (res.headersSent) { res.end(); return; }
  for (const [k, v] of Object.entries(fhirErr.headers)) res.setHeader(k, v);
  res.status(fhirErr.status).type(FHIR_JSON).send(JSON.stringify(fhirErr.toOutcome()));
}
