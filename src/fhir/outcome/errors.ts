/**
 * The one FhirError family, and the one table that maps an error kind to its HTTP status.
 * Anything thrown that is not a FhirError is an internal error: logged, answered with a bare 500 OperationOutcome,
 * never with its message or stack.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type FhirErrorKind =
  | 'bad-request' | 'unprocessable' | 'unauthorized' | 'forbidden' | 'not-found' | 'gone' | 'method-not-allowed'
  | 'not-acceptable' | 'conflict' | 'precondition-failed' | 'too-large' | 'unsupported-media-type'
  | 'too-many-requests' | 'unavailable' | 'internal';

/** The single status-code table. */
export const STATUS_BY_KIND: Record<FhirErrorKind, number> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  'not-acceptable': 406,
  conflict: 409,
  gone: 410,
  'precondition-failed': 412,
  'too-large': 413,
  'unsupported-media-type': 415,
  unprocessable: 422,
  'too-many-requests': 429,
  internal: 500,
  unavailable: 503,
};

/** FHIR issue-type code used when an error carries no issues of its own. */
const ISSUE_CODE_BY_KIND: Record<FhirErrorKind, OperationOutcomeIssue['code']> = {
  'bad-request': 'invalid', unprocessable: 'processing', unauthorized: 'login', forbidden: 'forbidden',
  'not-found': 'not-found', gone: 'deleted', 'method-not-allowed': 'not-supported', 'not-acceptable': 'not-supported',
  conflict: 'conflict', 'precondition-failed': 'conflict', 'too-large': 'too-costly',
  'unsupported-media-type': 'not-supported', 'too-many-requests': 'throttled', unavailable: 'transient', internal: 'exception',
};

export class FhirError extends Error {
  readonly kind: FhirErrorKind;
  readonly issues: OperationOutcomeIssue[];
  readonly headers: Record<string, string>;
  constructor(kind: FhirErrorKind, message: string, opts: { issues?: OperationOutcomeIssue[]; expression?: string; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'FhirError';
    this.kind = kind;
    this.headers = opts.headers ?? {};
    this.issues = opts.issues && opts.issues.length > 0
      ? opts.issues
      : [{ severity: 'error', code: ISSUE_CODE_BY_KIND[kind], diagnostics: message, ...(opts.expression ? { expression: [opts.expression] } : {}) }];
  }
  get status(): number { return STATUS_BY_KIND[this.kind]; }
  toOutcome(): OperationOutcome { return { resourceType: 'OperationOutcome', issue: this.issues }; }
}

export const badRequest = (msg: string, expression?: string) => new FhirError('bad-request', msg, { expression });
export const notFound = (msg: string) => new FhirError('not-found', msg);
export const gone = (msg: string) => new FhirError('gone', msg);
export const conflict = (msg: string) => new FhirError('conflict', msg);
export const preconditionFailed = (msg: string) => new FhirError('precondition-failed', msg);

export function outcome(severity: OperationOutcomeIssue['severity'], code: OperationOutcomeIssue['code'], diagnostics: string, expression?: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics, ...(expression ? { expression: [expression] } : {}) }] };
}

/** Normalize anything thrown into a FhirError; unknown errors become an opaque internal error. */
export function toFhirError(err: unknown): FhirError {
  if (err instanceof FhirError) return err;
  return new FhirError('internal', 'An internal error occurred; it has been logged with the request id.');
}
