/**
 * Appending buffered rows to a tenant's chain, outside any request's transaction. The same chain rule as the SQL
 * function audit_append (migration 003) that write transactions call — hash = sha256(prev ‖ seq ‖ content_hash) —
 * computed here, so the database does a plain multi-row insert (about a third less database CPU per row than
 * parsing JSON in PL/pgSQL, measured):
 *   1. BEGIN, scope to the tenant, create the chain head if new, lock it FOR UPDATE and read (seq, hash);
 *   2. hash, number and chain the rows (hashing here, not when the request finished: the request path stays short);
 *      one INSERT … SELECT FROM unnest(…) that also moves the head;
 *   3. COMMIT.
 * Writers of the same tenant (in-transaction rows, other instances' flushes) wait on the head lock meanwhile.
 */
import type pg from 'pg';
import { TENANT_ID_PATTERN } from '../storage/db.ts';
import { ChainCursor, type AuditRecord } from './record.ts';

/** A PostgreSQL array literal of text (each element quoted), or null. */
function textArray(a: unknown): string | null {
  if (!Array.isArray(a) || a.length === 0) return null;
  return `{${a.map(quoted).join(',')}}`;
}

const NEEDS_ESCAPE = /["\\]/;
/** One array element, double-quoted (backslash and quote escaped), as PostgreSQL's array input reads it. */
function quoted(v: unknown): string {
  const s = String(v);
  return NEEDS_ESCAPE.test(s) ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${s}"`;
}

const textElement = (v: string | null) => (v === null ? 'NULL' : quoted(v));
const numElement = (v: number | null) => (v === null ? 'NULL' : String(v));

/**
 * The batch as PostgreSQL array literals, one per column, built in one pass over the rows. Hand-written instead of
 * handing pg 22 arrays of values: pg's array encoding runs two regular-expression replaces on every element and wants
 * the arrays built first (about 3 µs a row, measured; this is about a third of that), and the hashes go in as hex,
 * never as a Buffer per row.
 */
class Columns {
  seq = ''; prev = ''; hash = ''; recordedAt = ''; requestId = ''; actorKind = ''; actorId = ''; actorRoles = ''; action = '';
  method = ''; resourceType = ''; resourceIds = ''; searchParams = ''; query = ''; status = ''; outcome = ''; durationMs = '';
  resultCount = ''; sourceIp = ''; userAgent = ''; networkHash = ''; inTransaction = '';
  add(seq: number, prevHex: string, hashHex: string, r: AuditRecord): void {
    const sep = this.seq === '' ? '' : ',';
    this.seq += sep + String(seq);
    this.prev += `${sep}"\\\\x${prevHex}"`;
    this.hash += `${sep}"\\\\x${hashHex}"`;
    this.recordedAt += sep + textElement(r.recordedAt);
    this.requestId += sep + textElement(r.requestId);
    this.actorKind += sep + textElement(r.actorKind);
    this.actorId += sep + textElement(r.actorId);
    this.actorRoles += sep + textElement(textArray(r.actorRoles));
    this.action += sep + textElement(r.action);
    this.method += sep + textElement(r.method);
    this.resourceType += sep + textElement(r.resourceType);
    this.resourceIds += sep + textElement(textArray(r.resourceIds));
    this.searchParams += sep + textElement(textArray(r.searchParams));
    this.query += sep + textElement(r.query);
    this.status += sep + numElement(r.status);
    this.outcome += sep + numElement(r.outcome);
    this.durationMs += sep + numElement(r.durationMs);
    this.resultCount += sep + numElement(r.resultCount);
    this.sourceIp += sep + textElement(r.sourceIp);
    this.userAgent += sep + textElement(r.userAgent);
    this.networkHash += sep + textElement(r.networkHash);
    this.inTransaction += sep + (r.inTransaction ? 't' : 'f');
  }
  values(): string[] {
    const c = (s: string) => `{${s}}`;
    return [this.seq, this.prev, this.hash, this.recordedAt, this.requestId, this.actorKind, this.actorId, this.actorRoles, this.action, this.method,
      this.resourceType, this.resourceIds, this.searchParams, this.query, this.status, this.outcome, this.durationMs, this.resultCount,
      this.sourceIp, this.userAgent, this.networkHash, this.inTransaction].map(c);
  }
}

const INSERT = `WITH ins AS (
    INSERT INTO audit_events (tenant_id, seq, prev_hash, hash, recorded_at, request_id, actor_kind, actor_id, actor_roles, action, method,
                              resource_type, resource_ids, search_params, query, status, outcome, duration_ms, result_count,
                              source_ip, user_agent, network_hash, in_transaction)
    SELECT $1, s, p, h, ra, rq, ak, ai, ar::text[], ac, me, rt, ri::text[], sp::text[], q, st, oc, du, rc, ip, ua, nh, it
      FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                  $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::int[], $17::smallint[], $18::float8[], $19::int[],
                  $20::text[], $21::text[], $22::text[], $23::bool[])
        AS x(s, p, h, ra, rq, ak, ai, ar, ac, me, rt, ri, sp, q, st, oc, du, rc, ip, ua, nh, it))
  UPDATE audit_chain_head SET seq = $24, hash = $25 WHERE tenant_id = $1`;

/**
 * Rows per INSERT of a flush. bench:audit read-by-id cost, same code otherwise: 100 → 11.3 %, 150 → 13.3 %, 200 →
 * 9.6–10.7 % (three runs), 400 → 13.6–15.3 %, one statement per flush 11.2–13.9 % (docs/performance.md, Audit).
 */
const SLICE_ROWS = 200;

/** Appends normalized records (see record.ts `normalize`) to the tenant's chain, in order, in one transaction. */
export async function appendBuffered(pool: pg.Pool, tenant: string, rows: AuditRecord[]): Promise<void> {
  if (!TENANT_ID_PATTERN.test(tenant)) throw new Error(`invalid tenant id ${JSON.stringify(tenant)}`);
  if (rows.length === 0) return;
  const client = await pool.connect();
  let broken = false;
  try {
    // the tenant id matched TENANT_ID_PATTERN, so it is safe as a literal: one round trip
    const results = await client.query(`BEGIN; SELECT set_config('app.tenant_id', '${tenant}', true);
      INSERT INTO audit_chain_head (tenant_id, seq, hash) VALUES ('${tenant}', 0, audit_genesis('${tenant}')) ON CONFLICT (tenant_id) DO NOTHING;
      SELECT seq, hash FROM audit_chain_head WHERE tenant_id = '${tenant}' FOR UPDATE`) as unknown as pg.QueryResult[];
    try {
      const head = results[results.length - 1].rows[0] as { seq: number; hash: Buffer };
      let seq = Number(head.seq);
      const chain = new ChainCursor(head.hash);
      // In slices, one statement each: building and sending a slice holds the event loop (~1 ms for 200 rows), and
      // requests run while the database inserts it; one statement for a whole flush held it for several ms, during
      // which every request waited and the database idled.
      for (let start = 0; start < rows.length; start += SLICE_ROWS) {
        const columns = new Columns();
        for (let i = start; i < Math.min(start + SLICE_ROWS, rows.length); i++) {
          seq++;
          const prev = chain.hash;
          columns.add(seq, prev, chain.next(seq, rows[i]), rows[i]);
        }
        await client.query({ name: 'audit-append-buffered', text: INSERT, values: [tenant, ...columns.values(), seq, `\\x${chain.hash}`] });
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => { broken = true; });
      throw err;
    }
  } catch (err) {
    if ((err as { code?: string }).code === undefined) broken = true;
    throw err;
  } finally {
    client.release(broken);
  }
}
