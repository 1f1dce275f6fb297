/**
 * Review: GET [base]/AuditEvent (FHIR R4 AuditEvent view) with search by date, agent, entity, action, outcome and
 * keyset paging, and the CSV export — for `audit:read` only: anonymous 401, clients and non-auditor staff 403,
 * auditors (and admins) 200. Staff identities come through the service's session hook (see audit-support.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { fhir } from '../helpers/server.ts';
import { startAuditServer, ownerClient, rowsFor, practitioner, staffCookie, uniqueId, type AuditTestServer } from './audit-support.ts';

let srv: AuditTestServer;
let owner: pg.Client;
const auditor = { cookie: staffCookie('alice-auditor', ['auditor']) };
let created: string;
let startedAt: string;

before(async () => {
  srv = await startAuditServer();
  owner = await ownerClient();
  startedAt = new Date(Date.now() - 1000).toISOString();
  const c = await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: practitioner({ family: 'Review', given: 'R', npi: '1234567893' }), headers: { authorization: await srv.writeAuth(), 'x-request-id': 'review-create' } });
  created = c.body.id;
  for (let i = 0; i < 12; i++) await fhir(`${srv.base}/Practitioner/${created}`, { headers: { 'x-request-id': `review-read-${i}` } });
  await fhir(`${srv.base}/Practitioner/nope`, { headers: { 'x-request-id': 'review-404' } });
  await srv.audit.flush();
});
after(async () => { await owner.end(); await srv.close(); });

const get = (q: string, headers: Record<string, string> = auditor) => fhir(`${srv.base}/AuditEvent${q}`, { headers });

test('only audit:read may review: anonymous 401, a client 403, an editor 403, another tenant\'s auditor 403, an auditor 200', async () => {
  const anon = await get('', {});
  assert.equal(anon.status, 401);
  assert.equal(anon.body.resourceType, 'OperationOutcome');
  assert.equal(anon.body.issue[0].code, 'login');
  assert.equal((await get('/$export-csv', {})).status, 401);
  assert.equal((await get('/1', {})).status, 401);
  assert.equal((await get('', { authorization: await srv.writeAuth() })).status, 403);
  assert.equal((await get('', { cookie: staffCookie('ed', ['editor']) })).status, 403);
  assert.equal((await get('', { cookie: staffCookie('mallory', ['auditor'], 'some-other-tenant') })).status, 403);
  const ok = await get('');
  assert.equal(ok.status, 200);
  assert.equal(ok.body.resourceType, 'Bundle');
  assert.equal((await get('', { cookie: staffCookie('root', ['admin']) })).status, 200);
  // POST and friends: the trail is read-only
  assert.equal((await fhir(`${srv.base}/AuditEvent`, { method: 'POST', json: { resourceType: 'AuditEvent' }, headers: auditor })).status, 405);
});

test('the AuditEvent view of a row', async () => {
  const [row] = await rowsFor(owner, srv.tenant, 'review-create');
  const r = await get(`/${row.seq}`);
  assert.equal(r.status, 200);
  const e = r.body;
  assert.equal(e.resourceType, 'AuditEvent');
  assert.equal(e.id, String(row.seq));
  assert.equal(e.action, 'C');
  assert.equal(e.outcome, '0');
  assert.deepEqual(e.subtype, [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'create' }]);
  assert.equal(e.agent[0].who.identifier.value, srv.clientId());
  assert.equal(e.agent[0].requestor, true);
  assert.deepEqual(e.entity[0].what, { reference: `Practitioner/${created}` });
  assert.equal(e.source.site, srv.tenant);
  const ext = Object.fromEntries(e.extension.map((x: any) => [x.url.split('audit-')[1], x.valueString ?? x.valueInteger ?? x.valueDecimal ?? x.valueCode ?? x]));
  assert.equal(ext['request-id'], 'review-create');
  assert.equal(ext['http-status'], 201);
  assert.equal((await get('/999999999')).status, 404);
});

test('search by entity, agent, action, outcome, subtype, date; keyset paging walks every match once', async () => {
  await srv.audit.flush();
  const byEntity = await get(`?entity=Practitioner/${created}&_count=100`);
  assert.equal(byEntity.body.entry.length, 13, 'the create and 12 reads');
  assert.equal((await get(`?entity=${created}&_count=100`)).body.entry.length, 13);
  const byAgent = await get(`?agent=${srv.clientId()}`);
  assert.ok(byAgent.body.entry.every((x: any) => x.resource.agent[0].who.identifier.value === srv.clientId()));
  assert.ok(byAgent.body.entry.length >= 1);
  assert.deepEqual((await get('?action=C&entity-type=Practitioner&_count=100')).body.entry.map((x: any) => x.resource.action), ['C']);
  assert.equal((await get('?action=C&entity-type=AuditEvent')).body.entry[0].resource.outcomeDesc, 'HTTP 405', 'the refused POST to AuditEvent is on record too');
  const failures = await get('?outcome=4&entity-type=Practitioner');
  assert.equal(failures.body.entry.length, 1);
  assert.equal(failures.body.entry[0].resource.outcomeDesc, 'HTTP 404');
  assert.equal((await get('?subtype=read&outcome=0&_count=100')).body.entry.length, 12);
  assert.equal((await get(`?date=ge${startedAt}&entity-type=Practitioner&action=R&_count=100`)).body.entry.length, 13, '12 reads + the 404');
  assert.equal((await get('?date=lt2000-01-01')).body.entry?.length ?? 0, 0);
  assert.equal((await get('?agent-type=anonymous&outcome=0&subtype=read&_count=100')).body.entry.length, 12);

  // paging: 5 at a time, newest first, no duplicates, no gaps
  const seen: number[] = [];
  let url: string | undefined = `${srv.base}/AuditEvent?subtype=read&outcome=0&_count=5`;
  let pages = 0;
  while (url) {
    const page = await fhir(url, { headers: auditor });
    assert.equal(page.status, 200);
    seen.push(...(page.body.entry ?? []).map((x: any) => Number(x.resource.id)));
    url = page.body.link.find((l: any) => l.relation === 'next')?.url;
    pages++;
  }
  assert.equal(pages, 3);
  assert.equal(seen.length, 12);
  assert.deepEqual(seen, [...seen].sort((a, b) => b - a));
  assert.equal(new Set(seen).size, 12);

  const bad = await get('?unknown-param=1');
  assert.equal(bad.status, 400);
  assert.equal((await get('?outcome=3')).status, 400);
  assert.equal((await get('?_cursor=garbage')).status, 400);
});

test('CSV export ($export-csv and _format=csv), formula-safe cells; reviewing is itself audited', async () => {
  // a row whose user agent would be a spreadsheet formula
  await fhir(`${srv.base}/metadata`, { headers: { 'user-agent': '=HYPERLINK("http://evil")', authorization: await srv.writeAuth(), 'x-request-id': 'csv-ua' } });
  await srv.audit.flush();
  const exportId = uniqueId('export');
  const res = await fetch(`${srv.base}/AuditEvent/$export-csv?entity=Practitioner/${created}`, { headers: { ...auditor, 'x-request-id': exportId } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/csv/);
  assert.match(res.headers.get('content-disposition')!, /attachment; filename="audit-/);
  const lines = (await res.text()).trim().split('\r\n');
  assert.equal(lines[0].split(',')[0], 'seq');
  assert.equal(lines.length, 1 + 13);

  const alias = await fetch(`${srv.base}/AuditEvent?_format=csv&request-id=csv-ua`, { headers: auditor });
  const csv = await alias.text();
  assert.match(alias.headers.get('content-type')!, /^text\/csv/);
  assert.equal(csv.trim().split('\r\n').length, 2);
  assert.match(csv, /"'=HYPERLINK\(""http:\/\/evil""\)"/);

  await srv.audit.flush();
  const [row] = await rowsFor(owner, srv.tenant, exportId);
  assert.equal(row.action, 'audit-export');
  assert.equal(row.actor_kind, 'staff');
  assert.equal(row.actor_id, 'alice-auditor');
  assert.deepEqual(row.actor_roles, ['auditor']);
  assert.equal(row.result_count, 13);
  assert.deepEqual(row.search_params, ['entity']);
  assert.equal(row.query, `entity=Practitioner/${created}`);
});
