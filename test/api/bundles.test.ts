/**
 * Batch and transaction Bundles: transactions are all-or-nothing with urn:uuid references rewritten; batches commit
 * entry by entry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, example, fhir, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.close(); });

const strip = (r: any) => { const { id: _id, meta: _meta, text: _text, ...rest } = r; return rest; };

test('transaction: creates with urn:uuid references rewritten to the new ids', async () => {
  const base = `${srv.url}/t/${await srv.newTenant('tx')}/fhir`;
  const orgUrn = 'urn:uuid:0d6f0c0e-1111-4a4a-9999-000000000001';
  const locUrn = 'urn:uuid:0d6f0c0e-1111-4a4a-9999-000000000002';
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { fullUrl: locUrn, request: { method: 'POST', url: 'Location' }, resource: { ...strip(example('Location-HospLoc1')), managingOrganization: { reference: orgUrn } } },
      { fullUrl: orgUrn, request: { method: 'POST', url: 'Organization' }, resource: strip(example('Organization-Hospital')) },
      { request: { method: 'PUT', url: 'Practitioner/tx-prac' }, resource: { ...example('Practitioner-JoeSmith'), id: 'tx-prac' } },
      { request: { method: 'GET', url: 'Practitioner/tx-prac' } },
    ],
  };
  const r = await fhir(base, { method: 'POST', json: bundle });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.type, 'transaction-response');
  assert.deepEqual(r.body.entry.map((e: any) => e.response.status.slice(0, 3)), ['201', '201', '201', '200']);
  const locId = r.body.entry[0].response.location.split('/Location/')[1].split('/')[0];
  const orgId = r.body.entry[1].response.location.split('/Organization/')[1].split('/')[0];
  const loc = await fhir(`${base}/Location/${locId}`);
  assert.equal(loc.body.managingOrganization.reference, `Organization/${orgId}`);
  assert.equal((await fhir(`${base}/Organization/${orgId}`)).status, 200);
  assert.equal(r.body.entry[3].resource.id, 'tx-prac', 'GET entries see the transaction\'s writes');
});

test('transaction: one invalid entry fails the whole Bundle and nothing is stored', async () => {
  const base = `${srv.url}/t/${await srv.newTenant('txfail')}/fhir`;
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { request: { method: 'PUT', url: 'Organization/keep-out-1' }, resource: { ...example('Organization-Acme'), id: 'keep-out-1' } },
      { request: { method: 'POST', url: 'Practitioner' }, resource: { ...strip(example('Practitioner-JoeSmith')), gender: 17 } },
    ],
  };
  const r = await fhir(base, { method: 'POST', json: bundle });
  assert.equal(r.status, 422, r.text);
  assert.match(JSON.stringify(r.body), /Bundle\.entry\[1\]/);
  assert.equal((await fhir(`${base}/Organization/keep-out-1`)).status, 404);
  assert.equal((await fhir(`${base}/_history`)).body.entry, undefined);
});

test('transaction: a failing If-Match rolls back writes already made in the same transaction', async () => {
  const base = `${srv.url}/t/${await srv.newTenant('txroll')}/fhir`;
  await fhir(`${base}/Organization/existing`, { method: 'PUT', json: { ...example('Organization-Acme'), id: 'existing' } });
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { request: { method: 'POST', url: 'Location' }, resource: strip(example('Location-HospLoc2')) },
      { request: { method: 'PUT', url: 'Organization/existing', ifMatch: 'W/"9"' }, resource: { ...example('Organization-Acme'), id: 'existing', name: 'changed' } },
    ],
  };
  const r = await fhir(base, { method: 'POST', json: bundle });
  assert.equal(r.status, 412, r.text);
  assert.equal((await fhir(`${base}/Location?_summary=count`)).body.total, 0);
  const org = await fhir(`${base}/Organization/existing`);
  assert.equal(org.body.meta.versionId, '1');
  assert.notEqual(org.body.name, 'changed');
});

test('transaction: DELETE entries and conditional create (ifNoneExist)', async () => {
  const base = `${srv.url}/t/${await srv.newTenant('txdel')}/fhir`;
  await fhir(`${base}/Endpoint/old`, { method: 'PUT', json: { ...example('Endpoint-AcmeOfCTPortalEndpoint'), id: 'old' } });
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { request: { method: 'DELETE', url: 'Endpoint/old' } },
      { fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001', request: { method: 'POST', url: 'Endpoint', ifNoneExist: '_id=old' }, resource: strip(example('Endpoint-AcmeOfCTPortalEndpoint')) },
    ],
  };
  const r = await fhir(base, { method: 'POST', json: bundle });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.entry[0].response.status, '204');
  assert.equal((await fhir(`${base}/Endpoint/old`)).status, 410);
});

test('batch: entries succeed or fail independently', async () => {
  const base = `${srv.url}/t/${await srv.newTenant('batch')}/fhir`;
  const bundle = {
    resourceType: 'Bundle', type: 'batch',
    entry: [
      { request: { method: 'PUT', url: 'Organization/b1' }, resource: { ...example('Organization-Acme'), id: 'b1' } },
      { request: { method: 'POST', url: 'Practitioner' }, resource: { ...strip(example('Practitioner-JoeSmith')), gender: 17 } },
      { request: { method: 'GET', url: 'Organization/b1' } },
      { request: { method: 'GET', url: 'Organization/missing' } },
    ],
  };
  const r = await fhir(base, { method: 'POST', json: bundle });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.type, 'batch-response');
  assert.deepEqual(r.body.entry.map((e: any) => e.response.status), ['201', '422', '200', '404']);
  assert.equal(r.body.entry[1].response.outcome.resourceType, 'OperationOutcome');
  assert.equal((await fhir(`${base}/Organization/b1`)).status, 200);
});

test('bad Bundles are 400s', async () => {
  assert.equal((await fhir(srv.base, { method: 'POST', json: example('Organization-Acme') })).status, 400);
  assert.equal((await fhir(srv.base, { method: 'POST', json: { resourceType: 'Bundle', type: 'collection' } })).status, 400);
  const noUrl = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST' }, resource: example('Organization-Acme') }] };
  assert.equal((await fhir(srv.base, { method: 'POST', json: noUrl })).status, 400);
  const patch = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'PATCH', url: 'Organization/x' } }] };
  assert.equal((await fhir(srv.base, { method: 'POST', json: patch })).status, 405);
});

test('transaction: two writes to one resource make two versions, both in history', async () => {
  const base = `${srv.url}/t/${await srv.newTenant('txtwice')}/fhir`;
  const org = { ...example('Organization-Acme'), id: 'twice' };
  const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [
    { request: { method: 'PUT', url: 'Organization/twice' }, resource: org },
    { request: { method: 'PUT', url: 'Organization/twice' }, resource: { ...org, name: 'second' } },
  ] };
  const r = await fhir(base, { method: 'POST', json: bundle });
  assert.equal(r.status, 200, r.text);
  const current = await fhir(`${base}/Organization/twice`);
  assert.equal(current.body.meta.versionId, '2');
  assert.equal(current.body.name, 'second');
  assert.equal((await fhir(`${base}/Organization/twice/_history/1`)).body.name, org.name);
  const hist = await fhir(`${base}/Organization/twice/_history`);
  assert.deepEqual(hist.body.entry.map((e: any) => e.resource.meta.versionId), ['2', '1']);
});
