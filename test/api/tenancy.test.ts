/**
 * Tenant isolation: tenant A can never read, search, update, delete or history tenant B's resources, even by id;
 * two tenants may hold the same id; and row-level security hides rows from a query that forgets its tenant filter.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startTestServer, example, fhir, testDatabaseUrl, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let a: string;
let b: string;
before(async () => {
  srv = await startTestServer();
  a = `${srv.url}/t/${await srv.newTenant('a')}/fhir`;
  b = `${srv.url}/t/${await srv.newTenant('b')}/fhir`;
});
after(async () => { await srv.close(); });

test('the same id in two tenants is two resources that never see each other', async () => {
  const pa = { ...example('Practitioner-JoeSmith'), id: 'shared-id' };
  const pb = { ...pa, name: [{ family: 'OtherTenant', given: ['B'] }] };
  assert.equal((await fhir(`${a}/Practitioner/shared-id`, { method: 'PUT', json: pa })).status, 201);
  assert.equal((await fhir(`${b}/Practitioner/shared-id`, { method: 'PUT', json: pb })).status, 201);
  assert.equal((await fhir(`${a}/Practitioner/shared-id`)).body.name[0].family, pa.name[0].family);
  assert.equal((await fhir(`${b}/Practitioner/shared-id`)).body.name[0].family, 'OtherTenant');
});

test('B cannot read, vread, search, history, update or delete A-only resources', async () => {
  const only = { ...example('Organization-Acme'), id: 'a-only' };
  await fhir(`${a}/Organization/a-only`, { method: 'PUT', json: only });
  assert.equal((await fhir(`${b}/Organization/a-only`)).status, 404);
  assert.equal((await fhir(`${b}/Organization/a-only/_history/1`)).status, 404);
  assert.equal((await fhir(`${b}/Organization/a-only/_history`)).status, 404);
  assert.equal((await fhir(`${b}/Organization?_id=a-only`)).body.entry, undefined);
  assert.equal((await fhir(`${b}/Organization/_history`)).body.entry, undefined);
  assert.equal((await fhir(`${b}/_history`)).body.entry?.some((e: any) => e.resource?.id === 'a-only') ?? false, false);
  // B's delete of that id must not touch A's resource
  await fhir(`${b}/Organization/a-only`, { method: 'DELETE' });
  assert.equal((await fhir(`${a}/Organization/a-only`)).status, 200);
  // B's If-Match update of A's id fails as absent in B, and A keeps version 1
  assert.equal((await fhir(`${b}/Organization/a-only`, { method: 'PUT', json: only, headers: { 'if-match': 'W/"1"' } })).status, 412);
  assert.equal((await fhir(`${a}/Organization/a-only`)).body.meta.versionId, '1');
});

test('a transaction in B cannot reach A through conditional references', async () => {
  await fhir(`${a}/Organization/a-target`, { method: 'PUT', json: { ...example('Organization-Acme'), id: 'a-target' } });
  const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{
    request: { method: 'POST', url: 'Location' },
    resource: { ...example('Location-HospLoc1'), id: undefined, managingOrganization: { reference: 'Organization?_id=a-target' } },
  }] };
  const r = await fhir(b, { method: 'POST', json: bundle });
  assert.equal(r.status, 412, r.text);
});

test('row-level security: an unscoped query on the service connection returns nothing', async () => {
  // The service's own pool, without setting a tenant: RLS must hide every row.
  const { rows } = await srv.services.db.query('SELECT count(*) AS n FROM resources');
  assert.equal(rows[0].n, 0);
  const { rows: hist } = await srv.services.db.query('SELECT count(*) AS n FROM resource_history');
  assert.equal(hist[0].n, 0);
  // Inside tenant A's transaction, an unfiltered query sees only A's rows.
  const tenantA = a.split('/t/')[1].split('/')[0];
  const seen = await srv.services.db.withTenant(tenantA, async (tx) => (await tx.query('SELECT DISTINCT tenant_id FROM resources')).rows.map((r) => r.tenant_id));
  assert.deepEqual(seen, [tenantA]);
  // ...and cannot write a row for another tenant.
  const tenantB = b.split('/t/')[1].split('/')[0];
  await assert.rejects(srv.services.db.withTenant(tenantA, (tx) => tx.query(
    `INSERT INTO resources (tenant_id, resource_type, id, version_id, last_updated, content) VALUES ($1, 'Organization', 'sneaky', 1, now(), '{}')`, [tenantB])),
  /row-level security/);
  // The owner connection does see rows, proving the zero above is RLS and not an empty table.
  const owner = new pg.Client({ connectionString: testDatabaseUrl() });
  await owner.connect();
  try {
    const { rows: all } = await owner.query('SELECT count(*)::int AS n FROM resources');
    assert.ok(all[0].n > 0);
  } finally { await owner.end(); }
});

test('the service role owns no tables and cannot bypass RLS', async () => {
  const { rows } = await srv.services.db.query(`SELECT current_user AS u, r.rolsuper, r.rolbypassrls,
      (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user) AS owned
    FROM pg_roles r WHERE r.rolname = current_user`);
  assert.equal(rows[0].u, 'plannet_app');
  assert.equal(rows[0].rolsuper, false);
  assert.equal(rows[0].rolbypassrls, false);
  assert.equal(rows[0].owned, 0);
});
