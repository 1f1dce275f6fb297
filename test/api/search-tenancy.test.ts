/**
 * Tenant isolation in search: plain parameters, :contains and near (which run in SECURITY DEFINER functions), chains,
 * `_has`, includes and revincludes never see another tenant's resources, even when ids and references coincide.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, example, fhir, type TestServer } from '../helpers/server.ts';
import { INDEX_TABLES } from '../../src/search/index/indexer.ts';

let srv: TestServer;
let a: string; // holds the IG resources
let b: string; // references A's ids, and reuses one of them
let tenantB: string;

async function put(base: string, r: any) {
  const res = await fhir(`${base}/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
  assert.ok([200, 201].includes(res.status), res.text);
}
async function ids(base: string, q: string): Promise<string[]> {
  const r = await fhir(`${base}/${q}`);
  assert.equal(r.status, 200, r.text);
  return (r.body.entry ?? []).filter((e: any) => e.search.mode !== 'outcome').map((e: any) => `${e.search.mode}:${e.resource.resourceType}/${e.resource.id}`).sort();
}

before(async () => {
  srv = await startTestServer();
  a = srv.base;
  tenantB = await srv.newTenant('iso');
  b = `${srv.url}/t/${tenantB}/fhir`;
  for (const n of ['Practitioner-HansSolo', 'Location-HospLoc1', 'Organization-Hospital', 'Organization-AcmeofCTStdNet', 'PractitionerRole-HansSoloRole1', 'PractitionerRole-JoeSmithRole1']) await put(a, example(n));
  // B: a role pointing at A's HansSolo / HospLoc1 / Hospital ids, which B does not hold
  await put(b, { ...example('PractitionerRole-JoeSmithRole1'), id: 'BRole', practitioner: { reference: 'Practitioner/HansSolo' }, location: [{ reference: 'Location/HospLoc1' }], specialty: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '207RC0000X' }] }] });
  // B: its own Location with A's id for a different Location... and a different city
  await put(b, { ...example('Location-PharmLoc4'), id: 'OtherLoc', address: { city: 'Elsewhere', state: 'NY' }, position: { latitude: 15, longitude: 3 } });
});
after(async () => { await srv.close(); });

test('plain, :contains and near searches see only their tenant', async () => {
  assert.deepEqual(await ids(b, 'Practitioner?name=solo'), []);
  assert.deepEqual(await ids(b, 'Location?address-city:contains=nytow'), []);
  assert.deepEqual(await ids(a, 'Location?address-city:contains=nytow'), ['match:Location/HospLoc1']);
  assert.deepEqual(await ids(b, 'Location?near=15|3|1|km'), ['match:Location/OtherLoc']);
  assert.deepEqual(await ids(a, 'Location?near=15|3|1|km'), ['match:Location/HospLoc1']);
  assert.deepEqual(await ids(b, 'PractitionerRole?practitioner=Practitioner/HansSolo'), ['match:PractitionerRole/BRole'], 'a reference is searchable by id even if unresolved');
});

test('chains and _has never cross tenants', async () => {
  assert.deepEqual(await ids(b, 'PractitionerRole?practitioner.name=solo'), []);
  assert.deepEqual(await ids(b, 'PractitionerRole?location.address-city=anytown'), []);
  assert.deepEqual(await ids(a, 'PractitionerRole?location.address-city=anytown'), ['match:PractitionerRole/JoeSmithRole1']);
  assert.deepEqual(await ids(a, 'Practitioner?_has:PractitionerRole:practitioner:specialty=207RC0000X'), [], "B's role has that specialty, not A's");
  assert.deepEqual(await ids(b, 'Practitioner?_has:PractitionerRole:practitioner:specialty=207RC0000X'), [], 'B has no Practitioner');
  assert.deepEqual(await ids(a, 'Practitioner?_has:PractitionerRole:practitioner:specialty=207R00000X'), ['match:Practitioner/HansSolo']);
});

test('includes and revincludes never cross tenants', async () => {
  assert.deepEqual(await ids(b, 'PractitionerRole?_id=BRole&_include=PractitionerRole:practitioner&_include=PractitionerRole:location&_include=PractitionerRole:organization'), ['match:PractitionerRole/BRole']);
  assert.deepEqual(await ids(a, 'Practitioner?_id=HansSolo&_revinclude=PractitionerRole:practitioner'), ['include:PractitionerRole/HansSoloRole1', 'match:Practitioner/HansSolo']);
  assert.deepEqual(await ids(a, 'Location?_id=HospLoc1&_revinclude=*'), ['include:PractitionerRole/JoeSmithRole1', 'match:Location/HospLoc1']);
  // once B creates the target, B's reference resolves to B's resource, never A's
  await put(b, { ...example('Practitioner-JoeSmith'), id: 'HansSolo', name: [{ family: 'Bsolo', given: ['B'] }] });
  assert.deepEqual(await ids(b, 'PractitionerRole?_id=BRole&_include=PractitionerRole:practitioner'), ['include:Practitioner/HansSolo', 'match:PractitionerRole/BRole']);
  const inc = await fhir(`${b}/PractitionerRole?_id=BRole&_include=PractitionerRole:practitioner`);
  assert.equal(inc.body.entry.find((e: any) => e.search.mode === 'include').resource.name[0].family, 'Bsolo');
  assert.deepEqual(await ids(b, 'PractitionerRole?practitioner.name=bsolo'), ['match:PractitionerRole/BRole']);
  assert.deepEqual(await ids(a, 'PractitionerRole?practitioner.name=bsolo'), []);
});

test('row-level security hides other tenants\' index rows from the service role', async () => {
  await srv.database.db.withTenant(tenantB, async (tx) => {
    for (const t of INDEX_TABLES) {
      const { rows } = await tx.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE tenant_id <> $1)::int AS foreign FROM ${t}`, [tenantB]);
      assert.equal(rows[0].foreign, 0, t);
    }
    const { rows } = await tx.query('SELECT count(*)::int AS n FROM search_string_contains(0, $1, true)', ['%']);
    assert.equal(rows[0].n, 0);
  });
});
