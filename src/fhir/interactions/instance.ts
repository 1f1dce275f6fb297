/**
 * Instance and type interactions: read, vread, create (incl. conditional), update (incl. update-as-create), delete,
 * and $validate. Each runs in one tenant transaction; If-Match is checked under the row lock, inside that transaction,
 * so of two concurrent updates with the same If-Match exactly one wins.
 */
import { createHash } from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../outcome/errors.ts';
import type { FhirContext, FhirResponse } from '../services.ts';
import {
  readCurrent, readCurrentOneShot, readVersion, writeBatch, mapWriteError, versionETag, type StoredVersion, type WriteResult,
} from '../../storage/resource-store.ts';
import { asResource, assertSupportedType, assertValidId, validateOrThrow } from './resource-checks.ts';
import type { TenantTx } from '../../storage/db.ts';

export function resourceHeaders(ctx: FhirContext, v: StoredVersion, withLocation = false): Record<string, string> {
  const h: Record<string, string> = { ETag: versionETag(v.versionId), 'Last-Modified': new Date(v.lastUpdated).toUTCString() };
  if (withLocation) h.Location = `${ctx.baseUrl}/${v.resourceType}/${v.id}/_history/${v.versionId}`;
  return h;
}

export async function read(ctx: FhirContext, type: string, id: string): Promise<FhirResponse> {
  assertSupportedType(type);
  assertValidId(id);
  const v = await readCurrentOneShot(ctx.services.db, ctx.tenant.id, type, id);
  return { status: 200, headers: resourceHeaders(ctx, v), json: v.json! };
}

export async function vread(ctx: FhirContext, type: string, id: string, vid: string): Promise<FhirResponse> {
  assertSupportedType(type);
  assertValidId(id);
  if (!/^\d{1,9}$/.test(vid)) throw new FhirError('not-found', `Version "${vid}" is not a version of ${type}/${id}`);
  const v = await ctx.services.db.withTenant(ctx.tenant.id, (tx) => readVersion(tx, type, id, Number(vid)), { readOnly: true });
  return { status: 200, headers: resourceHeaders(ctx, v), json: v.json! };
}

/** Builds the response for a successful write, honouring Prefer: return. */
export function writeResponse(ctx: FhirContext, r: WriteResult, warnings: OperationOutcomeIssue[]): FhirResponse {
  const status = r.outcome === 'created' ? 201 : 200;
  const headers = resourceHeaders(ctx, r.version, true);
  if (ctx.preferReturn === 'minimal') return { status, headers };
  if (ctx.preferReturn === 'OperationOutcome') {
    const issue: OperationOutcomeIssue[] = warnings.length ? warnings : [{ severity: 'information', code: 'informational', diagnostics: `${r.outcome} ${r.version.resourceType}/${r.version.id} version ${r.version.versionId}` }];
    return { status, headers, json: JSON.stringify({ resourceType: 'OperationOutcome', issue }) };
  }
  return { status, headers, json: r.version.json! };
}

async function write<T>(ctx: FhirContext, fn: (tx: TenantTx) => Promise<T>): Promise<T> {
  try {
    return await ctx.services.db.withTenant(ctx.tenant.id, fn);
  } catch (err) {
    throw mapWriteError(err);
  }
}

/** Serializes conditional operations on the same criteria so two concurrent If-None-Exist creates make one resource. */
async function lockCriteria(tx: TenantTx, type: string, criteria: string): Promise<void> {
  const h = createHash('sha256').update(`${tx.tenant}\0${type}\0${criteria}`).digest();
  await tx.query('SELECT pg_advisory_xact_lock($1)', [h.readBigInt64BE(0).toString()]);
}

export function parseCriteria(criteria: string): [string, string][] {
  const q = criteria.includes('?') ? criteria.slice(criteria.indexOf('?') + 1) : criteria;
  const pairs = [...new URLSearchParams(q)] as [string, string][];
  if (pairs.length === 0) throw new FhirError('bad-request', 'If-None-Exist needs search criteria, e.g. identifier=http://hl7.org/fhir/sid/us-npi|1234567893');
  return pairs;
}

export async function create(ctx: FhirContext, type: string, body: unknown, ifNoneExist?: string): Promise<FhirResponse> {
  const resource = asResource(body, type);
  const warnings = validateOrThrow(ctx, resource);
  return await write(ctx, async (tx) => {
    if (ifNoneExist) {
      const criteria = parseCriteria(ifNoneExist);
      await lockCriteria(tx, type, ifNoneExist);
      const ids = await ctx.services.search.findIds(tx, type, criteria, 2);
      if (ids.length > 1) throw new FhirError('precondition-failed', `If-None-Exist matched more than one ${type}`);
      if (ids.length === 1) {
        const existing = await readCurrent(tx, type, ids[0]);
        return { status: 200, headers: resourceHeaders(ctx, existing, true), json: ctx.preferReturn === 'minimal' ? undefined : existing.json! };
      }
    }
    const [r] = await writeBatch(tx, [{ kind: 'create', resource }], ctx.services.search.indexer);
    return writeResponse(ctx, r, warnings);
  });
}

export async function update(ctx: FhirContext, type: string, id: string, body: unknown, ifMatch?: number): Promise<FhirResponse> {
  assertSupportedType(type);
  assertValidId(id);
  const resource = asResource(body, type);
  if (resource.id === undefined) throw new FhirError('bad-request', 'An update must carry the resource id in the body', { expression: `${type}.id` });
  if (resource.id !== id) throw new FhirError('bad-request', `The body's id "${resource.id}" does not match the URL's id "${id}"`, { expression: `${type}.id` });
  const warnings = validateOrThrow(ctx, resource);
  return await write(ctx, async (tx) => {
    const [r] = await writeBatch(tx, [{ kind: 'update', resource, ifMatch }], ctx.services.search.indexer);
    return writeResponse(ctx, r, warnings);
  });
}

export async function remove(ctx: FhirContext, type: string, id: string, ifMatch?: number): Promise<FhirResponse> {
  assertSupportedType(type);
  assertValidId(id);
  return await write(ctx, async (tx) => {
    const [r] = await writeBatch(tx, [{ kind: 'delete', resourceType: type, id, ifMatch }], ctx.services.search.indexer);
    const headers: Record<string, string> = r.outcome === 'deleted' ? { ETag: versionETag(r.version.versionId) } : {};
    return { status: 204, headers };
  });
}

/** `POST [type]/$validate`: the same outcome a create would give, nothing stored. */
export function validateOperation(ctx: FhirContext, type: string, body: unknown): FhirResponse {
  assertSupportedType(type);
  // $validate accepts the resource itself or a Parameters resource with a `resource` parameter
  let candidate = body as Resource & { parameter?: { name: string; resource?: Resource }[] };
  if (candidate && typeof candidate === 'object' && candidate.resourceType === 'Parameters') {
    const p = candidate.parameter?.find((x) => x.name === 'resource');
    if (!p?.resource) throw new FhirError('bad-request', 'Parameters must contain a "resource" parameter');
    candidate = p.resource as typeof candidate;
  }
  const resource = asResource(candidate, type);
  const issues = ctx.services.validator.validate(resource, { warningsAsErrors: ctx.tenant.settings.strictValidation === true });
  const issue: OperationOutcomeIssue[] = issues.length
    ? issues.map((i) => ({ severity: i.severity, code: i.code as OperationOutcomeIssue['code'], diagnostics: i.diagnostics, expression: [i.expression] }))
    : [{ severity: 'information', code: 'informational', diagnostics: `The ${type} conforms to ${ctx.services.validator.profileFor(resource)}` }];
  // FHIR: 200 whenever validation ran; the issues say whether the resource is valid.
  return { status: 200, headers: {}, json: JSON.stringify({ resourceType: 'OperationOutcome', issue }) };
}
