/**
 * The history of loads started from the console, per tenant, in PostgreSQL (table console_loads, migration 010), so
 * it survives restarts and every instance of a deployment sees every load. The Loads page lists it and the data
 * quality page counts running, failed and interrupted loads from it.
 *
 * A load runs in the request that uploaded the file (docs/adr/0010-console.md). Its row is written when it starts,
 * updated as it progresses (the loader reports after each batch; at most one write a second), touched by a heartbeat
 * every few seconds while it runs, and completed with the per-type counts and the first MAX_REJECTIONS rejections
 * (and their total) when it ends. A `running` row whose heartbeat is older than STALE_AFTER_S belongs to a server
 * that died mid-load: it is shown as `interrupted` (the batches it committed are stored; repeating the load is safe).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../storage/db.ts';
import type { LoadSummary, Rejection } from '../../ingest/loader.ts';

export type LoadState = 'running' | 'completed' | 'failed' | 'interrupted';

export interface LoadRecord {
  id: string;
  user: string;
  file: string;
  bytes: number;
  startedAt: Date;
  finishedAt?: Date;
  /** When the loading server last reported (progress or heartbeat). */
  heartbeatAt: Date;
  state: LoadState;
  processed: number;
  loaded: number;
  rejected: number;
  warnings: number;
  error?: string;
}

export interface LoadDetail extends LoadRecord {
  loadedByType: Record<string, number>;
  /** The first MAX_REJECTIONS rejections (`rejected` is the total). */
  rejections: Rejection[];
}

/** Rejections stored per load (the total is always kept). */
export const MAX_REJECTIONS = 1000;
/** Loads listed on the Loads page. */
export const RECENT = 50;
/** Heartbeat of a running load, and the age after which a running load without one counts as interrupted. */
export const HEARTBEAT_S = 5;
export const STALE_AFTER_S = 60;
/** Progress is written at most this often. */
const PROGRESS_EVERY_MS = 1000;
/** Finished loads older than this are removed when a new load of the tenant starts. */
const KEEP_DAYS = 400;

const MAX_TEXT = 1000;
const clip = (s: string | undefined, n = MAX_TEXT) => (s && s.length > n ? `${s.slice(0, n - 1)}…` : s);

const COLUMNS = `load_id, started_by, file_name, bytes, started_at, finished_at, heartbeat_at, processed, loaded, rejected, warnings, error,
  CASE WHEN status = 'running' AND heartbeat_at < now() - make_interval(secs => ${STALE_AFTER_S}) THEN 'interrupted' ELSE status END AS state`;

function toRecord(r: Record<string, any>): LoadRecord {
  return {
    id: r.load_id, user: r.started_by, file: r.file_name, bytes: Number(r.bytes), startedAt: new Date(r.started_at),
    ...(r.finished_at ? { finishedAt: new Date(r.finished_at) } : {}), heartbeatAt: new Date(r.heartbeat_at),
    state: r.state, processed: r.processed, loaded: r.loaded, rejected: r.rejected, warnings: r.warnings, ...(r.error ? { error: r.error } : {}),
  };
}

/** A running load's handle: progress (throttled, never throws), then exactly one of complete / fail. */
export interface LoadHandle {
  readonly id: string;
  progress(p: { processed: number; loaded: number; rejected: number }): void;
  complete(summary: LoadSummary): Promise<void>;
  fail(error: string): Promise<void>;
}

export async function startLoad(db: Db, tenant: string, r: { user: string; file: string; bytes: number }, opts: { onError?: (err: unknown) => void } = {}): Promise<LoadHandle> {
  const id = randomUUID();
  await db.withTenant(tenant, async (tx) => {
    await tx.query(`DELETE FROM console_loads WHERE tenant_id = $1 AND status <> 'running' AND started_at < now() - make_interval(days => ${KEEP_DAYS})`, [tenant]);
    await tx.query(`INSERT INTO console_loads (tenant_id, load_id, started_by, file_name, bytes, status) VALUES ($1, $2, $3, $4, $5, 'running')`,
      [tenant, id, clip(r.user, 200), clip(r.file, 300), r.bytes]);
  });
  const onError = opts.onError ?? (() => {});
  let latest: { processed: number; loaded: number; rejected: number } | undefined;
  let lastWrite = 0;
  let writing: Promise<void> = Promise.resolve();
  let done = false;
  // one write at a time, in order; a failed progress write is reported and does not stop the load
  const write = (sql: string, values: unknown[]) => {
    writing = writing.then(() => db.withTenant(tenant, (tx) => tx.query(sql, [tenant, id, ...values]))).then(() => {}, onError);
    return writing;
  };
  const flushProgress = () => {
    if (!latest || done) return;
    const p = latest;
    latest = undefined;
    lastWrite = Date.now();
    void write(`UPDATE console_loads SET processed = $3, loaded = $4, rejected = $5, heartbeat_at = now() WHERE tenant_id = $1 AND load_id = $2 AND status = 'running'`,
      [p.processed, p.loaded, p.rejected]);
  };
  const heartbeat = setInterval(() => {
    if (latest) flushProgress();
    else void write(`UPDATE console_loads SET heartbeat_at = now() WHERE tenant_id = $1 AND load_id = $2 AND status = 'running'`, []);
  }, HEARTBEAT_S * 1000);
  heartbeat.unref();
  const finish = async (sql: string, values: unknown[]) => {
    if (done) return;
    done = true;
    clearInterval(heartbeat);
    await writing;
    await db.withTenant(tenant, (tx) => tx.query(sql, [tenant, id, ...values]));
  };
  return {
    id,
    progress(p) {
      latest = { processed: p.processed, loaded: p.loaded, rejected: p.rejected };
      if (Date.now() - lastWrite >= PROGRESS_EVERY_MS) flushProgress();
    },
    complete(s) {
      const loaded = Object.values(s.loaded).reduce((a, b) => a + b, 0);
      const kept = s.rejected.slice(0, MAX_REJECTIONS).map((x) => ({ source: clip(x.source, 300), ...(x.resource ? { resource: clip(x.resource, 200) } : {}), reason: clip(x.reason) }));
      return finish(
        `UPDATE console_loads SET status = 'completed', finished_at = now(), heartbeat_at = now(), processed = $3, loaded = $4, rejected = $5, warnings = $6,
                loaded_by_type = $7, rejections = $8 WHERE tenant_id = $1 AND load_id = $2`,
        [loaded + s.rejected.length, loaded, s.rejected.length, s.warnings, JSON.stringify(s.loaded), JSON.stringify(kept)]);
    },
    fail(error) {
      return finish(`UPDATE console_loads SET status = 'failed', finished_at = now(), heartbeat_at = now(), error = $3 WHERE tenant_id = $1 AND load_id = $2`, [clip(error)]);
    },
  };
}

/** The tenant's latest loads, newest first (running ones included, interrupted ones named so). */
export async function recentLoads(db: Db, tenant: string, limit = RECENT): Promise<LoadRecord[]> {
  const { rows } = await db.withTenant(tenant, (tx) => tx.query(
    `SELECT ${COLUMNS} FROM console_loads WHERE tenant_id = $1 ORDER BY started_at DESC, load_id LIMIT $2`, [tenant, limit]), { readOnly: true });
  return rows.map(toRecord);
}

/** One load with its per-type counts and stored rejections. */
export async function getLoad(db: Db, tenant: string, id: string): Promise<LoadDetail | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return undefined;
  const { rows } = await db.withTenant(tenant, (tx) => tx.query(
    `SELECT ${COLUMNS}, loaded_by_type, rejections FROM console_loads WHERE tenant_id = $1 AND load_id = $2`, [tenant, id]), { readOnly: true });
  const r = rows[0];
  return r ? { ...toRecord(r), loadedByType: r.loaded_by_type ?? {}, rejections: r.rejections ?? [] } : undefined;
}

export interface LoadCounts { running: number; failed: number; interrupted: number; withRejections: number; finished: number }

/** Loads running now, and loads started within `sinceDays` that failed, were interrupted or rejected records. */
export async function loadCounts(db: Db, tenant: string, sinceDays = 30): Promise<LoadCounts> {
  const { rows } = await db.withTenant(tenant, (tx) => tx.query(
    `SELECT state, count(*)::int AS n, count(*) FILTER (WHERE rejected > 0)::int AS with_rejections
       FROM (SELECT ${COLUMNS} FROM console_loads WHERE tenant_id = $1
                AND (started_at >= now() - make_interval(days => $2) OR (status = 'running' AND heartbeat_at >= now() - make_interval(secs => ${STALE_AFTER_S})))) l
      GROUP BY state`, [tenant, sinceDays]), { readOnly: true });
  const by = new Map(rows.map((r) => [r.state as LoadState, r as { n: number; with_rejections: number }]));
  const n = (s: LoadState) => by.get(s)?.n ?? 0;
  return {
    running: n('running'), failed: n('failed'), interrupted: n('interrupted'),
    withRejections: by.get('completed')?.with_rejections ?? 0,
    finished: n('completed') + n('failed') + n('interrupted'),
  };
}
