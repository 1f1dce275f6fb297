/**
 * Many instances behave as one service: two API instances (no workers) and two worker processes against one
 * database and one real redis-server, sharing MASTER_KEY, EXPORT_URL_SIGNING_KEY and the export folder as a
 * Kubernetes deployment shares its Secret and volume. Rate limits are shared through Redis, a SMART assertion's jti
 * used at one instance is refused at the other, and an export kicked off at one instance is run exactly once by
 * one of the workers and served (status and files) by the other instance.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID, generateKeyPairSync, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, testDatabaseUrl, type TestServer } from '../helpers/server.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { loadConfig, PROJECT_ROOT } from '../../src/config/config.ts';
import { clientToken, loadSynthetic, kickoff, poll, downloadAll, type Manifest } from '../api/export-support.ts';

let redis: RedisServer;
let a: TestServer;
let b: TestServer;
const workers: ChildProcess[] = [];
const exportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'many-exports-'));
const signingKey = randomBytes(32).toString('hex');

async function startWorker(): Promise<ChildProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'many-worker-'));
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'src', 'main.ts'), '--role', 'worker'], {
    env: {
      ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: dataDir, EXPORT_DIR: exportDir, EXPORT_URL_SIGNING_KEY: signingKey,
      REDIS_URL: redis.url, LOG_LEVEL: 'warn', JOB_POLLING_INTERVAL_SECONDS: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => { err += String(d); });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => { out += String(d); if (out.includes('job worker running')) resolve(); });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${err.slice(-2000)}`)));
  });
  child.once('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  return child;
}

before(async () => {
  redis = await startRedis();
  const d = loadConfig({});
  const common = {
    redisUrl: redis.url,
    jobs: { ...d.jobs, workers: false },
    export: { ...d.export, dir: exportDir, signingKey },
  };
  a = await startTestServer(common);
  // instances behind one load balancer share the public base URL (token audience, links)
  b = await startTestServer({ ...common, publicBaseUrl: a.url });
  workers.push(await startWorker(), await startWorker());
});

after(async () => {
  for (const w of workers) { w.kill('SIGTERM'); await new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r))); }
  await b?.close();
  await a?.close();
  await redis?.stop();
  fs.rmSync(exportDir, { recursive: true, force: true });
});

test('rate limits are shared through Redis across API instances', async () => {
  const d = loadConfig({});
  const limited = { redisUrl: redis.url, jobs: { ...d.jobs, workers: false }, rateLimit: { ...d.rateLimit, anonymousPerMinute: 6 } };
  const x = await startTestServer(limited);
  const y = await startTestServer(limited);
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await fetch(`${(i % 2 ? y : x).url}/t/${x.tenant}/fhir/Organization?_count=1`)).status);
    assert.deepEqual(statuses.slice(0, 6), [200, 200, 200, 200, 200, 200]);
    assert.deepEqual(statuses.slice(6), [429, 429, 429, 429], `the limit of 6 holds across both instances: ${statuses}`);
  } finally { await y.close(); await x.close(); }
});

test('a SMART assertion (jti) used at one instance is refused as a replay at the other', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const c = await a.services.auth.clients.register(a.tenant, { name: 'replay', scopes: ['system/*.read'], jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k', alg: 'ES384' }] } });
  const tokenUrl = `${a.url}/t/${a.tenant}/auth/token`;
  const b64u = (x: string | Buffer) => Buffer.from(x).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64u(JSON.stringify({ alg: 'ES384', typ: 'JWT', kid: 'k' }))}.${b64u(JSON.stringify({ iss: c.clientId, sub: c.clientId, aud: tokenUrl, exp: now + 240, jti: randomUUID() }))}`;
  const jwt = `${input}.${b64u(sign('sha384', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }))}`;
  const ask = (srv: TestServer) => fetch(`${srv.url}/t/${a.tenant}/auth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt }),
  });
  const first = await ask(a);
  assert.equal(first.status, 200, await first.clone().text());
  const second = await ask(b);
  assert.equal(second.status, 401);
  assert.match(((await second.json()) as any).error_description, /replay/);
});

test('an export kicked off at one instance runs exactly once on one of two workers and is served by the other instance', async () => {
  const n = await loadSynthetic(a, a.tenant, 10);
  const c = await clientToken(a, a.tenant, ['system/*.read']);
  await new Promise((r) => setTimeout(r, 600)); // transactionTime margin
  const k = await kickoff(`${a.url}/t/${a.tenant}/fhir`, c.token, '?_type=Practitioner,Organization');
  assert.equal(k.status, 202, JSON.stringify(k.body));
  const statusAtB = k.location!.replace(a.url, b.url);
  const done = await poll(statusAtB, c.token);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  const manifest = done.body as Manifest;
  const id = k.location!.split('/').pop()!;
  const { rows } = await a.services.db.withTenant(a.tenant, (tx) => tx.query('SELECT status, attempt FROM export_jobs WHERE job_id = $1', [id]), { readOnly: true });
  assert.equal(rows[0].status, 'completed');
  assert.equal(rows[0].attempt, 1, 'one attempt: run exactly once');
  // every resource once, files readable (decrypted) through either instance's signed URLs
  const files = await downloadAll(manifest);
  const ids = [...files.values()].flat().map((r: any) => `${r.resourceType}/${r.id}`);
  assert.equal(new Set(ids).size, ids.length, 'no resource twice');
  assert.ok(ids.length > 0 && ids.length <= n);
  // the files on disk are ciphertext
  const stored = fs.readdirSync(exportDir, { recursive: true }).map(String).filter((f) => f.endsWith('.ndjson'));
  assert.ok(stored.length >= 1);
  for (const f of stored) assert.ok(!fs.readFileSync(path.join(exportDir, f)).includes(Buffer.from('"resourceType"')));
});
