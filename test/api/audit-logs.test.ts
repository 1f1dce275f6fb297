/**
 * Logs and audit rows never carry directory content or what an anonymous consumer searched for: a representative
 * workload (creates, a conditional create, an update, reads, searches and a POST _search with names, addresses and
 * NPIs in them, errors with the same content in bodies) runs against a service whose every log line is captured at
 * debug level; then all log output and all of the tenant's audit rows are scanned for that content.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { fhir } from '../helpers/server.ts';
import { startAuditServer, ownerClient, practitioner, type AuditTestServer } from './audit-support.ts';

let srv: AuditTestServer;
let owner: pg.Client;
before(async () => { srv = await startAuditServer({ logLevel: 'debug' }); owner = await ownerClient(); });
after(async () => { await owner.end(); await srv.close(); });

const FAMILY = 'Quillfeather';
const GIVEN = 'Zebulon';
const STREET = '742 Evergreen Terrace';
const CITY = 'Shelbyville';
const NPI = '1098765432';
const NPI2 = '1357924680';
const SENSITIVE = [FAMILY, GIVEN, 'Evergreen', CITY, NPI, NPI2];

test('no names, addresses, NPIs or anonymous query values in any log line or audit row', async () => {
  const auth = await srv.writeAuth();
  const body = practitioner({ family: FAMILY, given: GIVEN, npi: NPI, line: STREET, city: CITY });
  const c = await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: body, headers: { authorization: auth } });
  assert.equal(c.status, 201, c.text);
  const id = c.body.id;
  // conditional create: the criteria (an NPI) travel in a header
  const cc = await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: body, headers: { authorization: auth, 'if-none-exist': `identifier=http://hl7.org/fhir/sid/us-npi|${NPI}` } });
  assert.ok(cc.status === 200 || cc.status === 201, cc.text);
  const up = await fhir(`${srv.base}/Practitioner/${id}`, { method: 'PUT', json: { ...practitioner({ family: FAMILY, given: GIVEN, npi: NPI2, line: `${STREET} Apt 2`, city: CITY }), id }, headers: { authorization: auth } });
  assert.equal(up.status, 200, up.text);

  // anonymous reads and searches, values in the query string
  assert.equal((await fhir(`${srv.base}/Practitioner/${id}`)).status, 200);
  for (const q of [`name=${FAMILY}`, `family=${FAMILY}&given=${GIVEN}`, `identifier=http://hl7.org/fhir/sid/us-npi|${NPI}`,
    `address=${encodeURIComponent(STREET)}`, `address-city=${CITY}`, `${FAMILY}=${GIVEN}`, `_id=${id}&name:contains=${FAMILY.slice(0, 6)}`]) {
    const r = await fhir(`${srv.base}/Practitioner?${q}`);
    assert.ok(r.status === 200 || r.status === 400, `${q}: ${r.status}`);
  }
  const form = await fetch(`${srv.base}/Practitioner/_search`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/fhir+json' },
    body: new URLSearchParams({ family: FAMILY, 'address-city': CITY }).toString(),
  });
  assert.ok(form.status === 200 || form.status === 400);
  await form.text();
  // an authenticated history read and an anonymous refused write carrying the content
  assert.equal((await fhir(`${srv.base}/Practitioner/${id}/_history`, { headers: { authorization: auth } })).status, 200);
  assert.equal((await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: body, anonymous: true })).status, 401);

  // errors with the content in their bodies: malformed JSON, an invalid resource, a failing batch entry
  const bad = await fetch(`${srv.base}/Practitioner`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: auth }, body: `{"resourceType":"Practitioner","name":[{"family":"${FAMILY}"` });
  assert.equal(bad.status, 400);
  await bad.text();
  const invalid = await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: { ...body, gender: `${FAMILY}-gender` }, headers: { authorization: auth } });
  assert.equal(invalid.status, 422);
  const batch = await fhir(srv.base, {
    method: 'POST', headers: { authorization: auth },
    json: { resourceType: 'Bundle', type: 'batch', entry: [
      { resource: { ...body, gender: CITY }, request: { method: 'POST', url: 'Practitioner' } },
      { request: { method: 'GET', url: `Practitioner?name=${FAMILY}` } },
    ] },
  });
  assert.equal(batch.status, 200);
  // another tenant that does not exist, with the content in the query
  await fhir(`${srv.url}/t/no-such-plan/fhir/Practitioner?name=${FAMILY}`);
  await srv.audit.flush();

  // every log line is JSON; request lines carry request id, tenant, route, status and latency
  const lines = srv.logs.map((l) => JSON.parse(l));
  const requestLines = lines.filter((l) => l.res && l.req);
  assert.ok(requestLines.length >= 15, `only ${requestLines.length} request log lines`);
  for (const l of requestLines.filter((x) => x.req.path.startsWith(`/t/${srv.tenant}/`))) {
    assert.ok(l.req.id, 'request id');
    assert.equal(l.tenant, srv.tenant);
    assert.match(l.route, /^[A-Z]+ \/t\/:tenant\//);
    assert.equal(typeof l.res.statusCode, 'number');
    assert.equal(typeof l.responseTime, 'number');
  }
  const logText = srv.logs.join('\n');
  for (const s of SENSITIVE) assert.ok(!logText.toLowerCase().includes(s.toLowerCase()), `"${s}" appears in the logs`);

  const { rows } = await owner.query(`SELECT row_to_json(a)::text AS j FROM audit_events a WHERE tenant_id = ANY($1)`, [[srv.tenant, 'no-such-plan']]);
  assert.ok(rows.length >= 18, `only ${rows.length} audit rows`);
  const auditText = rows.map((r) => r.j).join('\n');
  for (const s of SENSITIVE) assert.ok(!auditText.toLowerCase().includes(s.toLowerCase()), `"${s}" appears in an audit row`);
});
