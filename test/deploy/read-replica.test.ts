/**
 * Read scale-out against real PostgreSQL: a primary and a streaming replica (Debian PostgreSQL, pg_basebackup -R)
 * started on loopback by the test, the service with DATABASE_URL → primary and DATABASE_READ_URL → replica.
 * With the replica's replay paused (so it is visibly behind): searches and reads of other callers are served by the
 * replica (they do not see the new write), the write went to the primary, and the writer reads its own write at once,
 * through either of two instances (the writer's position is shared through a real redis-server).
 */
import { snapshotPool } from '../../src/storage/read-routing.ts';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDebianPackage } from '../helpers/system-packages.ts';
import { startRedis } from '../helpers/redis.ts';
import { startLocalCluster, startReplica } from '../../src/storage/backup/local-cluster.ts';
import { installedServerMajor } from '../../src/storage/backup/pg-tools.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startServer } from '../../src/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { mintAccessToken } from '../../src/auth/smart/token-endpoint.ts';
import { example } from '../helpers/server.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}); });

async function sql(url: string, q: string): Promise<any[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return (await c.query(q)).rows; } finally { await c.end(); }
}

async function waitFor(cond: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) { if (Date.now() > end) throw new Error(`timed out waiting for ${what}`); await new Promise((r) => setTimeout(r, 100)); }
}

test('searches go to the replica, writes to the primary, and the writer reads its own write at once', async () => {
  ensureDebianPackage('/usr/lib/postgresql/15/bin/initdb', 'postgresql');
  ensureDebianPackage('/usr/lib/postgresql/15/bin/pg_basebackup', 'postgresql');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replica-'));
  fs.chmodSync(dir, 0o777);
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const primary = await startLocalCluster(path.join(dir, 'primary'), installedServerMajor()!);
  cleanups.push(() => primary.stop());
  const replica = await startReplica(primary, path.join(dir, 'replica'));
  cleanups.push(() => replica.stop());
  assert.equal((await sql(replica.url, 'SELECT pg_is_in_recovery() AS r'))[0].r, true);

  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const env = { DATABASE_URL: primary.url, DATABASE_READ_URL: replica.url, REDIS_URL: redis.url, PORT: '0', HOST: '127.0.0.1', MASTER_KEY: randomBytes(32).toString('base64') };
  const config = { ...loadConfig({ ...env, DATA_DIR: path.join(dir, 'data') }), seedDemo: false };
  const srv = await startServer(config, { logger: createLogger('silent') });
  cleanups.push(() => srv.close());
  // a second instance behind the same public URL: the writer's next request may land here
  const srv2 = await startServer({ ...loadConfig({ ...env, DATA_DIR: path.join(dir, 'data2') }), seedDemo: false, publicBaseUrl: srv.url }, { logger: createLogger('silent') });
  cleanups.push(() => srv2.close());
  const router2 = srv2.services.db.readRouter!;
  const router = srv.services.db.readRouter!;
  assert.ok(router, 'replica routing is on');

  const tenant = 'rr';
  await srv.services.tenants.create(tenant);
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const client = await srv.services.auth.clients.register(tenant, {
    name: 'writer', scopes: ['system/*.cruds'], jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k', alg: 'ES384' }] },
  });
  const base = `${srv.url}/t/${tenant}/fhir`;
  const token = await mintAccessToken(srv.services.auth.keys, tenant, client.clientId, ['system/*.cruds'], base);
  const auth = { authorization: `Bearer ${token}` };
  // the replica has everything so far, then stops replaying: from here on it is visibly behind
  const lsn = (await sql(primary.url, 'SELECT pg_current_wal_insert_lsn()::text AS l'))[0].l;
  await waitFor(async () => (await sql(replica.url, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS ok`))[0].ok, 'the replica to catch up');
  await sql(replica.url, 'SELECT pg_wal_replay_pause()');

  const before = { ...router.stats };
  const created = await fetch(`${base}/Organization`, {
    method: 'POST', headers: { ...auth, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ ...example('Organization-Acme'), id: undefined, name: 'Replica Routing Clinic' }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const id = ((await created.json()) as any).id as string;
  assert.equal((await sql(primary.url, `SELECT count(*)::int AS n FROM resources WHERE tenant_id = 'rr' AND id = '${id}'`))[0].n, 1, 'written on the primary');

  // another caller (anonymous) reads from the replica: not there yet
  assert.equal((await fetch(`${base}/Organization/${id}`)).status, 404);
  const search = await (await fetch(`${base}/Organization?name=Replica`)).json() as any;
  assert.equal(search.total ?? (search.entry ?? []).length, 0, 'search served by the lagging replica');
  assert.ok(router.stats.replica >= before.replica + 2, 'anonymous read and search went to the replica');

  // an export's snapshot is taken on the replica only once it has replayed up to now; a lagging replica means the primary
  assert.equal(await snapshotPool(srv.services.db, 300), srv.services.db.pool, 'export cursors fall back to the primary while the replica lags');

  // the writer reads its own write at once (served by the primary, the replica being behind)
  const own = await fetch(`${base}/Organization/${id}`, { headers: auth });
  assert.equal(own.status, 200);
  const ownSearch = await (await fetch(`${base}/Organization?name=Replica`, { headers: auth })).json() as any;
  assert.equal(ownSearch.entry?.length, 1);
  assert.ok(router.stats.primaryForConsistency >= before.primaryForConsistency + 2);

  // ...and so through the other instance (the position is shared through Redis), while anonymous readers there see the replica
  const base2 = `${srv2.url}/t/${tenant}/fhir`;
  const before2 = { ...router2.stats };
  assert.equal((await fetch(`${base2}/Organization/${id}`)).status, 404, 'anonymous read on instance 2: the lagging replica');
  assert.equal((await fetch(`${base2}/Organization/${id}`, { headers: auth })).status, 200, 'the writer reads its write on instance 2');
  assert.ok(router2.stats.primaryForConsistency >= before2.primaryForConsistency + 1);

  // once the replica has replayed the write, everyone (the writer included) reads from the replica again
  await sql(replica.url, 'SELECT pg_wal_replay_resume()');
  await waitFor(async () => (await fetch(`${base}/Organization/${id}`)).status === 200, 'the replica to replay the write');
  const onReplica = router.stats.replica;
  assert.equal((await fetch(`${base}/Organization/${id}`, { headers: auth })).status, 200);
  assert.ok(router.stats.replica > onReplica, 'the writer is back on the replica once it has caught up');
  assert.equal(await snapshotPool(srv.services.db), router.replica, 'export cursors read from the caught-up replica');
});
