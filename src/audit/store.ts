/**
 * Appending buffered rows to a tenant's chain, outside any request's transaction. The same chain rule as the SQL
 * function audit_append (migration 003) that write transactions call — hash = sha256(prev ‖ seq ‖ content_hash) —
 * computed here, so the database does a plain multi-row insert (about a third less database CPU per row than
 * parsing JSON in PL/pgSQL, measured):
 *   1. BEGIN, scope to the tenant, create the chain head if new, lock it FOR UPDATE and read (seq, hash);
 *   2. hash, number and chain the rows (hashing here, not when the request finished: the request path stays short);
 *      per slice of up to 200 rows, one INSERT … SELECT FROM unnest(…) that also moves the head;
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

/** Numbers as array elements; small integers (statuses, outcomes, counts) from a table instead of converting each. */
const SMALL_INTS = Array.from({ length: 1024 }, (_, i) => String(i));
const numText = (v: number) => (Number.isInteger(v) && v >= 0 && v < 1024 ? SMALL_INTS[v] : String(v));

/**
 * One column of a slice as the elements of a PostgreSQL array literal. A column that is NULL in every row of the
 * slice (for anonymous reads: actor, roles, query, address, user agent…) goes as `{}`: multi-argument unnest pads
 * the shorter arrays with NULLs, so neither side spends anything on it.
 */
class Column {
  text = '';
  #leadingNulls = 0;
  add(element: string | null): void {
    if (element === null) {
      if (this.text === '') this.#leadingNulls++; else this.text += ',NULL';
    } else if (this.text === '') {
      this.text = 'NULL,'.repeat(this.#leadingNulls) + element;
    } else {
      this.text += ',' + element;
    }
  }
  literal(): string { return this.text === '' ? '{}' : `{${this.text}}`; }
}

const text = (v: string | null) => (v === null ? null : quoted(v));
const textList = (a: string[] | null) => { const l = textArray(a); return l === null ? null : quoted(l); };
const num = (v: number | null) => (v === null ? null : numText(v));

/**
 * The batch as PostgreSQL array literals, one per column, built in one pass over the rows. Hand-written instead of
 * handing pg 19 arrays of values: pg's array encoding runs two regular-expression replaces on every element and wants
 * the arrays built first (about 3 µs a row, measured; this is about a third of that). The chain hashes are not a
 * column here: they go as one bytea of 32 bytes per row (see INSERT), from which the statement also takes each
 * row's previous hash.
 */
class Columns {
  readonly recordedAt = new Column(); readonly requestId = new Column(); readonly actorKind = new Column(); readonly actorId = new Column();
  readonly actorRoles = new Column(); readonly action = new Column(); readonly method = new Column(); readonly resourceType = new Column();
  readonly resourceIds = new Column(); readonly searchParams = new Column(); readonly query = new Column(); readonly status = new Column();
  readonly outcome = new Column(); readonly durationMs = new Column(); readonly resultCount = new Column(); readonly sourceIp = new Column();
  readonly userAgent = new Column(); readonly networkHash = new Column(); readonly inTransaction = new Column();
  add(r: AuditRecord): void {
    this.recordedAt.add(text(r.recordedAt));
    this.requestId.add(text(r.requestId));
    this.actorKind.add(text(r.actorKind));
    this.actorId.add(text(r.actorId));
    this.actorRoles.add(textList(r.actorRoles));
    this.action.add(text(r.action));
    this.method.add(text(r.method));
    this.resourceType.add(text(r.resourceType));
    this.resourceIds.add(textList(r.resourceIds));
    this.searchParams.add(textList(r.searchParams));
    this.query.add(text(r.query));
    this.status.add(num(r.status));
    this.outcome.add(num(r.outcome));
    this.durationMs.add(num(r.durationMs));
    this.resultCount.add(num(r.resultCount));
    this.sourceIp.add(text(r.sourceIp));
    this.userAgent.add(text(r.userAgent));
    this.networkHash.add(text(r.networkHash));
    this.inTransaction.add(r.inTransaction ? 't' : 'f');
  }
  values(): string[] {
    return [this.recordedAt, this.requestId, this.actorKind, this.actorId, this.actorRoles, this.action, this.method,
      this.resourceType, this.resourceIds, this.searchParams, this.query, this.status, this.outcome, this.durationMs, this.resultCount,
      this.sourceIp, this.userAgent, this.networkHash, this.inTransaction].map((c) => c.literal());
  }
}

/**
 * $2 is the seq before the slice; $3 the hash before it (the previous row's hash); $4 the slice's chain hashes, 32
 * bytes per row in order. Row o (1-based) has seq $2 + o, hash bytes (o-1)*32 … and, as prev_hash, the hash of row
 * o-1 (or $3). Sending the hashes once as bytes instead of two hex arrays (hash and prev_hash) halves what they cost
 * to build, send and parse.
 */
const INSERT = `WITH ins AS (
    INSERT INTO audit_events (tenant_id, seq, prev_hash, hash, recorded_at, request_id, actor_kind, actor_id, actor_roles, action, method,
                              resource_type, resource_ids, search_params, query, status, outcome, duration_ms, result_count,
                              source_ip, user_agent, network_hash, in_transaction)
    SELECT $1, $2::bigint + o,
           CASE WHEN o = 1 THEN $3::bytea ELSE substring($4::bytea FROM (o::int - 2) * 32 + 1 FOR 32) END,
           substring($4::bytea FROM (o::int - 1) * 32 + 1 FOR 32),
           ra, rq, ak, ai, ar::text[], ac, me, rt, ri::text[], sp::text[], q, st, oc, du, rc, ip, ua, nh, it
      FROM unnest($5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                  $13::text[], $14::text[], $15::text[], $16::int[], $17::smallint[], $18::float8[], $19::int[],
                  $20::text[], $21::text[], $22::text[], $23::bool[]) WITH ORDINALITY
        AS x(ra, rq, ak, ai, ar, ac, me, rt, ri, sp, q, st, oc, du, rc, ip, ua, nh, it, o))
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
        const first = seq;
        const before = chain.hash;
        const columns = new Columns();
        let hashes = '';
        for (let i = start; i < Math.min(start + SLICE_ROWS, rows.length); i++) {
          hashes += chain.next(++seq, rows[i]);
          columns.add(rows[i]);
        }
        await client.query({ name: 'audit-append-buffered', text: INSERT, values: [tenant, first, `\\x${before}`, `\\x${hashes}`, ...columns.values(), seq, `\\x${chain.hash}`] });
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
