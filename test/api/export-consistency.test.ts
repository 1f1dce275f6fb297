/**
 * transactionTime consistency (checklist 32), `_since` with deletions (24, 33): every file holds the directory as of
 * transactionTime — a resource changed during the export is exported in its earlier state, one changed just before
 * the snapshot but after transactionTime in its state as of transactionTime, nothing twice.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { startTestServer, fhir, type TestServer } from '../helpers/server.ts';
import { runExportAttempt } from '../../src/jobs/export/exporter.ts';
import type { ExportFile, ExportParams } from '../../src/jobs/export/types.ts';
import { clientToken, loadSynthetic, runExport, download, downloadAll, PLAN_NET } from './export-support.ts';

let srv: TestServer;
let reader: Awaited<ReturnType<typeof clientToken>>;

before(async () => {
  srv = await startTestServer();
  await loadSynthetic(srv, srv.tenant, 60);
  await new Promise((r) => setTimeout(r, 600));
  reader = await clientToken(srv, srv.tenant, ['system/*.read']);
});
after(async () => { await srv.close(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Versions as of an instant, from history: `Type/id` → versionId (live resources only). */
async function versionsAsOf(tenant: string, at: string): Promise<Map<string, string>> {
  const rows = await srv.services.db.withTenant(tenant, async (tx) => (await tx.query(
    `SELECT DISTINCT ON (resource_type, id) resource_type, id, version_id, deleted FROM resource_history
      WHERE tenant_id = $1 AND last_updated <= $2 ORDER BY resource_type, id, version_id DESC`, [tenant, at])).rows, { readOnly: true });
  return new Map(rows.filter((r: any) => !r.deleted).map((r: any) => [`${r.resource_type}/${r.id}`, String(r.version_id)]));
}

async function readFiles(files: ExportFile[]): Promise<Map<string, any>> {
  const out = new Map<string, any>();
  for (const f of files.filter((x) => x.kind === 'output')) {
    const s = await srv.jobs.storage.open(f.key);
    for (const line of (await text(s!.stream)).split('\n').filter(Boolean)) {
      const r = JSON.parse(line);
      const k = `${r.resourceType}/${r.id}`;
      assert.ok(!out.has(k), `${k} exported twice`);
      out.set(k, r);
    }
  }
  return out;
}

async function touch(ids: string[], type: string, change: (r: any) => any) {
  for (const id of ids) {
    const r = (await fhir(`${srv.base}/${type}/${id}`)).body;
    assert.equal((await fhir(`${srv.base}/${type}/${id}`, { method: 'PUT', json: change(r) })).status, 200);
  }
}

async function someIds(type: string, n: number, offset = 0): Promise<string[]> {
  const rows = await srv.services.db.withTenant(srv.tenant, async (tx) => (await tx.query(
    'SELECT id FROM resources WHERE tenant_id = $1 AND resource_type = $2 AND NOT deleted ORDER BY id OFFSET $3 LIMIT $4', [srv.tenant, type, offset, n])).rows);
  return rows.map((r: any) => r.id);
}

let touches = 0;
/** A harmless change (a tag) that makes a new version. */
const touched = (x: any) => ({ ...x, meta: { ...x.meta, tag: [{ system: 'urn:test:export', code: `touch-${++touches}` }] } });

const params = (over: Partial<ExportParams> = {}): ExportParams => ({ types: [...PLAN_NET], issues: [], ...over });

describe('transactionTime (32)', () => {
  test('changes committed while the attempt streams are not exported; the files are the state as of transactionTime', async () => {
    const changed = await someIds('Practitioner', 5);
    const removed = await someIds('Location', 3);
    let once = false;
    const r = await runExportAttempt({
      db: srv.services.db, search: srv.services.search, storage: srv.jobs.storage, tenant: srv.tenant, params: params(),
      prefix: `tenants/${srv.tenant}/jobs/00000000-0000-4000-8000-000000000001/a1/`, maxLinesPerFile: 1000, gzip: false,
      snapshotMarginMs: 500, signal: new AbortController().signal, batchSize: 50,
      onProgress: async () => {
        if (once) return;
        once = true; // the snapshot is open: now change things underneath it
        await touch(changed, 'Practitioner', touched);
        for (const id of removed) assert.equal((await fhir(`${srv.base}/Location/${id}`, { method: 'DELETE' })).status, 204);
        await fhir(`${srv.base}/Endpoint/new-during-export`, { method: 'PUT', json: { ...(await fhir(`${srv.base}/Endpoint?_count=1`)).body.entry[0].resource, id: 'new-during-export' } });
      },
    });
    assert.ok(once);
    const got = await readFiles(r.files);
    const expected = await versionsAsOf(srv.tenant, r.transactionTime.toISOString());
    assert.equal(got.size, expected.size);
    for (const [k, v] of expected) assert.equal(got.get(k)?.meta.versionId, v, k);
    for (const id of changed) assert.equal(got.get(`Practitioner/${id}`).meta.versionId, '1', 'exported in its state before the change');
    for (const id of removed) assert.ok(got.has(`Location/${id}`), 'deleted after transactionTime: still exported');
    assert.ok(!got.has('Endpoint/new-during-export'));
    for (const rs of got.values()) assert.ok(Date.parse(rs.meta.lastUpdated) <= r.transactionTime.getTime());
  });

  test('changes after transactionTime but before the snapshot are read back from history at their earlier version', async () => {
    const changed = await someIds('Organization', 4);
    const removed = await someIds('HealthcareService', 2);
    const before = Date.now();
    await touch(changed, 'Organization', touched);
    for (const id of removed) assert.equal((await fhir(`${srv.base}/HealthcareService/${id}`, { method: 'DELETE' })).status, 204);
    // a margin reaching back past those writes puts them between transactionTime and the snapshot
    const r = await runExportAttempt({
      db: srv.services.db, search: srv.services.search, storage: srv.jobs.storage, tenant: srv.tenant, params: params({ types: ['HealthcareService', 'Organization'] }),
      prefix: `tenants/${srv.tenant}/jobs/00000000-0000-4000-8000-000000000002/a1/`, maxLinesPerFile: 1000, gzip: false,
      snapshotMarginMs: Date.now() - before + 200, signal: new AbortController().signal, onProgress: async () => {},
    });
    assert.ok(r.transactionTime.getTime() < before);
    const got = await readFiles(r.files);
    const expected = await versionsAsOf(srv.tenant, r.transactionTime.toISOString());
    const exp2 = new Map([...expected].filter(([k]) => /^(HealthcareService|Organization)\//.test(k)));
    assert.equal(got.size, exp2.size);
    for (const [k, v] of exp2) assert.equal(got.get(k)?.meta.versionId, v, k);
    for (const id of removed) assert.ok(got.has(`HealthcareService/${id}`));
  });

  test('through the API: a resource committed just before the kick-off (past the margin) is exported; updates during the export are not', async () => {
    const id = (await someIds('PractitionerRole', 1, 7))[0];
    await touch([id], 'PractitionerRole', touched);
    const committed = (await fhir(`${srv.base}/PractitionerRole/${id}`)).body.meta.versionId;
    await sleep(600);
    const k = await fetch(`${srv.base}/$export?_type=PractitionerRole,Practitioner`, { headers: { authorization: `Bearer ${reader.token}`, prefer: 'respond-async' } });
    const location = k.headers.get('content-location')!;
    // update while it runs (or right after: either way the export must hold the state as of its transactionTime)
    const during = await someIds('Practitioner', 3, 20);
    await touch(during, 'Practitioner', touched);
    let m: any;
    for (;;) {
      const s = await fetch(location, { headers: { authorization: `Bearer ${reader.token}` } });
      if (s.status === 200) { m = await s.json(); break; }
      assert.equal(s.status, 202);
      await sleep(Number(s.headers.get('retry-after')) * 1000);
    }
    const files = await downloadAll(m);
    const got = new Map([...files.values()].flat().map((r) => [`${r.resourceType}/${r.id}`, r.meta.versionId]));
    assert.equal(got.get(`PractitionerRole/${id}`), committed);
    const expected = await versionsAsOf(srv.tenant, m.transactionTime);
    for (const [k, v] of expected) if (/^(PractitionerRole|Practitioner)\//.test(k)) assert.equal(got.get(k), v, k);
  });
});

describe('_since with deletions (24, 33)', () => {
  test('output holds only resources changed after _since; deletions are transaction Bundles in `deleted`, never in output', async () => {
    await sleep(50);
    const since = new Date().toISOString();
    await sleep(50);
    const updated = await someIds('Practitioner', 3, 40);
    await touch(updated, 'Practitioner', touched);
    const removed = await someIds('Endpoint', 2);
    for (const id of removed) assert.equal((await fhir(`${srv.base}/Endpoint/${id}`, { method: 'DELETE' })).status, 204);
    const template = (await fhir(`${srv.base}/Organization?_count=1`)).body.entry[0].resource;
    await fhir(`${srv.base}/Organization/since-new`, { method: 'PUT', json: { ...template, id: 'since-new' } });
    await sleep(600);
    const { manifest } = await runExport(srv.base, reader.token, `?_since=${encodeURIComponent(since)}`);
    const out = [...(await downloadAll(manifest)).values()].flat();
    assert.deepEqual(out.map((r) => `${r.resourceType}/${r.id}`).sort(), [...updated.map((i) => `Practitioner/${i}`), 'Organization/since-new'].sort());
    for (const r of out) assert.ok(r.meta.lastUpdated > since);
    assert.ok(Array.isArray(manifest.deleted));
    assert.equal(manifest.deleted!.length, 1);
    assert.equal(manifest.deleted![0].type, 'Bundle');
    const del = await download(manifest.deleted![0].url);
    assert.equal(del.lines.length, manifest.deleted![0].count);
    assert.deepEqual(del.lines.map((b) => b.entry[0].request.url).sort(), removed.map((i) => `Endpoint/${i}`).sort());
    for (const b of del.lines) {
      assert.equal(b.resourceType, 'Bundle');
      assert.equal(b.type, 'transaction');
      assert.equal(b.entry[0].request.method, 'DELETE');
    }
    const outKeys = new Set(out.map((r) => `${r.resourceType}/${r.id}`));
    for (const b of del.lines) assert.ok(!outKeys.has(b.entry[0].request.url));
  });
});
