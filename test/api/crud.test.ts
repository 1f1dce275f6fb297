/**
 * Every instance interaction against the real service and PostgreSQL: read, vread, create, conditional create,
 * update, update-as-create, delete (410 afterwards, history kept), history, ETag / If-Match, Location, metadata.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, example, fhir, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.close(); });

describe('create, read, vread', () => {
  test('POST creates with a server id, version 1, Location, ETag and Last-Modified', async () => {
    const body = example('Practitioner-JoeSmith');
    const r = await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: { ...body, id: 'ignored-client-id', meta: { versionId: '99', lastUpdated: '2001-01-01T00:00:00Z' } } });
    assert.equal(r.status, 201, r.text);
    assert.notEqual(r.body.id, 'ignored-client-id');
    assert.equal(r.body.meta.versionId, '1');
    assert.notEqual(r.body.meta.lastUpdated, '2001-01-01T00:00:00Z');
    assert.ok(Date.now() - Date.parse(r.body.meta.lastUpdated) < 60_000);
    assert.equal(r.headers.get('etag'), 'W/"1"');
    assert.equal(r.headers.get('location'), `${srv.base}/Practitioner/${r.body.id}/_history/1`);
    assert.ok(r.headers.get('last-modified'));
    assert.match(r.headers.get('content-type') ?? '', /application\/fhir\+json/);

    const read = await fhir(`${srv.base}/Practitioner/${r.body.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, r.body);
    assert.equal(read.headers.get('etag'), 'W/"1"');
    const vread = await fhir(`${srv.base}/Practitioner/${r.body.id}/_history/1`);
    assert.equal(vread.status, 200);
    assert.deepEqual(vread.body, r.body);
  });

  test('unknown id is 404 with an OperationOutcome; unknown version is 404', async () => {
    const r = await fhir(`${srv.base}/Practitioner/nope`);
    assert.equal(r.status, 404);
    assert.equal(r.body.resourceType, 'OperationOutcome');
    const created = await fhir(`${srv.base}/Location`, { method: 'POST', json: example('Location-HospLoc1') });
    assert.equal((await fhir(`${srv.base}/Location/${created.body.id}/_history/7`)).status, 404);
    assert.equal((await fhir(`${srv.base}/Location/${created.body.id}/_history/x`)).status, 404);
  });

  test('Prefer: return=minimal answers with headers only', async () => {
    const r = await fhir(`${srv.base}/Organization`, { method: 'POST', json: example('Organization-Acme'), headers: { prefer: 'return=minimal' } });
    assert.equal(r.status, 201);
    assert.equal(r.text, '');
    assert.match(r.headers.get('location') ?? '', /\/Organization\/[^/]+\/_history\/1$/);
  });
});

describe('update', () => {
  test('PUT to a new id creates it (update-as-create) with the client id, then updates bump the version', async () => {
    const org = { ...example('Organization-BurrClinic'), id: 'burr.clinic-1' };
    const c = await fhir(`${srv.base}/Organization/burr.clinic-1`, { method: 'PUT', json: org });
    assert.equal(c.status, 201, c.text);
    assert.equal(c.body.id, 'burr.clinic-1');
    assert.equal(c.body.meta.versionId, '1');
    const u = await fhir(`${srv.base}/Organization/burr.clinic-1`, { method: 'PUT', json: { ...org, name: 'Burr Clinic Renamed' } });
    assert.equal(u.status, 200);
    assert.equal(u.body.meta.versionId, '2');
    assert.equal(u.headers.get('etag'), 'W/"2"');
    assert.equal((await fhir(`${srv.base}/Organization/burr.clinic-1`)).body.name, 'Burr Clinic Renamed');
    assert.equal((await fhir(`${srv.base}/Organization/burr.clinic-1/_history/1`)).body.name, org.name);
  });

  test('If-Match: a stale version is 412 and changes nothing; the right one wins', async () => {
    const loc = { ...example('Location-HospLoc2'), id: 'ifmatch-loc' };
    await fhir(`${srv.base}/Location/ifmatch-loc`, { method: 'PUT', json: loc });
    await fhir(`${srv.base}/Location/ifmatch-loc`, { method: 'PUT', json: { ...loc, name: 'v2' } });
    const stale = await fhir(`${srv.base}/Location/ifmatch-loc`, { method: 'PUT', json: { ...loc, name: 'stale' }, headers: { 'if-match': 'W/"1"' } });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.resourceType, 'OperationOutcome');
    assert.equal((await fhir(`${srv.base}/Location/ifmatch-loc`)).body.name, 'v2');
    const ok = await fhir(`${srv.base}/Location/ifmatch-loc`, { method: 'PUT', json: { ...loc, name: 'v3' }, headers: { 'if-match': 'W/"2"' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.meta.versionId, '3');
    const garbage = await fhir(`${srv.base}/Location/ifmatch-loc`, { method: 'PUT', json: loc, headers: { 'if-match': 'banana' } });
    assert.equal(garbage.status, 400);
  });

  test('two concurrent updates with the same If-Match: exactly one wins', async () => {
    const ep = { ...example('Endpoint-AcmeOfCTPortalEndpoint'), id: 'race-ep' };
    await fhir(`${srv.base}/Endpoint/race-ep`, { method: 'PUT', json: ep });
    for (let round = 0; round < 5; round++) {
      const current = (await fhir(`${srv.base}/Endpoint/race-ep`)).body.meta.versionId;
      const attempts = await Promise.all([0, 1, 2, 3].map((i) => fhir(`${srv.base}/Endpoint/race-ep`, {
        method: 'PUT', json: { ...ep, name: `writer ${i}` }, headers: { 'if-match': `W/"${current}"` },
      })));
      const statuses = attempts.map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, 412, 412, 412], `round ${round}: ${statuses}`);
      const after = await fhir(`${srv.base}/Endpoint/race-ep`);
      assert.equal(after.body.meta.versionId, String(Number(current) + 1));
    }
  });

  test('id in the body must match the URL, and must be present', async () => {
    const org = example('Organization-Hospital');
    const mismatch = await fhir(`${srv.base}/Organization/other-id`, { method: 'PUT', json: org });
    assert.equal(mismatch.status, 400);
    assert.match(JSON.stringify(mismatch.body), /does not match/);
    const { id: _omit, ...noId } = org;
    assert.equal((await fhir(`${srv.base}/Organization/x1`, { method: 'PUT', json: noId })).status, 400);
    assert.equal((await fhir(`${srv.base}/Organization/x1`)).status, 404, 'nothing stored');
  });
});

describe('delete', () => {
  test('soft delete: later reads are 410, history keeps every version, and it can be re-created', async () => {
    const p = { ...example('Practitioner-HansSolo'), id: 'to-delete' };
    await fhir(`${srv.base}/Practitioner/to-delete`, { method: 'PUT', json: p });
    const d = await fhir(`${srv.base}/Practitioner/to-delete`, { method: 'DELETE' });
    assert.equal(d.status, 204);
    const gone = await fhir(`${srv.base}/Practitioner/to-delete`);
    assert.equal(gone.status, 410);
    assert.equal(gone.body.resourceType, 'OperationOutcome');
    assert.equal((await fhir(`${srv.base}/Practitioner/to-delete/_history/1`)).status, 200);
    assert.equal((await fhir(`${srv.base}/Practitioner/to-delete/_history/2`)).status, 410);
    const hist = await fhir(`${srv.base}/Practitioner/to-delete/_history`);
    assert.equal(hist.body.type, 'history');
    assert.deepEqual(hist.body.entry.map((e: any) => e.request.method), ['DELETE', 'POST']);
    assert.equal((await fhir(`${srv.base}/Practitioner?_id=to-delete`)).body.entry, undefined, 'deleted resources never match a search');
    assert.equal((await fhir(`${srv.base}/Practitioner/to-delete`, { method: 'DELETE' })).status, 204, 'deleting again is a no-op');
    const again = await fhir(`${srv.base}/Practitioner/to-delete`, { method: 'PUT', json: p });
    assert.equal(again.status, 201);
    assert.equal(again.body.meta.versionId, '3');
  });

  test('delete with a stale If-Match is 412', async () => {
    const p = { ...example('Practitioner-HansSolo'), id: 'del-ifmatch' };
    await fhir(`${srv.base}/Practitioner/del-ifmatch`, { method: 'PUT', json: p });
    assert.equal((await fhir(`${srv.base}/Practitioner/del-ifmatch`, { method: 'DELETE', headers: { 'if-match': 'W/"5"' } })).status, 412);
    assert.equal((await fhir(`${srv.base}/Practitioner/del-ifmatch`)).status, 200);
  });
});

describe('conditional create (If-None-Exist)', () => {
  test('creates once; a second identical request returns the existing resource', async () => {
    const tenant = await srv.newTenant('cond');
    const base = `${srv.url}/t/${tenant}/fhir`;
    const ep = example('Endpoint-AcmeOfCTPortalEndpoint');
    const first = await fhir(`${base}/Endpoint`, { method: 'POST', json: ep, headers: { 'if-none-exist': '_id=nomatch' } });
    assert.equal(first.status, 201);
    const again = await fhir(`${base}/Endpoint`, { method: 'POST', json: ep, headers: { 'if-none-exist': `_id=${first.body.id}` } });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    const all = await fhir(`${base}/Endpoint?_summary=count`);
    assert.equal(all.body.total, 1);
  });

  test('concurrent conditional creates with the same criteria make one resource', async () => {
    const tenant = await srv.newTenant('cond2');
    const base = `${srv.url}/t/${tenant}/fhir`;
    const loc = example('Location-PharmLoc1');
    const ids = new Set<string>();
    // criteria that match nothing until the first one commits: _lastUpdated in the future never matches, so use _id of a PUT-created sentinel
    const rs = await Promise.all([0, 1, 2, 3].map(() => fhir(`${base}/Location`, { method: 'POST', json: loc, headers: { 'if-none-exist': '_lastUpdated=ge2000-01-01' } })));
    for (const r of rs) { assert.ok([200, 201].includes(r.status), r.text); ids.add(r.body.id); }
    assert.equal(rs.filter((r) => r.status === 201).length, 1);
    assert.equal(ids.size, 1);
  });
});

describe('history', () => {
  test('type and system history page newest first with next links and no duplicates', async () => {
    const tenant = await srv.newTenant('hist');
    const base = `${srv.url}/t/${tenant}/fhir`;
    const org = example('Organization-Acme');
    for (let i = 0; i < 7; i++) await fhir(`${base}/Organization/h${i}`, { method: 'PUT', json: { ...org, id: `h${i}` } });
    await fhir(`${base}/Organization/h0`, { method: 'PUT', json: { ...org, id: 'h0', name: 'second version' } });
    const seen: string[] = [];
    let url: string | undefined = `${base}/Organization/_history?_count=3`;
    while (url) {
      const page = await fhir(url);
      assert.equal(page.status, 200);
      assert.equal(page.body.type, 'history');
      for (const e of page.body.entry ?? []) seen.push(`${e.resource.id}@${e.resource.meta.versionId}`);
      url = page.body.link.find((l: any) => l.relation === 'next')?.url;
    }
    assert.equal(seen.length, 8);
    assert.equal(new Set(seen).size, 8);
    assert.equal(seen[0], 'h0@2');
    const sys = await fhir(`${base}/_history?_count=100`);
    assert.equal(sys.body.entry.length, 8);
    const since = await fhir(`${base}/_history?_since=2999-01-01`);
    assert.equal(since.body.entry, undefined);
    assert.equal((await fhir(`${base}/Organization/missing/_history`)).status, 404);
  });
});

describe('metadata', () => {
  test('CapabilityStatement instantiates Plan-Net and lists the 8 types with their profiles', async () => {
    const r = await fhir(`${srv.base}/metadata`);
    assert.equal(r.status, 200);
    assert.equal(r.body.resourceType, 'CapabilityStatement');
    assert.equal(r.body.fhirVersion, '4.0.1');
    assert.ok(r.body.instantiates.includes('http://hl7.org/fhir/us/davinci-pdex-plan-net/CapabilityStatement/plan-net'));
    const types = r.body.rest[0].resource.map((x: any) => x.type).sort();
    assert.deepEqual(types, ['Endpoint', 'HealthcareService', 'InsurancePlan', 'Location', 'Organization', 'OrganizationAffiliation', 'Practitioner', 'PractitionerRole']);
    const org = r.body.rest[0].resource.find((x: any) => x.type === 'Organization');
    assert.ok(org.supportedProfile.includes('http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/plannet-Network'));
    assert.ok(org.supportedProfile.includes('http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/plannet-Organization'));
    for (const res of r.body.rest[0].resource) {
      const names = res.searchParam.map((p: any) => p.name);
      assert.ok(names.includes('_id') && names.includes('_lastUpdated'), res.type);
    }
  });
});
