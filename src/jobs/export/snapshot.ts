/**
 * One export attempt's view of the database: a transactionTime every earlier write has committed by, and one
 * REPEATABLE READ snapshot that every file is read from.
 *
 * transactionTime. A write stamps `lastUpdated` inside its transaction and commits a little later, so "committed
 * before the snapshot" and "lastUpdated before the snapshot" differ by the writes in flight. So: read the clock and
 * the list of transactions in progress; wait until those have all finished; only then take the snapshot. Every write
 * stamped at or before `transactionTime = clock − margin` had its transaction id by then (the margin covers the few
 * milliseconds between stamping and the first row write, and clock differences between hosts), so it has committed
 * (or aborted) before the snapshot and is in it.
 *
 * State as of transactionTime. The snapshot is a little later than transactionTime; resources changed in between
 * (and only those: their current row's last_updated is after it) are read from history at their version as of
 * transactionTime. So the files hold exactly the directory as of transactionTime: nothing changed afterwards, nothing
 * twice.
 */
import type pg from 'pg';

/** Waits for the writes in flight to finish; returns the transactionTime they are all before. */
export async function settledTransactionTime(pool: pg.Pool, marginMs: number, opts: { maxWaitMs?: number; signal?: AbortSignal } = {}): Promise<{ transactionTime: Date; waitedMs: number; timedOut: boolean }> {
  const client = await pool.connect();
  const t0 = Date.now();
  try {
    const { rows } = await client.query(
      `SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now_ms,
              array(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) AS x) AS xids`);
    let pending: string[] = rows[0].xids;
    const deadline = t0 + (opts.maxWaitMs ?? 30_000);
    let delay = 5;
    while (pending.length > 0 && Date.now() < deadline) {
      opts.signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 100);
      const r = await client.query(
        `SELECT array(SELECT x::text FROM unnest($1::xid8[]) AS x WHERE pg_xact_status(x) = 'in progress') AS xids`, [pending]);
      pending = r.rows[0].xids;
    }
    return { transactionTime: new Date(Number(rows[0].now_ms) - marginMs), waitedMs: Date.now() - t0, timedOut: pending.length > 0 };
  } finally {
    client.release();
  }
}

/** Opens the attempt's snapshot: a read-only REPEATABLE READ transaction on its own connection, scoped to the tenant. */
export async function openSnapshot(pool: pg.Pool, tenant: string): Promise<{ client: pg.PoolClient; close(): Promise<void> }> {
  const client = await pool.connect();
  try {
    // the tenant id was validated (TENANT_ID_PATTERN) by the job's row lookup; bound anyway
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [tenant]);
  } catch (err) {
    client.release(true);
    throw err;
  }
  let closed = false;
  return {
    client,
    close: async () => {
      if (closed) return;
      closed = true;
      try { await client.query('ROLLBACK'); client.release(); } catch { client.release(true); }
    },
  };
}
