/**
 * Read scale-out (DATABASE_READ_URL): read-only tenant transactions (reads, searches, history) run on the replica
 * pool, everything else on the primary. Read-your-writes: after a write transaction commits, the writer's WAL
 * position (`pg_current_wal_insert_lsn()`, at or after its commit record) is remembered under the writer's key (the
 * SMART client, staff session, or system job from the request context) for READ_YOUR_WRITES_MS. That writer's
 * next read starts on the replica only if the replica has replayed past it (`pg_last_wal_replay_lsn()`, checked in
 * the same round trip as BEGIN); otherwise it runs on the primary. Other callers read from the replica at once.
 * With REDIS_URL the positions are also shared through Redis, so the promise holds when the writer's next request
 * reaches another instance.
 */
import type pg from 'pg';
import { currentContext } from '../http/request-context.ts';

export interface RouteStats { replica: number; primary: number; primaryForConsistency: number }

/** Where writers' WAL positions are shared between instances (Redis with REDIS_URL), so read-your-writes holds across pods. */
export interface SharedPositions {
  set(key: string, lsn: string, ttlMs: number): Promise<void>;
  get(key: string): Promise<string | null>;
}

export class ReadRouter {
  readonly replica: pg.Pool;
  readonly #windowMs: number;
  readonly #pending = new Map<string, { lsn: string; until: number }>();
  readonly stats: RouteStats = { replica: 0, primary: 0, primaryForConsistency: 0 };
  #shared: SharedPositions | undefined;
  constructor(replica: pg.Pool, windowMs: number) { this.replica = replica; this.#windowMs = windowMs; }

  /** Share positions with the other instances (a writer's next request may land on another pod). */
  share(shared: SharedPositions): void { this.#shared = shared; }

  /** The current caller's consistency key, or undefined for anonymous callers (they cannot write). */
  static callerKey(tenant: string): string | undefined {
    const id = currentContext()?.identity;
    if (!id) return undefined;
    switch (id.kind) {
      case 'client': return `${tenant}:client:${id.clientId}`;
      case 'staff': return `${tenant}:staff:${id.sessionId}`;
      case 'system': return `${tenant}:system:${id.name}`;
      default: return undefined;
    }
  }

  /** After a write committed on `client` (the primary): remember where the WAL was for this caller. */
  async noteWrite(tenant: string, client: pg.PoolClient): Promise<void> {
    const key = ReadRouter.callerKey(tenant);
    if (!key || this.#windowMs === 0) return;
    let lsn = 'FFFFFFFF/FFFFFFFF'; // position unknown: read from the primary for the whole window
    try { lsn = (await client.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn; } catch { /* the write committed; never fail it here */ }
    this.#pending.set(key, { lsn, until: Date.now() + this.#windowMs });
    if (this.#pending.size > 10_000) { const now = Date.now(); for (const [k, v] of this.#pending) if (v.until < now) this.#pending.delete(k); }
    // best effort: if the shared store is down, this instance still keeps its own promise
    await this.#shared?.set(key, lsn, this.#windowMs).catch(() => {});
  }

  /** The LSN the caller's reads must have replayed, if any (undefined: any replica state will do). */
  async requiredLsn(tenant: string): Promise<string | undefined> {
    const key = ReadRouter.callerKey(tenant);
    if (!key) return undefined;
    const p = this.#pending.get(key);
    if (p && p.until >= Date.now()) return p.lsn;
    if (p) this.#pending.delete(key);
    if (!this.#shared) return undefined;
    // a write made through another instance; if the store cannot answer, read from the primary (never stale)
    try { return (await this.#shared.get(key)) ?? undefined; } catch { return 'FFFFFFFF/FFFFFFFF'; }
  }

  caughtUp(tenant: string, lsn: string): void {
    const key = ReadRouter.callerKey(tenant);
    if (key && this.#pending.get(key)?.lsn === lsn) this.#pending.delete(key);
  }
}

/**
 * For export cursors: the pool to open an export snapshot on once `settledTransactionTime` has returned on the
 * primary — the replica when it has replayed the primary's current WAL position within `maxWaitMs` (so the snapshot
 * holds every write before transactionTime), else the primary. src/jobs/export/exporter.ts opens its snapshot here.
 */
export async function snapshotPool(db: { pool: pg.Pool; readRouter?: ReadRouter }, maxWaitMs = 5_000): Promise<pg.Pool> {
  const router = db.readRouter;
  if (!router) return db.pool;
  const { rows } = await db.pool.query('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  const lsn = rows[0].lsn as string;
  const deadline = Date.now() + maxWaitMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      const r = await router.replica.query(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok`, [lsn]);
      if (r.rows[0].ok) return router.replica;
    } catch { return db.pool; }
    if (Date.now() > deadline) return db.pool;
    await new Promise((res) => setTimeout(res, delay));
  }
}
