/**
 * Durable load history (table console_loads, src/console/loads/tracker.ts), over HTTP against two server instances
 * on the test run's database: a load made through one instance is listed, with its summary and rejections, by a new
 * instance after the first has stopped; a `running` row whose heartbeat stopped is shown as interrupted on the Loads
 * page and counted so on the data quality dashboard; progress is written as the load goes (throttled); rejections are
 * stored bounded, with their total; another tenant sees none of it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { StaffSessions } from '../../src/auth/sessions/store.ts';
import { getLoad, HEARTBEAT_S, MAX_REJECTIONS, recentLoads, startLoad } from '../../src/console/loads/tracker.ts';

const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition';
const prac = (id: string) => JSON.stringify({ resourceType: 'Practitioner', id, meta: { profile: [`${PN}/plannet-Practitioner`] }, active: true,
  identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }], name: [{ family: 'History', given: ['Lou'] }] });
const NDJSON = [prac('hist-1'), prac('hist-2'), '{"resourceType": "Practitioner", "id": "hist-broken", ', prac('hist-3')].join('\n') + '\n';

const servers: TestServer[] = [];
after(async () => { for (const s of servers) await s.close().catch(() => {}); });

async function session(srv: TestServer, tenant: string, roles: string[]) {
  const { token, session: s } = await (srv.services.sessions as StaffSessions).create(tenant, { userId: `${roles[0]}-hist@plan.example`, roles });
  return { cookie: `plannet_session=${token}`, csrf: s.csrfToken as string };
}

test('a load made through one instance is listed with its summary by a new instance on the same database; a stale running load shows as interrupted', { timeout: 300_000 }, async () => {
  const first = await startTestServer();
  servers.push(first);
  const tenant = first.tenant;
  const editor = await session(first, tenant, ['editor']);
  const up = await fetch(`${first.url}/t/${tenant}/console/loads?name=history.ndjson`, {
    method: 'POST', headers: { cookie: editor.cookie, 'x-csrf-token': editor.csrf, 'content-type': 'application/x-ndjson' }, body: NDJSON,
  });
  assert.equal(up.status, 200);
  assert.match(await up.text(), /Loaded 3 resources from 1 file; rejected 1;/);
  await first.close();

  // a new instance (a restart, or another replica) on the same database
  const second = await startTestServer();
  servers.push(second);
  // the record is in the database, not in a process's memory (both instances run in this test's process)
  const stored = await second.services.db.withTenant(tenant, (tx) => tx.query(`SELECT status, processed, loaded, rejected, jsonb_array_length(rejections) AS kept FROM console_loads WHERE tenant_id = $1 AND file_name = 'history.ndjson'`, [tenant]));
  assert.deepEqual(stored.rows, [{ status: 'completed', processed: 4, loaded: 3, rejected: 1, kept: 1 }]);
  const ed2 = await session(second, tenant, ['editor']);
  const loadsUrl = `${second.url}/t/${tenant}/console/loads`;
  const list = await (await fetch(loadsUrl, { headers: { cookie: ed2.cookie } })).text();
  assert.match(list, /history\.ndjson \(\d+ bytes\)<\/td><td data-load-state="completed">completed<\/td><td>3<\/td><td>1<\/td>/);
  assert.doesNotMatch(list, /this server/i, 'the page no longer says the history is per process');
  const detailHref = /<a href="([^"]+\/console\/loads\/[0-9a-f-]{36})">Load of history\.ndjson/.exec(list)?.[1];
  assert.ok(detailHref, 'a link to the stored load');
  const detail = await fetch(`${second.url}${detailHref}`, { headers: { cookie: ed2.cookie } });
  assert.equal(detail.status, 200);
  const dh = await detail.text();
  assert.match(dh, /Loaded 3 resources from 1 file; rejected 1;/);
  assert.match(dh, /<td>Practitioner<\/td><td>3<\/td>/);
  assert.match(dh, /<td>history\.ndjson:3<\/td><td>[^<]*JSON/, 'the rejection with its place and reason');
  assert.equal((await fetch(`${loadsUrl}/00000000-0000-4000-8000-000000000000`, { headers: { cookie: ed2.cookie } })).status, 404);
  const viewer = await session(second, tenant, ['viewer']);
  assert.equal((await fetch(`${second.url}${detailHref}`, { headers: { cookie: viewer.cookie }, redirect: 'manual' })).status, 403, 'a viewer cannot open a load');

  // a load whose server died (heartbeat 10 minutes old) and one running now (fresh heartbeat)
  await second.services.db.withTenant(tenant, (tx) => tx.query(
    `INSERT INTO console_loads (tenant_id, load_id, started_by, file_name, bytes, status, started_at, heartbeat_at, processed, loaded)
     VALUES ($1, gen_random_uuid(), 'gone@plan.example', 'dead.ndjson', 1000, 'running', now() - interval '15 minutes', now() - interval '10 minutes', 1500, 1000),
            ($1, gen_random_uuid(), 'busy@plan.example', 'busy.ndjson', 1000, 'running', now(), now(), 500, 500)`, [tenant]));
  const list2 = await (await fetch(loadsUrl, { headers: { cookie: ed2.cookie } })).text();
  assert.match(list2, /dead\.ndjson \(1000 bytes\)<\/td><td data-load-state="interrupted">interrupted after 1500 read/);
  assert.match(list2, /busy\.ndjson \(1000 bytes\)<\/td><td data-load-state="running">running \(500 read\)/);
  const dash = await (await fetch(`${second.url}/t/${tenant}/console/quality`, { headers: { cookie: viewer.cookie } })).text();
  const figure = (id: string) => new RegExp(`data-figure="${id}">(\\d+)<`).exec(dash)?.[1];
  assert.equal(figure('loads-running'), '1', 'only the load with a live heartbeat is running');
  assert.equal(figure('loads-interrupted'), '1');
  assert.equal(figure('loads-failed'), '0');
  assert.equal(figure('loads-rejections'), '1', 'the completed load that rejected a line');
  assert.match(dash, /Load history is stored in the database/);

  // another tenant sees none of it
  const other = await second.newTenant();
  assert.deepEqual(await recentLoads(second.services.db, other), []);
  const otherEditor = await session(second, other, ['editor']);
  assert.equal((await fetch(`${second.url}/t/${other}/console/loads/${detailHref.split('/').pop()}`, { headers: { cookie: otherEditor.cookie } })).status, 404);
});

test('progress is written as the load goes, at most once a second (the heartbeat carries the rest); rejections are stored bounded with their total', { timeout: 120_000 }, async () => {
  const srv = await startTestServer();
  servers.push(srv);
  const db = srv.services.db;
  const h = await startLoad(db, srv.tenant, { user: 'unit', file: 'progress.ndjson', bytes: 10 });
  const row = async () => (await getLoad(db, srv.tenant, h.id))!;
  assert.equal((await row()).state, 'running');
  h.progress({ processed: 500, loaded: 500, rejected: 0 });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await row()).processed, 500, 'the first report is written at once');
  h.progress({ processed: 1000, loaded: 990, rejected: 10 });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await row()).processed, 500, 'a report within the second is held back');
  await new Promise((r) => setTimeout(r, HEARTBEAT_S * 1000 + 500));
  const beat = await row();
  assert.deepEqual([beat.processed, beat.loaded, beat.rejected, beat.state], [1000, 990, 10, 'running'], 'and written by the heartbeat');
  const rejected = Array.from({ length: MAX_REJECTIONS + 5 }, (_, i) => ({ source: `progress.ndjson:${i + 1}`, reason: 'not JSON' }));
  await h.complete({ loaded: { Practitioner: 7 }, rejected, warnings: 2, files: 1 });
  const done = await row();
  assert.deepEqual([done.state, done.loaded, done.rejected, done.processed, done.warnings], ['completed', 7, MAX_REJECTIONS + 5, MAX_REJECTIONS + 12, 2]);
  assert.equal(done.rejections.length, MAX_REJECTIONS);
  assert.equal(done.rejections[0]!.source, 'progress.ndjson:1');
  assert.deepEqual(done.loadedByType, { Practitioner: 7 });
  h.progress({ processed: 1, loaded: 0, rejected: 0 });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await row()).processed, MAX_REJECTIONS + 12, 'nothing is written after the end');
  // the page says how many more there were
  const ed = await session(srv, srv.tenant, ['editor']);
  const page = await (await fetch(`${srv.url}/t/${srv.tenant}/console/loads/${h.id}`, { headers: { cookie: ed.cookie } })).text();
  assert.match(page, /rejected 1005;/);
  assert.match(page, /Rejected \(1005\)/);
  assert.match(page, /… and 805 more rejections \(the first 200 are listed; the first 1000 are stored\)/);
});
