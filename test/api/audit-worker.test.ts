/**
 * Jobs run by a separate worker process (`npm run worker`) write audit rows for their work, as jobs in the API
 * process do, and the tenant's chain still verifies.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startTestServer, testDatabaseUrl, maintenanceToken, type TestServer } from '../helpers/server.ts';
import { loadConfig, PROJECT_ROOT } from '../../src/config/config.ts';
import { verifyChain } from '../../src/audit/verify.ts';

let srv: TestServer;
let worker: ChildProcess | undefined;
before(async () => {
  const d = loadConfig({});
  srv = await startTestServer({ jobs: { ...d.jobs, workers: false } });
});
after(async () => {
  if (worker && worker.exitCode === null) { worker.kill('SIGTERM'); await new Promise((r) => worker!.once('exit', r)); }
  await srv.close();
});

test('an export run by a worker process leaves system rows for its work', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-worker-'));
  worker = spawn(process.execPath, [path.join(PROJECT_ROOT, 'src', 'main.ts'), '--role', 'worker'], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: dataDir, EXPORT_DIR: path.join(srv.config.dataDir, 'exports'), LOG_LEVEL: 'warn', JOB_POLLING_INTERVAL_SECONDS: '1' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    worker!.stdout!.on('data', (d) => { out += String(d); if (out.includes('job worker running')) resolve(); });
    worker!.once('exit', (code) => reject(new Error(`worker exited (${code})`)));
  });
  const token = await maintenanceToken(srv.base);
  const k = await fetch(`${srv.base}/$export`, { headers: { authorization: `Bearer ${token}`, prefer: 'respond-async', accept: 'application/fhir+json' } });
  assert.equal(k.status, 202);
  const status = k.headers.get('content-location')!;
  let code = 0;
  for (let i = 0; i < 120 && code !== 200; i++) {
    code = (await fetch(status, { headers: { authorization: `Bearer ${token}` } })).status;
    if (code !== 200) await new Promise((r) => setTimeout(r, 1000));
  }
  assert.equal(code, 200, 'the worker finished the export');
  worker.kill('SIGTERM'); // flushes its buffered rows
  await new Promise((r) => worker!.once('exit', r));

  const owner = new pg.Client({ connectionString: testDatabaseUrl() });
  await owner.connect();
  try {
    const { rows } = await owner.query(`SELECT actor_id, action FROM audit_events WHERE tenant_id = $1 AND actor_kind = 'system'`, [srv.tenant]);
    assert.ok(rows.some((r) => /export/.test(String(r.actor_id))), `system rows: ${JSON.stringify(rows.slice(0, 5))}`);
    const v = await verifyChain(async (sql, params) => (await owner.query(sql, params)).rows, srv.tenant, undefined);
    assert.equal(v.ok, true, JSON.stringify(v));
  } finally { await owner.end(); fs.rmSync(dataDir, { recursive: true, force: true }); }
});
