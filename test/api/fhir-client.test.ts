/**
 * Round trips through fhir-kit-client, a real FHIR client library: create, read, update, vread, search paging,
 * history, delete, and a transaction.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'fhir-kit-client';
import { startTestServer, example, maintenanceToken, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let client: any;
before(async () => {
  srv = await startTestServer();
  // a maintenance client's token, as a real integration would hold (writes need directory:write)
  client = new Client({ baseUrl: srv.base, bearerToken: await maintenanceToken(srv.base) });
});
after(async () => { await srv.close(); });

test('create → read → update → vread → history → delete', async () => {
  const created = await client.create({ resourceType: 'Organization', body: { ...example('Organization-BurrClinic'), id: undefined } });
  assert.equal(created.meta.versionId, '1');
  const read = await client.read({ resourceType: 'Organization', id: created.id });
  assert.equal(read.name, created.name);
  const updated = await client.update({ resourceType: 'Organization', id: created.id, body: { ...read, name: 'Burr Clinic (updated)' } });
  assert.equal(updated.meta.versionId, '2');
  const v1 = await client.vread({ resourceType: 'Organization', id: created.id, version: '1' });
  assert.equal(v1.name, created.name);
  const hist = await client.history({ resourceType: 'Organization', id: created.id });
  assert.equal(hist.entry.length, 2);
  await client.delete({ resourceType: 'Organization', id: created.id });
  await assert.rejects(client.read({ resourceType: 'Organization', id: created.id }), (e: any) => e.response?.status === 410);
});

test('search pages with nextPage until exhausted', async () => {
  for (let i = 0; i < 5; i++) {
    await client.update({ resourceType: 'Endpoint', id: `kit-ep-${i}`, body: { ...example('Endpoint-AcmeOfCTPortalEndpoint'), id: `kit-ep-${i}` } });
  }
  let page = await client.search({ resourceType: 'Endpoint', searchParams: { _count: 2 } });
  const ids: string[] = [];
  for (;;) {
    ids.push(...(page.entry ?? []).map((e: any) => e.resource.id));
    const next = await client.nextPage({ bundle: page });
    if (!next) break;
    page = next;
  }
  assert.deepEqual(ids.sort(), [0, 1, 2, 3, 4].map((i) => `kit-ep-${i}`));
});

test('transaction through the client', async () => {
  const res = await client.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry: [
    { request: { method: 'PUT', url: 'Location/kit-loc' }, resource: { ...example('Location-PharmLoc3'), id: 'kit-loc' } },
  ] } });
  assert.equal(res.type, 'transaction-response');
  assert.equal((await client.read({ resourceType: 'Location', id: 'kit-loc' })).id, 'kit-loc');
});

test('capabilityStatement through the client', async () => {
  const cs = await client.capabilityStatement();
  assert.equal(cs.resourceType, 'CapabilityStatement');
});
