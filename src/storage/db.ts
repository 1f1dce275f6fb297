/**
 * Database access: a pg pool that runs as the application role (owns nothing, subject to row-level security) and a
 * knex instance used as a query builder and for migrations (run as the owner).
 *
 * Every tenant-scoped unit of work runs inside `withTenant`, one transaction that first sets `app.tenant_id`; the
 * row-level-security policies compare each row's tenant_id with it, so a query that forgets its tenant filter sees
 * nothing rather than another tenant's rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import knexFactory, { type Knex } from 'knex';
import type { Config } from '../config/config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded.ts';
import { migrationSource } from './migrations/index.ts';
import { Keyring, loadKeyring } from '../security/envelope.ts';
import { ReadRouter } from './read-routing.ts';

// Parse bigint counts as numbers (our counts stay far below 2^53); keep timestamps as strings we control.
pg.types.setTypeParser(20, (v) => Number(v));

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface TenantTx {
  readonly tenant: string;
  readonly client: pg.PoolClient;
  query<R extends pg.QueryResultRow = any>(sql: string | pg.QueryConfig, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Run a knex builder on this transaction's connection. */
  run<R extends pg.QueryResultRow = any>(builder: Knex.QueryBuilder | Knex.Raw): Promise<R[]>;
}

export interface Db {
  readonly pool: pg.Pool;
  /**
   * One connection for appending buffered audit rows (src/audit/store.ts), apart from the request pool: a flush holds
   * its connection for a transaction of hundreds of rows, and must neither take one from requests nor wait behind them.
   */
  readonly auditPool: pg.Pool;
  /** Query builder only: build with it, execute with `tx.run`. */
  readonly qb: Knex;
  readonly ownerUrl: string;
  /** Encrypts the secrets stored in this database (src/security/envelope.ts). */
  readonly keyring: Keyring;
  /** Replica routing (DATABASE_READ_URL), if configured: read-only tenant transactions go to its pool. */
  readonly readRouter?: ReadRouter;
  withTenant<T>(tenant: string, fn: (tx: TenantTx) => Promise<T>, opts?: { readOnly?: boolean }): Promise<T>;
  /**
   * Registers work that must commit atomically with every write transaction (the audit row of the request that
   * made the change). It runs last, just before COMMIT; if it throws, the transaction rolls back.
   */
  addBeforeCommit(hook: (tx: TenantTx) => Promise<void>): void;
  /**
   * One read-only statement for a tenant in a single round trip (BEGIN, set tenant, the statement, COMMIT sent
   * together): the read-by-id hot path, where three round trips per request were most of the service's CPU. The
   * statement must carry its values as literals (built with pg's escapeLiteral from validated values).
   */
  readOneShot<R extends pg.QueryResultRow = any>(tenant: string, sql: string): Promise<pg.QueryResult<R>>;
  /** Unscoped connection as the app role (tenant registry, health checks). RLS still applies. */
  query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  close(): Promise<void>;
}

const qb = knexFactory({ client: 'pg' });

export function makeTenantTx(tenant: string, client: pg.PoolClient): TenantTx {
  return {
    tenant,
    client,
    query: (sql, params) => client.query(sql as any, params as any[]) as any,
    run: async (builder) => {
      const { sql, bindings } = builder.toSQL().toNative();
      return (await client.query(sql, bindings as unknown[])).rows;
    },
  };
}

export function createDb(opts: { appUrl: string; ownerUrl: string; appRole: string; setRole: boolean; poolMax: number; keyring?: Keyring; readUrl?: string; readYourWritesMs?: number }): Db {
  /** A pool of connections as the application role: the request pool, the audit appender's, the replica's. */
  const appPool = (connectionString: string, max: number): pg.Pool => {
    const p = new pg.Pool({
      connectionString, max, idleTimeoutMillis: 30_000,
      // Without a dedicated login role, the session starts as the application role (a startup parameter, so no
      // query can ever run on the connection before it takes effect).
      ...(opts.setRole ? { options: `-c role=${opts.appRole}` } : {}),
    });
    p.on('error', () => { /* idle client errors surface on next use; never crash the process */ });
    // A connection killed under a checked-out client (server shutdown, failover) fails its query; it must not also
    // crash the process through an unhandled 'error' event.
    p.on('connect', (client) => { client.on('error', () => {}); });
    return p;
  };
  const pool = appPool(opts.appUrl, opts.poolMax);
  const auditPool = appPool(opts.appUrl, 1);

  const beforeCommit: ((tx: TenantTx) => Promise<void>)[] = [];
  let router: ReadRouter | undefined;
  if (opts.readUrl) {
    router = new ReadRouter(appPool(opts.readUrl, opts.poolMax), opts.readYourWritesMs ?? 30_000);
  }

  /** A read-only transaction on the replica, or undefined when this caller must read from the primary. */
  async function onReplica(tenant: string): Promise<pg.PoolClient | undefined> {
    if (!router) return undefined;
    const lsn = await router.requiredLsn(tenant);
    const client = await router.replica.connect();
    try {
      if (!lsn) {
        await client.query(`BEGIN READ ONLY; SELECT set_config('app.tenant_id', '${tenant}', true)`);
        router.stats.replica++;
        return client;
      }
      // lsn comes from pg_current_wal_insert_lsn()::text (hex/hex), safe as a literal
      const r = await client.query(`BEGIN READ ONLY; SELECT set_config('app.tenant_id', '${tenant}', true), pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS caught_up`) as unknown as pg.QueryResult[];
      if (r[1]!.rows[0].caught_up) { router.caughtUp(tenant, lsn); router.stats.replica++; return client; }
      await client.query('ROLLBACK');
      client.release();
      router.stats.primaryForConsistency++;
      return undefined;
    } catch (err) {
      client.release(true);
      throw err;
    }
  }

  async function withTenant<T>(tenant: string, fn: (tx: TenantTx) => Promise<T>, o: { readOnly?: boolean } = {}): Promise<T> {
    if (!TENANT_ID_PATTERN.test(tenant)) throw new Error(`invalid tenant id ${JSON.stringify(tenant)}`);
    const replicaClient = o.readOnly ? await onReplica(tenant) : undefined;
    const client = replicaClient ?? await pool.connect();
    let broken = false;
    try {
      // One round trip: the tenant id matched TENANT_ID_PATTERN above, so it is safe as a literal.
      if (!replicaClient) {
        await client.query(`BEGIN${o.readOnly ? ' READ ONLY' : ''}; SELECT set_config('app.tenant_id', '${tenant}', true)`);
        if (router) router.stats.primary++;
      }
      try {
        const tx = makeTenantTx(tenant, client);
        const result = await fn(tx);
        if (!o.readOnly) for (const hook of beforeCommit) await hook(tx);
        await client.query('COMMIT');
        if (router && !o.readOnly) await router.noteWrite(tenant, client);
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => { broken = true; });
        throw err;
      }
    } catch (err) {
      if ((err as { code?: string }).code === undefined && !(err instanceof Error)) broken = true;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async function readOneShot(tenant: string, sql: string): Promise<pg.QueryResult> {
    if (!TENANT_ID_PATTERN.test(tenant)) throw new Error(`invalid tenant id ${JSON.stringify(tenant)}`);
    // with replicas, reads go through withTenant, which decides replica or primary per caller
    if (router) return withTenant(tenant, (tx) => tx.query(sql), { readOnly: true });
    const client = await pool.connect();
    try {
      const results = await client.query(`BEGIN READ ONLY; SELECT set_config('app.tenant_id', '${tenant}', true); ${sql}; COMMIT`) as unknown as pg.QueryResult[];
      client.release();
      return results[2];
    } catch (err) {
      try { await client.query('ROLLBACK'); client.release(); } catch { client.release(true); }
      throw err;
    }
  }

  return {
    pool,
    auditPool,
    readOneShot,
    qb,
    ownerUrl: opts.ownerUrl,
    // Without a configured keyring (benches, tools), an ephemeral key: secrets written then live as long as the process.
    keyring: opts.keyring ?? Keyring.ephemeral(),
    readRouter: router,
    withTenant,
    addBeforeCommit: (hook) => { beforeCommit.push(hook); },
    query: (sql, params) => pool.query(sql, params as any[]),
    close: async () => { await pool.end(); await auditPool.end(); if (router) await router.replica.end(); },
  };
}

/** Runs the knex migrations as the owner, creating the app role first. Safe to call from many starters at once. */
export async function migrate(ownerUrl: string, appRole: string): Promise<string[]> {
  // One connection, so the session-level advisory lock covers every step below.
  const knex = knexFactory({ client: 'pg', connection: ownerUrl, pool: { min: 1, max: 1 } });
  try {
    await knex.raw('SELECT pg_advisory_lock(7426351)');
    await knex.raw(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${appRole}') THEN CREATE ROLE ${appRole} NOLOGIN; END IF;
      -- membership lets the owner connection SET ROLE to the app role (superusers need none)
      IF NOT pg_has_role(current_user, '${appRole}', 'MEMBER') THEN EXECUTE format('GRANT ${appRole} TO %I', current_user); END IF;
    END $$`);
    const [, applied] = await knex.migrate.latest({ migrationSource: migrationSource(appRole) }) as [number, string[]];
    await knex.raw('SELECT pg_advisory_unlock(7426351)');
    return applied;
  } finally {
    await knex.destroy();
  }
}

export interface Database { db: Db; embedded?: EmbeddedServer; shutdown(): Promise<void> }

const CONNECTION_FILE = 'connection.json';

/**
 * Resolve the database: DATABASE_URL if set; else the embedded server already running for this DATA_DIR (a CLI next
 * to a running service); else start the embedded server. Migrations run before the pool is handed out.
 */
export async function openDatabase(config: Config, opts: { log?: (m: string) => void; runMigrations?: boolean; owner?: boolean } = {}): Promise<Database> {
  // First: in production, no master key → refuse to start before touching anything.
  const keyring = loadKeyring(config);
  let ownerUrl = config.databaseUrl;
  let embedded: EmbeddedServer | undefined;
  const connFile = path.join(config.dataDir, CONNECTION_FILE);
  if (!ownerUrl) {
    const running = await runningEmbeddedUrl(connFile);
    if (running) ownerUrl = running;
    else {
      embedded = await startEmbeddedPostgres(config.dataDir, opts.log);
      ownerUrl = embedded.url;
      fs.writeFileSync(connFile, JSON.stringify({ url: ownerUrl, pid: process.pid }), { mode: 0o600 });
    }
  }
  if (opts.runMigrations !== false) await migrate(ownerUrl, config.appRole);
  const appUrl = config.databaseAppUrl ?? ownerUrl;
  const db = createDb({ appUrl, ownerUrl, appRole: config.appRole, setRole: !config.databaseAppUrl && !opts.owner, poolMax: config.dbPoolMax, keyring,
    readUrl: config.databaseReadUrl, readYourWritesMs: config.readYourWritesMs });
  return {
    db,
    embedded,
    shutdown: async () => {
      await db.close();
      if (embedded) {
        try { if (JSON.parse(fs.readFileSync(connFile, 'utf8')).pid === process.pid) fs.rmSync(connFile, { force: true }); } catch { /* gone */ }
        await embedded.stop();
      }
    },
  };
}

async function runningEmbeddedUrl(connFile: string): Promise<string | undefined> {
  if (!fs.existsSync(connFile)) return undefined;
  try {
    const { url, pid } = JSON.parse(fs.readFileSync(connFile, 'utf8')) as { url: string; pid: number };
    try { process.kill(pid, 0); } catch { return undefined; }
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    await c.connect();
    await c.end();
    return url;
  } catch {
    return undefined;
  }
}
