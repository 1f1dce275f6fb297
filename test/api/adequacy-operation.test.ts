/**
 * POST [base]/$network-adequacy on the job runner: permission adequacy:run (staff role, or the SMART scope
 * system/adequacy.run), 202 + status URL, progress, manifest with signed URLs, downloads without a token, tampered
 * links refused, status only for the requester, tenant criteria uploads named in the report, every call audited.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { clientToken } from './export-support.ts';

const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/';
let srv: TestServer;
let base: string;

const RESOURCES = [
  { resourceType: 'Organization', id: 'net1', name: 'Operation Network' },
  { resourceType: 'Location', id: 'l1', name: 'Wilmington', position: { latitude: 39.7391, longitude: -75.5398 }, address: { city: 'Wilmington', state: 'DE', district: 'New Castle' } },
  { resourceType: 'PractitionerRole', id: 'r1', active: true, extension: [{ url: `${PN}network-reference`, valueReference: { reference: 'Organization/net1' } }],
    specialty: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '207Q00000X' }] }], location: [{ reference: 'Location/l1' }] },
];

before(async () => {
  srv = await startTestServer();
  base = srv.base;
  await srv.services.db.withTenant(srv.tenant, async (tx) => {
    for (const r of RESOURCES) await tx.query(`INSERT INTO resources (tenant_id, resource_type, id, version_id, last_updated, content) VALUES ($1, $2, $3, 1, now(), $4)`, [srv.tenant, r.resourceType, r.id, JSON.stringify(r)]);
  });
});
after(async () => { await srv.close(); });

const params = (...p: [string, string][]) => ({ resourceType: 'Parameters', parameter: p.map(([name, v]) => (name === 'network' ? { name, valueReference: { reference: `Organization/${v}` } } : { name, valueString: v })) });

async function start(token: string | undefined, body: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/$network-adequacy`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, location: res.headers.get('content-location'), body: await res.json().catch(() => undefined) };
}

async function poll(url: string, token: string) {
  const progress: string[] = [];
  for (let i = 0; i < 300; i++) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 202) return { status: res.status, body: await res.json(), progress };
    progress.push(res.headers.get('x-progress') ?? '');
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('report did not finish');
}

test('who may run it: anonymous 401, resource scopes 403, system/adequacy.run 202', async () => {
  assert.equal((await start(undefined, params(['network', 'net1'], ['service-area', 'DE']))).status, 401);
  const reader = await clientToken(srv, srv.tenant, ['system/*.read']);
  assert.equal((await start(reader.token, params(['network', 'net1'], ['service-area', 'DE']))).status, 403);
  const regulator = await clientToken(srv, srv.tenant, ['system/adequacy.run']);
  const bad = await start(regulator.token, params(['network', 'net1']));
  assert.equal(bad.status, 400);
  assert.equal((await start(regulator.token, params(['network', 'net1'], ['service-area', 'XX']))).status, 400);
  assert.equal((await start(regulator.token, params(['network', 'net1'], ['service-area', 'DE'], ['type', '999']))).status, 400);
});

test('a report runs as a job: status, signed downloads, requester-only status, audit', async () => {
  const regulator = await clientToken(srv, srv.tenant, ['system/adequacy.run']);
  const k = await start(regulator.token, params(['network', 'net1'], ['service-area', 'DE'], ['type', 'S03,040'], ['as-of', '2026-01-01']));
  assert.equal(k.status, 202);
  assert.match(k.location!, /\/\$network-adequacy-status\/[0-9a-f-]{36}$/);
  const other = await clientToken(srv, srv.tenant, ['system/adequacy.run']);
  assert.equal((await fetch(k.location!, { headers: { authorization: `Bearer ${other.token}` } })).status, 404);
  const done = await poll(k.location!, regulator.token);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.equal(done.body.travelTime, 'not assessed');
  const names = done.body.output.map((o: { name: string }) => o.name);
  for (const n of ['adequacy.csv', 'hsd-provider-table.csv', 'hsd-facility-table.csv', 'map-all-types.svg', 'map-all-types.png', 'report.html', 'summary.json']) assert.ok(names.includes(n), n);
  const csvUrl = done.body.output.find((o: { name: string }) => o.name === 'adequacy.csv').url as string;
  const file = await fetch(csvUrl); // no token: the signed URL is the credential
  assert.equal(file.status, 200);
  const rows = parse(await file.text(), { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 6); // 3 counties x 2 types
  const newCastle = rows.find((r) => r.fips === '10003' && r.cms_type_code === 'S03')!;
  assert.equal(newCastle.within_reach, '1');
  assert.equal((await fetch(csvUrl.replace(/sig=.{4}/, 'sig=AAAA'))).status, 403);
  assert.equal((await fetch(csvUrl.replace('adequacy.csv', 'summary.json'))).status, 403);
  // cancel: files go, later polls and downloads 404
  assert.equal((await fetch(k.location!, { method: 'DELETE', headers: { authorization: `Bearer ${other.token}` } })).status, 404);
  assert.equal((await fetch(k.location!, { method: 'DELETE', headers: { authorization: `Bearer ${regulator.token}` } })).status, 202);
  assert.equal((await fetch(k.location!, { headers: { authorization: `Bearer ${regulator.token}` } })).status, 404);
  assert.equal((await fetch(csvUrl)).status, 404);
  await srv.audit.flush();
  const actions = await srv.services.db.withTenant(srv.tenant, async (tx) => (await tx.query(`SELECT action, actor_kind FROM audit_events WHERE tenant_id = $1 AND action LIKE 'adequacy-%'`, [srv.tenant])).rows);
  const seen = new Set(actions.map((a: { action: string }) => a.action));
  for (const a of ['adequacy-run', 'adequacy-status', 'adequacy-download', 'adequacy-cancel']) assert.ok(seen.has(a), `audit has ${a}: ${[...seen]}`);
});

test('a tenant criteria upload overrides the CMS criteria and the report names it and its year', async () => {
  const admin = await clientToken(srv, srv.tenant, ['system/adequacy.run']);
  const put = (q: string, body: string) => fetch(`${base}/$network-adequacy-dataset/criteria${q}`, { method: 'PUT', headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'text/csv' }, body });
  assert.equal((await put('?name=x', 'ssa_code,cms_type_code,max_minutes,max_miles,min_required\n08000,S03,30,20,1\n')).status, 400); // no year
  assert.equal((await put('?name=x&year=2027', 'ssa_code,cms_type_code\n1,2\n')).status, 400);
  const ok = await put('?name=Delaware%20Medicaid&year=2027', 'ssa_code,cms_type_code,max_minutes,max_miles,min_required\n08000,S03,30,20,1\n08010,S03,30,60,1\n08020,S03,30,20,1\n');
  assert.equal(ok.status, 200);
  const k = await start(admin.token, params(['network', 'net1'], ['service-area', 'DE'], ['type', 'S03'], ['as-of', '2026-01-01']));
  const done = await poll(k.location!, admin.token);
  assert.equal(done.status, 200);
  const summaryUrl = done.body.output.find((o: { name: string }) => o.name === 'summary.json').url as string;
  const summary = await (await fetch(summaryUrl)).json();
  assert.equal(summary.criteriaSet.year, 2027);
  assert.match(summary.criteriaSet.name, /Delaware Medicaid/);
  const csv = parse(await (await fetch(done.body.output.find((o: { name: string }) => o.name === 'adequacy.csv').url)).text(), { columns: true }) as Record<string, string>[];
  assert.equal(csv.find((r) => r.ssa_code === '08010')!.max_miles, '60');
  assert.ok(csv.every((r) => r.criteria_year === '2027' && /Delaware Medicaid/.test(r.criteria_set)));
  const cms = await start(admin.token, params(['network', 'net1'], ['service-area', 'DE'], ['type', 'S03'], ['standards', 'cms-ma-2026']));
  const cmsDone = await poll(cms.location!, admin.token);
  const cmsSummary = await (await fetch(cmsDone.body.output.find((o: { name: string }) => o.name === 'summary.json').url)).json();
  assert.equal(cmsSummary.criteriaSet.year, 2026);
  assert.equal((await fetch(`${base}/$network-adequacy-dataset/criteria`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.token}` } })).status, 200);
});

test('staff API: a staff session with adequacy:run (exporter) runs a report; a viewer may not', async () => {
  const sessions = srv.services.sessions as unknown as { create(t: string, u: { userId: string; roles: string[] }): Promise<{ token: string; session: { csrfToken: string } }> };
  const staff = async (role: string) => {
    const { token, session } = await sessions.create(srv.tenant, { userId: `${role}@plan.example`, roles: [role] });
    return { cookie: `plannet_session=${token}`, 'x-csrf-token': session.csrfToken };
  };
  const post = async (headers: Record<string, string>) => fetch(`${base}/$network-adequacy`, { method: 'POST', headers: { ...headers, 'content-type': 'application/fhir+json' }, body: JSON.stringify(params(['network', 'net1'], ['service-area', 'county:10001'], ['type', 'S03'])) });
  assert.equal((await post(await staff('viewer'))).status, 403);
  const exporter = await staff('exporter');
  const r = await post(exporter);
  assert.equal(r.status, 202);
  const url = r.headers.get('content-location')!;
  for (let i = 0; i < 300; i++) {
    const s = await fetch(url, { headers: exporter });
    if (s.status === 200) { assert.equal((await s.json()).output.length > 0, true); return; }
    assert.equal(s.status, 202);
    await new Promise((res) => setTimeout(res, 500));
  }
  assert.fail('report did not finish');
});
