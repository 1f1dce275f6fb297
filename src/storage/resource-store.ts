/**
 * Versioned resource storage for one tenant transaction: reads, vreads, history, and batched writes.
 *
 * Writes are batched (one statement per table per batch, using unnest) because the ingest path stores thousands of
 * resources per second; a single create or update is simply a batch of one, so there is one write path to trust.
 * The search indexer runs inside the same transaction, so a resource is never visible without its index rows.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import type { Db, TenantTx } from './db.ts';
import { FhirError, gone, notFound, preconditionFailed } from '../fhir/outcome/errors.ts';

export const FHIR_ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  deleted: boolean;
  /** The resource JSON exactly as served (null for a deletion). */
  json: string | null;
}

/** Keeps search indexes in step with writes; implemented by the search module. */
export interface Indexer {
  index(tx: TenantTx, items: { rid: number; resource: Resource }[]): Promise<void>;
  remove(tx: TenantTx, rids: number[]): Promise<void>;
}

export const NO_INDEXER: Indexer = { index: async () => {}, remove: async () => {} };

export type WriteOp =
  /** `id` is set by a transaction that pre-assigns ids so urn:uuid references can be rewritten. */
  | { kind: 'create'; resource: Resource; id?: string }
  | { kind: 'update'; resource: Resource; ifMatch?: number }
  | { kind: 'delete'; resourceType: string; id: string; ifMatch?: number };

export interface WriteResult {
  op: WriteOp;
  /** 'created' (new id or update-as-create), 'updated', 'deleted', 'noop' (delete of something absent). */
  outcome: 'created' | 'updated' | 'deleted' | 'noop';
  version: StoredVersion;
  resource?: Resource;
}

interface CurrentRow { rid: number | null; versionId: number; deleted: boolean }

const key = (type: string, id: string) => `${type}/${id}`;

/** Parses `W/"3"`, `"3"` or `3` into a version number; anything else is a 400. */
export function parseETagVersion(value: string): number {
  const m = /^(?:W\/)?"?(\d{1,9})"?$/.exec(value.trim());
  if (!m) throw new FhirError('bad-request', `If-Match must be a version ETag such as W/"1", got ${JSON.stringify(value)}`);
  return Number(m[1]);
}

export function versionETag(versionId: number): string { return `W/"${versionId}"`; }

/** Stamps server-controlled meta, putting resourceType, id and meta first as FHIR JSON conventionally does. */
function stamp(resource: Resource, id: string, versionId: number, lastUpdated: string): Resource {
  const { resourceType, id: _ignored, meta, ...rest } = resource as Resource & Record<string, unknown>;
  const { versionId: _v, lastUpdated: _l, ...keptMeta } = (meta ?? {}) as Record<string, unknown>;
  return { resourceType, id, meta: { ...keptMeta, versionId: String(versionId), lastUpdated }, ...rest } as Resource;
}

export async function readCurrent(tx: TenantTx, resourceType: string, id: string): Promise<StoredVersion> {
  const v = await findCurrent(tx, resourceType, id);
  if (!v) throw notFound(`${resourceType}/${id} is not known`);
  return assertLive(v);
}

export async function findCurrent(tx: TenantTx, resourceType: string, id: string): Promise<StoredVersion | null> {
  if (!FHIR_ID_PATTERN.test(id)) return null;
  const { rows } = await tx.query({
    name: 'resource-read',
    text: `SELECT version_id, last_updated, deleted, content FROM resources
            WHERE tenant_id = $1 AND resource_type = $2 AND id = $3`,
    values: [tx.tenant, resourceType, id],
  });
  return rows[0] ? toStoredVersion(resourceType, id, rows[0]) : null;
}

function toStoredVersion(resourceType: string, id: string, r: { version_id: number; last_updated: Date | string; deleted: boolean; content: string | null }): StoredVersion {
  return { resourceType, id, versionId: r.version_id, lastUpdated: new Date(r.last_updated).toISOString(), deleted: r.deleted, json: r.content };
}

function assertLive(v: StoredVersion): StoredVersion {
  if (v.deleted) throw new FhirError('gone', `${v.resourceType}/${v.id} was deleted`, { headers: { ETag: versionETag(v.versionId) } });
  return v;
}

/** readCurrent in one database round trip (see Db.readOneShot); the type must be one this server serves. */
export async function readCurrentOneShot(db: Db, tenant: string, resourceType: string, id: string): Promise<StoredVersion> {
  if (!FHIR_ID_PATTERN.test(id)) throw notFound(`${resourceType}/${id} is not known`);
  const { rows } = await db.readOneShot(tenant,
    `SELECT version_id, last_updated, deleted, content FROM resources
      WHERE tenant_id = ${pg.escapeLiteral(tenant)} AND resource_type = ${pg.escapeLiteral(resourceType)} AND id = ${pg.escapeLiteral(id)}`);
  if (!rows[0]) throw notFound(`${resourceType}/${id} is not known`);
  return assertLive(toStoredVersion(resourceType, id, rows[0]));
}

export async function readVersion(tx: TenantTx, resourceType: string, id: string, versionId: number): Promise<StoredVersion> {
  const { rows } = await tx.query(
    `SELECT version_id, last_updated, deleted, content FROM resource_history
      WHERE tenant_id = $1 AND resource_type = $2 AND id = $3 AND version_id = $4`,
    [tx.tenant, resourceType, id, versionId]);
  const r = rows[0];
  if (!r) throw notFound(`${resourceType}/${id} has no version ${versionId}`);
  if (r.deleted) throw gone(`${resourceType}/${id} version ${versionId} is a deletion`);
  return { resourceType, id, versionId: r.version_id, lastUpdated: new Date(r.last_updated).toISOString(), deleted: false, json: r.content };
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** Only versions after this instant (`_since`). */
  since?: string;
  /** Only versions at or before this instant (`_at`-style upper bound). */
  before?: string;
  count: number;
  /** Cursor: continue after this (lastUpdated, type, id, version) position, newest first. */
  after?: { lastUpdated: string; resourceType: string; id: string; versionId: number };
}

export interface HistoryEntry extends StoredVersion { method: string }

/** History newest first, keyset-paged (no OFFSET). Returns count+1 rows at most so the caller can tell if more exist. */
export async function history(tx: TenantTx, q: HistoryQuery): Promise<HistoryEntry[]> {
  const params: unknown[] = [tx.tenant];
  const where = ['tenant_id = $1'];
  const p = (v: unknown) => { params.push(v); return `$${params.length}`; };
  if (q.resourceType) where.push(`resource_type = ${p(q.resourceType)}`);
  if (q.id) where.push(`id = ${p(q.id)}`);
  if (q.since) where.push(`last_updated > ${p(q.since)}`);
  if (q.before) where.push(`last_updated <= ${p(q.before)}`);
  if (q.after) {
    where.push(`(last_updated, resource_type, id, version_id) < (${p(q.after.lastUpdated)}, ${p(q.after.resourceType)}, ${p(q.after.id)}, ${p(q.after.versionId)})`);
  }
  const { rows } = await tx.query(
    `SELECT resource_type, id, version_id, last_updated, deleted, method, content FROM resource_history
      WHERE ${where.join(' AND ')}
      ORDER BY last_updated DESC, resource_type DESC, id DESC, version_id DESC
      LIMIT ${p(q.count + 1)}`, params);
  return rows.map((r) => ({
    resourceType: r.resource_type, id: r.id, versionId: r.version_id, lastUpdated: new Date(r.last_updated).toISOString(),
    deleted: r.deleted, method: r.method, json: r.content,
  }));
}

/**
 * Applies write operations in order inside the caller's transaction. Throws (and so rolls the whole transaction back)
 * on a failed precondition; the caller decides whether that fails a transaction Bundle or one batch entry.
 */
export async function writeBatch(tx: TenantTx, ops: WriteOp[], indexer: Indexer = NO_INDEXER, now = new Date().toISOString()): Promise<WriteResult[]> {
  if (ops.length === 0) return [];
  // 1. Lock the current rows of everything updated or deleted by id.
  const lookups = new Map<string, { type: string; id: string }>();
  for (const op of ops) {
    if (op.kind === 'update') lookups.set(key(op.resource.resourceType, op.resource.id!), { type: op.resource.resourceType, id: op.resource.id! });
    else if (op.kind === 'delete') lookups.set(key(op.resourceType, op.id), { type: op.resourceType, id: op.id });
  }
  const current = new Map<string, CurrentRow>();
  if (lookups.size > 0) {
    const types: string[] = []; const ids: string[] = [];
    for (const l of lookups.values()) { types.push(l.type); ids.push(l.id); }
    const { rows } = await tx.query(
      `SELECT r.resource_type, r.id, r.rid, r.version_id, r.deleted FROM resources r
         JOIN unnest($2::text[], $3::text[]) AS k(resource_type, id) USING (resource_type, id)
        WHERE r.tenant_id = $1
        ORDER BY r.resource_type, r.id
        FOR UPDATE OF r`, [tx.tenant, types, ids]);
    for (const r of rows) current.set(key(r.resource_type, r.id), { rid: r.rid, versionId: r.version_id, deleted: r.deleted });
  }

  // 2. Decide every new version in order, so repeated writes to one resource within a batch chain correctly.
  const results: WriteResult[] = [];
  const finalState = new Map<string, { type: string; id: string; version: StoredVersion; resource?: Resource }>();
  const historyRows: StoredVersion[] = [];
  const historyMethods: string[] = [];
  for (const op of ops) {
    if (op.kind === 'create' || op.kind === 'update') {
      const type = op.resource.resourceType;
      // create always assigns a server id (FHIR ignores a client id on POST); update keeps the client's id
      const id = op.kind === 'create' ? (op.id ?? randomUUID()) : op.resource.id!;
      const k = key(type, id);
      const prev = finalState.get(k)?.version ?? (current.has(k) ? { versionId: current.get(k)!.versionId, deleted: current.get(k)!.deleted } : undefined);
      if (op.kind === 'update' && op.ifMatch !== undefined) {
        if (!prev || prev.deleted) throw preconditionFailed(`If-Match ${versionETag(op.ifMatch)} given but ${k} ${prev ? 'is deleted' : 'does not exist'}`);
        if (prev.versionId !== op.ifMatch) throw preconditionFailed(`If-Match ${versionETag(op.ifMatch)} does not match the current version ${versionETag(prev.versionId)} of ${k}`);
      }
      const versionId = (prev?.versionId ?? 0) + 1;
      const resource = stamp(op.resource, id, versionId, now);
      const version: StoredVersion = { resourceType: type, id, versionId, lastUpdated: now, deleted: false, json: JSON.stringify(resource) };
      finalState.set(k, { type, id, version, resource });
      historyRows.push(version); historyMethods.push(prev ? 'PUT' : 'POST');
      results.push({ op, outcome: prev && !prev.deleted ? 'updated' : 'created', version, resource });
    } else {
      const k = key(op.resourceType, op.id);
      const prev = finalState.get(k)?.version ?? (current.has(k) ? { versionId: current.get(k)!.versionId, deleted: current.get(k)!.deleted } : undefined);
      if (op.ifMatch !== undefined && (!prev || prev.deleted || prev.versionId !== op.ifMatch)) {
        throw preconditionFailed(`If-Match ${versionETag(op.ifMatch)} does not match the current version of ${k}`);
      }
      if (!prev || prev.deleted) {
        results.push({ op, outcome: 'noop', version: { resourceType: op.resourceType, id: op.id, versionId: prev?.versionId ?? 0, lastUpdated: now, deleted: true, json: null } });
        continue;
      }
      const version: StoredVersion = { resourceType: op.resourceType, id: op.id, versionId: prev.versionId + 1, lastUpdated: now, deleted: true, json: null };
      finalState.set(k, { type: op.resourceType, id: op.id, version });
      historyRows.push(version); historyMethods.push('DELETE');
      results.push({ op, outcome: 'deleted', version });
    }
  }
  if (finalState.size === 0) return results;

  // 3. Upsert the final state of each resource and append it to history in one statement, so each resource's JSON
  //    crosses the wire once (history copies it inside the database). Versions superseded within this same batch,
  //    which are rare, are appended separately.
  const finals = [...finalState.values()];
  const finalMethod = new Map<string, string>();
  historyRows.forEach((h, i) => finalMethod.set(key(h.resourceType, h.id), historyMethods[i]));
  const { rows: ridRows } = await tx.query(
    `WITH up AS (
       INSERT INTO resources (tenant_id, resource_type, id, version_id, last_updated, deleted, content)
       SELECT $1, t, i, v, $5::timestamptz, d, NULLIF(c, '') FROM unnest($2::text[], $3::text[], $4::int[], $6::bool[], string_to_array($7::text, E'\n')) AS x(t, i, v, d, c)
       ON CONFLICT (tenant_id, resource_type, id) DO UPDATE
         SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted, content = EXCLUDED.content
       RETURNING resource_type, id, rid, version_id, deleted, content
     ), hist AS (
       INSERT INTO resource_history (tenant_id, resource_type, id, version_id, last_updated, deleted, method, content)
       SELECT $1, up.resource_type, up.id, up.version_id, $5::timestamptz, up.deleted, m.method, up.content
         FROM up JOIN unnest($2::text[], $3::text[], $8::text[]) AS m(t, i, method) ON m.t = up.resource_type AND m.i = up.id
     )
     SELECT resource_type, id, rid FROM up`,
    [tx.tenant, finals.map((f) => f.type), finals.map((f) => f.id), finals.map((f) => f.version.versionId), now,
      finals.map((f) => f.version.deleted), joinJsonLines(finals.map((f) => f.version.json)), finals.map((f) => finalMethod.get(key(f.type, f.id))!)]);
  const superseded = historyRows.map((h, i) => ({ h, method: historyMethods[i] }))
    .filter(({ h }) => finalState.get(key(h.resourceType, h.id))!.version !== h);
  if (superseded.length > 0) {
    await tx.query(
      `INSERT INTO resource_history (tenant_id, resource_type, id, version_id, last_updated, deleted, method, content)
       SELECT $1, t, i, v, $5::timestamptz, d, m, c FROM unnest($2::text[], $3::text[], $4::int[], $6::bool[], $7::text[], $8::text[]) AS x(t, i, v, d, c, m)`,
      [tx.tenant, superseded.map(({ h }) => h.resourceType), superseded.map(({ h }) => h.id), superseded.map(({ h }) => h.versionId), now,
        superseded.map(({ h }) => h.deleted), superseded.map(({ h }) => h.json), superseded.map(({ method }) => method)]);
  }

  // 4. Re-index: drop old index rows of everything touched, add rows for live resources.
  const ridByKey = new Map<string, number>(ridRows.map((r) => [key(r.resource_type, r.id), r.rid as number]));
  const touchedExisting = finals.map((f) => current.get(key(f.type, f.id))?.rid).filter((r): r is number => typeof r === 'number');
  if (touchedExisting.length > 0) await indexer.remove(tx, touchedExisting);
  const live = finals.filter((f) => !f.version.deleted).map((f) => ({ rid: ridByKey.get(key(f.type, f.id))!, resource: f.resource! }));
  if (live.length > 0) await indexer.index(tx, live);
  return results;
}

/**
 * Sends many JSON documents as one newline-joined text parameter (split with string_to_array in SQL): serialized
 * JSON never contains a raw newline, and a single string skips the per-element escaping a text[] parameter costs,
 * which dominated the client side of bulk writes. A deletion (null) travels as an empty line (a lone deletion is the
 * empty string, which string_to_array turns into an empty array; unnest pads it with NULL, as wanted).
 */
export function joinJsonLines(docs: (string | null)[]): string {
  return docs.map((d) => d ?? '').join('\n');
}

/** Maps database errors raised during a write to FHIR errors (e.g. a concurrent create of the same id). */
export function mapWriteError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === '23505' || code === '40001' || code === '40P01') {
    return new FhirError('conflict', 'A concurrent write touched the same resource; retry the request.');
  }
  return err;
}
