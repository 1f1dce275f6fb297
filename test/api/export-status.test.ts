/**
 * Status, manifest and cancel (bulk-smart.md checklist 29–36): 202 with Retry-After and X-Progress while running,
 * 429 for polls faster than Retry-After (never for a client that waits it), the 200 manifest, failures as 5xx
 * OperationOutcomes, cancel (202, then 404, files gone), and who may see a job.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { loadConfig } from '../../src/config/config.ts';
import { clientToken, kickoff, loadSynthetic, poll, runExport, download, downloadAll, type Manifest } from './export-support.ts';

let srv: TestServer;
let reader: Awaited<ReturnType<typeof clientToken>>;
let exportDir: string;

before(async () => {
  const d = loadConfig({});
  srv = await startTestServer({ export: { ...d.export, maxConcurrentPerClient: 20 } });
  exportDir = path.join(srv.config.dataDir, 'exports');
  await loadSynthetic(srv, srv.tenant, 40);
  await new Promise((r) => setTimeout(r, 600));
  reader = await clientToken(srv, srv.tenant, ['system/*.read']);
});
after(async () => { await srv.close(); });

const get = (url: string, token?: string) => fetch(url, { headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
const idOf = (location: string) => location.split('/').pop()!;
const filesOf = (id: string) => {
  const dir = path.join(exportDir, 'tenants', srv.tenant, 'jobs', id);
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.ndjson')) : [];
};

/** Holds the job queued: this server's workers pause while `fn` runs. */
async function withWorkersPaused<T>(fn: () => Promise<T>): Promise<T> {
  await srv.jobs.stop();
  await srv.jobs.start({ workers: false });
  try { return await fn(); } finally { await srv.jobs.stop(); await srv.jobs.start({ workers: true }); }
}

describe('while running (29, 30)', () => {
  test('202 + integer Retry-After + X-Progress under 100 characters; polling faster is 429; polling at Retry-After never is', async () => {
    await withWorkersPaused(async () => {
      const k = await kickoff(srv.base, reader.token);
      const first = await get(k.location!, reader.token);
      assert.equal(first.status, 202);
      assert.match(first.headers.get('retry-after')!, /^\d+$/);
      const ra = Number(first.headers.get('retry-after'));
      assert.ok(ra >= 1 && ra <= 10, 'small enough for Inferno\'s 180 s budget');
      const progress = first.headers.get('x-progress')!;
      assert.ok(progress.length > 0 && progress.length < 100);
      const tooSoon = await get(k.location!, reader.token);
      assert.equal(tooSoon.status, 429);
      assert.match(tooSoon.headers.get('retry-after')!, /^\d+$/);
      assert.equal(((await tooSoon.json()) as any).resourceType, 'OperationOutcome');
      // Inferno's schedule: sleep exactly Retry-After, poll again, a few times: never a 429
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, ra * 1000));
        assert.equal((await get(k.location!, reader.token)).status, 202);
      }
      await fetch(k.location!, { method: 'DELETE', headers: { authorization: `Bearer ${reader.token}` } });
    });
  });

  test('a poll made while the export is queued is held and answered with the manifest as soon as the export completes', async () => {
    const cfg = srv.services.config.export;
    const hold = cfg.statusHoldMs;
    cfg.statusHoldMs = 20_000; // long enough for a loaded machine to start the workers and run the export
    try {
      await srv.jobs.stop();
      await srv.jobs.start({ workers: false });
      const k = await kickoff(srv.base, reader.token);
      const t0 = Date.now();
      const held = get(k.location!, reader.token);
      await new Promise((r) => setTimeout(r, 500));
      await srv.jobs.stop();
      await srv.jobs.start({ workers: true });
      const r = await held;
      assert.equal(r.status, 200, 'the held poll answers with the manifest, not 202');
      const manifest = await r.json() as Manifest;
      assert.ok(manifest.output.length > 0);
      assert.ok(Date.now() - t0 >= 500, 'it was held while the export was queued');
      // with no hold, the same poll answers 202 at once
      cfg.statusHoldMs = 0;
      await srv.jobs.stop();
      await srv.jobs.start({ workers: false });
      const k2 = await kickoff(srv.base, reader.token);
      const t1 = Date.now();
      assert.equal((await get(k2.location!, reader.token)).status, 202);
      assert.ok(Date.now() - t1 < 2000);
      await fetch(k2.location!, { method: 'DELETE', headers: { authorization: `Bearer ${reader.token}` } });
    } finally {
      cfg.statusHoldMs = hold;
      await srv.jobs.stop();
      await srv.jobs.start({ workers: true });
    }
  });

  test('X-Progress reports how far a running export is', async () => {
    const k = await kickoff(srv.base, reader.token);
    const done = await poll(k.location!, reader.token);
    assert.equal(done.status, 200);
    for (const p of done.progress) assert.ok(p.length < 100 && /queued|starting|%|resources/.test(p), p);
  });
});

describe('complete (31)', () => {
  test('200 application/json manifest with Expires; every field the IG requires; one type per file', async () => {
    const { manifest, headers } = await runExport(srv.base, reader.token);
    assert.match(headers.get('content-type')!, /^application\/json/);
    assert.ok(!/fhir\+json/.test(headers.get('content-type')!));
    assert.ok(Date.parse(headers.get('expires')!) > Date.now());
    assert.equal(headers.get('cache-control'), 'no-store');
    assert.match(manifest.transactionTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assert.equal(manifest.request, `${srv.base}/$export`);
    assert.equal(manifest.requiresAccessToken, false);
    assert.deepEqual(manifest.error, []);
    assert.ok(manifest.output.length >= 7);
    for (const o of manifest.output) {
      assert.match(o.url, /^http:\/\//);
      assert.ok(Number.isInteger(o.count) && o.count > 0);
    }
    const byType = await downloadAll(manifest);
    for (const [type, rs] of byType) assert.ok(rs.every((r) => r.resourceType === type));
    assert.equal(manifest.deleted, undefined, 'no deleted array without _since');
  });

  test('later downloads of the same job are byte-identical; re-fetching the manifest mints fresh URLs', async () => {
    const { manifest, location } = await runExport(srv.base, reader.token);
    const a = await download(manifest.output[0].url);
    await new Promise((r) => setTimeout(r, 1100));
    const again = await get(location, reader.token);
    const m2 = await again.json() as Manifest;
    assert.notEqual(m2.output[0].url, manifest.output[0].url, 'a fresh signature and expiry');
    const oldExp = Number(new URL(manifest.output[0].url).searchParams.get('exp')) * 1000;
    assert.ok(Date.parse(again.headers.get('expires')!) > oldExp, 'a new, later Expires');
    const b = await download(m2.output[0].url);
    assert.equal(b.text, a.text);
  });
});

describe('failure (34)', () => {
  test('a failed job: 5xx with application/fhir+json and an OperationOutcome', async () => {
    const { location } = await runExport(srv.base, reader.token, '?_type=Endpoint');
    const id = idOf(location);
    await srv.services.db.withTenant(srv.tenant, (tx) => tx.query(
      `UPDATE export_jobs SET status = 'failed', error = '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"boom"}]}' WHERE job_id = $1`, [id]));
    const r = await get(location, reader.token);
    assert.equal(r.status, 500);
    assert.match(r.headers.get('content-type')!, /application\/fhir\+json/);
    assert.equal(((await r.json()) as any).resourceType, 'OperationOutcome');
  });

  test('a job the queue gave up on (worker died on its last attempt) does not stay at 202: it reports failure', async () => {
    await withWorkersPaused(async () => {
      const k = await kickoff(srv.base, reader.token, '?_type=Endpoint');
      const id = idOf(k.location!);
      // what the queue's monitor does when the last attempt's heartbeat stops
      await srv.services.db.query(`UPDATE pgboss.job SET state = 'failed' WHERE id = $1`, [id]);
      const r = await get(k.location!, reader.token);
      assert.equal(r.status, 500);
      assert.equal(((await r.json()) as any).resourceType, 'OperationOutcome');
    });
  });
});

describe('cancel (35, 36)', () => {
  test('DELETE while running: 202; later polls 404 with an OperationOutcome; no files remain', async () => {
    const k = await kickoff(srv.base, reader.token);
    const del = await fetch(k.location!, { method: 'DELETE', headers: { authorization: `Bearer ${reader.token}` } });
    assert.equal(del.status, 202);
    for (let i = 0; i < 2; i++) {
      const r = await get(k.location!, reader.token);
      assert.equal(r.status, 404);
      const oo = await r.json() as any;
      assert.equal(oo.resourceType, 'OperationOutcome');
      assert.ok(oo.issue[0].severity && oo.issue[0].code);
    }
    await new Promise((r) => setTimeout(r, 1500)); // a running attempt notices within a second and removes its folder
    assert.deepEqual(filesOf(idOf(k.location!)), []);
    assert.equal((await fetch(k.location!, { method: 'DELETE', headers: { authorization: `Bearer ${reader.token}` } })).status, 404);
  });

  test('DELETE after completion frees the files (and its download links stop working)', async () => {
    const { manifest, location } = await runExport(srv.base, reader.token, '?_type=Location');
    assert.ok(filesOf(idOf(location)).length > 0);
    assert.equal((await fetch(location, { method: 'DELETE', headers: { authorization: `Bearer ${reader.token}` } })).status, 202);
    assert.deepEqual(filesOf(idOf(location)), []);
    assert.equal((await download(manifest.output[0].url)).status, 404);
    assert.equal((await get(location, reader.token)).status, 404);
  });

  test('status, DELETE and files from another client or tenant: 404 (existence not revealed); DELETE without a token: 401', async () => {
    const { location, manifest } = await runExport(srv.base, reader.token, '?_type=Endpoint');
    const otherClient = await clientToken(srv, srv.tenant, ['system/*.read']);
    assert.equal((await get(location, otherClient.token)).status, 404);
    assert.equal((await fetch(location, { method: 'DELETE', headers: { authorization: `Bearer ${otherClient.token}` } })).status, 404);
    assert.equal((await fetch(location, { method: 'DELETE' })).status, 401);
    assert.equal((await get(location)).status, 401);
    const other = await srv.newTenant('status-other');
    const stranger = await clientToken(srv, other, ['system/*.read']);
    const crossTenant = location.replace(`/t/${srv.tenant}/`, `/t/${other}/`);
    assert.equal((await get(crossTenant, stranger.token)).status, 404);
    assert.equal((await fetch(crossTenant, { method: 'DELETE', headers: { authorization: `Bearer ${stranger.token}` } })).status, 404);
    // and the owner still has it
    assert.equal((await get(location, reader.token)).status, 200);
    assert.equal((await download(manifest.output[0].url)).status, 200);
  });
});
