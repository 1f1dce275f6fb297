/**
 * Durability (checklist 37): exports run in separate worker processes (`node src/main.ts --role worker`, what
 * `npm run worker` starts) against the test database. A worker killed with SIGKILL mid-export leaves a job that a new
 * worker retries to completion, with exactly the right files: every line is checked against the database. And any
 * number of workers never work the same job twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, testDatabaseUrl, type TestServer } from '../helpers/server.ts';
import { loadConfig, PROJECT_ROOT } from '../../src/config/config.ts';
import { clientToken, kickoff, loadSynthetic, poll, download, type Manifest } from './export-support.ts';

let srv: TestServer;
let exportDir: string;
const workers: ChildProcess[] = [];

before(async () => {
  const d = loadConfig({});
  // this process runs the API only (and the queue's monitor); the work happens in the worker processes
  srv = await startTestServer({
    jobs: { ...d.jobs, workers: false, heartbeatSeconds: 10, monitorIntervalSeconds: 2 },
    export: { ...d.export, maxLinesPerFile: 1000, maxConcurrentPerClient: 10, maxConcurrentPerTenant: 20 },
  });
  exportDir = path.join(srv.config.dataDir, 'exports');
  await loadSynthetic(srv, srv.tenant, 8000, 11);
  await new Promise((r) => setTimeout(r, 600));
});
after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await srv.close();
});

/** Starts `node src/main.ts --role worker` on the test database and this server's export folder. */
async function startWorker(): Promise<ChildProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-worker-'));
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'src', 'main.ts'), '--role', 'worker'], {
    env: {
      ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: dataDir, EXPORT_DIR: exportDir, LOG_LEVEL: 'warn',
      JOB_HEARTBEAT_SECONDS: '10', JOB_MONITOR_INTERVAL_SECONDS: '2', JOB_POLLING_INTERVAL_SECONDS: '1', EXPORT_MAX_LINES_PER_FILE: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
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

const row = async (id: string) => (await srv.services.db.withTenant(srv.tenant, (tx) => tx.query(
  'SELECT status, attempt, attempt_id, progress FROM export_jobs WHERE job_id = $1', [id]), { readOnly: true })).rows[0];

/** The database's current resources, as the text the API serves. */
async function contentByKey(): Promise<Map<string, string>> {
  const rows = await srv.services.db.withTenant(srv.tenant, async (tx) => (await tx.query(
    'SELECT resource_type, id, content FROM resources WHERE tenant_id = $1 AND NOT deleted', [srv.tenant])).rows, { readOnly: true });
  return new Map(rows.map((r: any) => [`${r.resource_type}/${r.id}`, r.content]));
}

describe('a worker killed mid-export (37)', () => {
  test('SIGKILL during the export: the job is retried by a new worker to completion, files exactly right', async () => {
    const reader = await clientToken(srv, srv.tenant, ['system/*.read']);
    const first = await startWorker();
    const k = await kickoff(srv.base, reader.token);
    assert.equal(k.status, 202);
    const id = k.location!.split('/').pop()!;
    const jobDir = path.join(exportDir, 'tenants', srv.tenant, 'jobs', id);
    // wait until the attempt has written files, then kill the worker in the middle of it
    const deadline = Date.now() + 60_000;
    let killedAt: { attempt: number; files: number } | undefined;
    while (Date.now() < deadline) {
      const r = await row(id);
      assert.notEqual(r.status, 'completed', 'the export finished before the worker could be killed: load more data');
      const written = fs.existsSync(jobDir) ? fs.readdirSync(jobDir, { recursive: true }).map(String).filter((f) => /\.ndjson(\.partial)?$/.test(f)) : [];
      if (r.status === 'running' && written.length > 0) {
        first.kill('SIGKILL');
        killedAt = { attempt: r.attempt, files: written.length };
        break;
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.ok(killedAt, 'the worker never got going');
    await new Promise((res) => first.once('exit', res));
    assert.equal(first.signalCode, 'SIGKILL');
    assert.equal((await row(id)).status, 'running', 'the job is left running by the dead worker');
    // a new worker (the "restarted one") takes the retry once the queue sees the heartbeat has stopped
    await startWorker();
    const done = await poll(k.location!, reader.token, 120_000);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const m = done.body as Manifest;
    const final = await row(id);
    assert.equal(final.status, 'completed');
    assert.equal(final.attempt, killedAt.attempt + 1);
    // only the final attempt's files remain
    const folders = fs.readdirSync(jobDir);
    assert.deepEqual(folders, [final.attempt_id]);
    // every line against the database, byte for byte; every resource exactly once
    const db = await contentByKey();
    const seen = new Set<string>();
    for (const o of m.output) {
      const d = await download(o.url);
      assert.equal(d.status, 200);
      const lines = d.text.split('\n').filter(Boolean);
      assert.equal(lines.length, o.count);
      for (const line of lines) {
        const r = JSON.parse(line);
        const key = `${r.resourceType}/${r.id}`;
        assert.equal(r.resourceType, o.type);
        assert.ok(!seen.has(key), `${key} twice`);
        seen.add(key);
        assert.equal(line, db.get(key), `${key} differs from the database`);
      }
    }
    assert.equal(seen.size, db.size);
  });
});

describe('many workers, one database (37)', () => {
  test('three workers and a stream of exports: every job is worked exactly once', async () => {
    while (workers.filter((w) => w.exitCode === null && w.signalCode === null).length < 3) await startWorker();
    const clients = await Promise.all([0, 1, 2].map(() => clientToken(srv, srv.tenant, ['system/*.read'])));
    const locations: { location: string; token: string }[] = [];
    for (let i = 0; i < 9; i++) {
      const c = clients[i % 3];
      const k = await kickoff(srv.base, c.token, `?_type=${['Practitioner', 'Location', 'Organization'][i % 3]}`);
      assert.equal(k.status, 202);
      locations.push({ location: k.location!, token: c.token });
    }
    for (const { location, token } of locations) assert.equal((await poll(location, token, 120_000)).status, 200);
    for (const { location } of locations) {
      const id = location.split('/').pop()!;
      assert.equal((await row(id)).attempt, 1, `job ${id} was started more than once`);
      const q = await srv.services.db.query('SELECT retry_count FROM pgboss.job WHERE id = $1', [id]);
      assert.equal(q.rows[0].retry_count, 0);
    }
  });
});
