/**
 * One audit row: its fields, its canonical content hash, and the chain hash that links it to the previous row.
 *
 *   content_hash = SHA-256 of the canonical JSON array of every field below, in this order (CONTENT_VERSION first)
 *   hash         = SHA-256(prev_hash || seq as 8 bytes big-endian || content_hash)   -- computed in SQL by audit_append
 *
 * The writer (service.ts) and the verifier (verify.ts) both go through `contentHash`, so the two can never disagree
 * about what a row's content is. Nothing here ever holds a request or response body.
 */
import { createHash, hash } from 'node:crypto';
import type { Identity } from '../auth/identity.ts';

export const CONTENT_VERSION = 'plannet-audit-v1';

export type ActorKind = Identity['kind'];

export interface AuditRecord {
  tenant: string;
  /** ISO instant (millisecond precision) the request arrived. */
  recordedAt: string;
  requestId: string;
  actorKind: ActorKind;
  actorId: string | null;
  /** Staff roles or client scopes. */
  actorRoles: string[] | null;
  action: string;
  method: string | null;
  resourceType: string | null;
  resourceIds: string[] | null;
  /** Search parameter names (never values). */
  searchParams: string[] | null;
  /** Query string with values: authenticated callers only. */
  query: string | null;
  status: number;
  /** FHIR AuditEvent.outcome: 0 success, 4 minor failure, 8 serious failure. */
  outcome: number;
  durationMs: number;
  resultCount: number | null;
  sourceIp: string | null;
  userAgent: string | null;
  /** Anonymous callers: keyed hash of the network prefix (key rotates daily). */
  networkHash: string | null;
  /** Written in the database transaction of the change it records. */
  inTransaction: boolean;
}

export function outcomeOf(status: number): number {
  if (status >= 500) return 8;
  if (status >= 400) return 4;
  return 0;
}

const emptyToNull = (a: string[] | null | undefined): string[] | null => (a && a.length > 0 ? a : null);

/** Normalizes a record to the exact values the database will hand back (so hashing before and after agree). */
export function normalize(r: AuditRecord): AuditRecord {
  return {
    ...r,
    recordedAt: new Date(r.recordedAt).toISOString(),
    actorRoles: emptyToNull(r.actorRoles),
    resourceIds: emptyToNull(r.resourceIds),
    searchParams: emptyToNull(r.searchParams),
    durationMs: Math.round(r.durationMs * 1000) / 1000,
  };
}

export function canonicalContent(r: AuditRecord): string {
  return JSON.stringify([
    CONTENT_VERSION, r.tenant, r.recordedAt, r.requestId, r.actorKind, r.actorId, r.actorRoles, r.action, r.method,
    r.resourceType, r.resourceIds, r.searchParams, r.query, r.status, r.outcome, r.durationMs, r.resultCount,
    r.sourceIp, r.userAgent, r.networkHash, r.inTransaction,
  ]);
}

export function contentHash(r: AuditRecord): Buffer {
  return hash('sha256', canonicalContent(r), 'buffer'); // one-shot: no Hash object per row
}

export function genesisHash(tenant: string): Buffer {
  return createHash('sha256').update(`plannet-audit-genesis:${tenant}`).digest();
}

export function chainHash(prev: Buffer, seq: number, content: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(prev.length + 8 + content.length);
  prev.copy(buf, 0);
  buf.writeBigInt64BE(BigInt(seq), prev.length);
  content.copy(buf, prev.length + 8);
  return hash('sha256', buf, 'buffer');
}

/**
 * The same chain as `chainHash(prev, seq, contentHash(r))`, for appending many rows: hex digests and one reused
 * 72-byte input, so a batch allocates no Buffer (no ArrayBuffer for the garbage collector to track) per row.
 */
export class ChainCursor {
  readonly #input = Buffer.alloc(72); // prev hash (32) ‖ seq as 8 bytes big-endian ‖ content hash (32)
  /** Hex of the last hash. */
  hash: string;
  constructor(prevHash: Buffer) {
    if (prevHash.length !== 32) throw new Error('a chain hash is 32 bytes');
    prevHash.copy(this.#input, 0);
    this.hash = prevHash.toString('hex');
  }
  /** Chains the next row (already normalized) at `seq`; returns its hash in hex. */
  next(seq: number, r: AuditRecord): string {
    this.#input.write(hash('sha256', canonicalContent(r), 'hex'), 40, 'hex');
    this.#input.writeBigInt64BE(BigInt(seq), 32);
    this.hash = hash('sha256', this.#input, 'hex');
    this.#input.write(this.hash, 0, 'hex');
    return this.hash;
  }
}

/** The JSON object audit_append() takes for one row (audit_events column names + content_hash). */
export function toAppendRow(record: AuditRecord, alreadyNormalized = false): Record<string, unknown> {
  const r = alreadyNormalized ? record : normalize(record);
  return {
    recorded_at: r.recordedAt, request_id: r.requestId, actor_kind: r.actorKind, actor_id: r.actorId, actor_roles: r.actorRoles,
    action: r.action, method: r.method, resource_type: r.resourceType, resource_ids: r.resourceIds, search_params: r.searchParams,
    query: r.query, status: r.status, outcome: r.outcome, duration_ms: r.durationMs, result_count: r.resultCount,
    source_ip: r.sourceIp, user_agent: r.userAgent, network_hash: r.networkHash, in_transaction: r.inTransaction,
    content_hash: contentHash(r).toString('hex'),
  };
}

/** Columns selected wherever rows are read back. */
export const ROW_COLUMNS = `tenant_id, seq, recorded_at, request_id, actor_kind, actor_id, actor_roles, action, method, resource_type,
  resource_ids, search_params, query, status, outcome, duration_ms, result_count, source_ip, user_agent, network_hash,
  in_transaction, prev_hash, hash`;

export interface StoredRow { seq: number; prevHash: Buffer; hash: Buffer; record: AuditRecord }

export function fromDbRow(row: Record<string, any>): StoredRow {
  return {
    seq: Number(row.seq),
    prevHash: row.prev_hash,
    hash: row.hash,
    record: {
      tenant: row.tenant_id,
      recordedAt: new Date(row.recorded_at).toISOString(),
      requestId: row.request_id,
      actorKind: row.actor_kind,
      actorId: row.actor_id,
      actorRoles: row.actor_roles,
      action: row.action,
      method: row.method,
      resourceType: row.resource_type,
      resourceIds: row.resource_ids,
      searchParams: row.search_params,
      query: row.query,
      status: row.status,
      outcome: row.outcome,
      durationMs: Number(row.duration_ms),
      resultCount: row.result_count,
      sourceIp: row.source_ip,
      userAgent: row.user_agent,
      networkHash: row.network_hash,
      inTransaction: row.in_transaction,
    },
  };
}

/** Text safe to store: no control characters (PostgreSQL rejects NUL), no lone surrogates (jsonb rejects them), bounded. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function clean(value: string | undefined | null, max = 512): string | null {
  if (value === undefined || value === null) return null;
  let s = String(value);
  // eslint-disable-next-line no-control-regex
  if (!PRINTABLE_ASCII.test(s)) s = s.toWellFormed().replace(/[\u0000-\u001f\u007f]/g, '');
  return s.length > max ? s.slice(0, max) : s;
}

export function cleanList(values: readonly unknown[] | undefined | null, maxItems = 10_000, maxLen = 256): string[] | null {
  if (!values || values.length === 0) return null;
  const out: string[] = [];
  for (const v of values) {
    if (out.length >= maxItems) break;
    const c = clean(String(v), maxLen);
    if (c) out.push(c);
  }
  return out.length ? out : null;
}
