/**
 * Report retention: a finished report expires ADEQUACY_RETENTION_SECONDS after it finished; its status and file URLs
 * then answer 410 (OperationOutcome); the `adequacy-retention` job (scheduled on the job runner) deletes its files
 * from storage and its row, after which they answer 404. Reports not yet expired are left alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { clientToken } from './export-support.ts';
import { jobRunnerOf } from '../../src/jobs/runner.ts';
import { ADEQUACY_RETENTION_KIND, adequacyPrefix } from '../../src/adequacy/job.ts';

const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/';
const RETENTION_S = 3;
let srv: TestServer;
let token: string;

before(async () => {
  srv = await startTestServer({ adequacy: { retentionSeconds: RETENTION_S } });
  const resources = [
    { resourceType: 'Organization', id: 'net1', name: 'Retained Network' },
    { resourceType: 'Location', id: 'l1', name: 'Dover', position: { latitude: 39.1582, longitude: -75.5244 } },
    { resourceType: 'PractitionerRole', id: 'r1', active: true, extension: [{ url: `${PN}network-reference`, valueReference: { reference: 'Organization/net1' } }],
      specialty: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '207Q00000X' }] }], location: [{ reference: 'Location/l1' }] },
  ];
  await srv.services.db.withTenant(srv.tenant, async (tx) => {
    for (const r of resources) await tx.query(`INSERT INTO resources (tenant_id, resource_type, id, version_id, last_updated, content) VALUES ($1, $2, $3, 1, now(), $4)`, [srv.tenant, r.resourceType, r.id, JSON.stringify(r)]);
  });
  token = (await clientToken(srv, srv.tenant, ['system/adequacy.run'])).token;
});
after(async () => { await srv.close(); });

const auth = () => ({ authorization: `Bearer ${token}` });

async function report(): Promise<{ status: string; manifest: any; id: string }> {
  const body = { resourceType: 'Parameters', parameter: [{ name: 'network', valueString: 'net1' }, { name: 'service-area', valueString: 'county:10001' }, { name: 'type', valueCode: 'S03' }, { name: 'as-of', valueDate: '2026-01-01' }] };
  const k = await fetch(`${srv.base}/$network-adequacy`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  assert.equal(k.status, 202);
  const status = k.headers.get('content-location')!;
  for (let i = 0; i < 300; i++) {
    const s = await fetch(status, { headers: auth() });
    if (s.status === 200) return { status, manifest: await s.json(), id: status.slice(-36) };
    assert.equal(s.status, 202);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('report did not finish');
}

const row = async (id: string) => srv.services.db.withTenant(srv.tenant, async (tx) => (await tx.query('SELECT status, expires_at FROM adequacy_jobs WHERE tenant_id = $1 AND job_id = $2', [srv.tenant, id])).rows[0]);
const storedFiles = async (id: string, names: string[]) => (await Promise.all(names.map((n) => jobRunnerOf(srv.services).storage.open(`${adequacyPrefix(srv.tenant, id)}${n}`)))).filter(Boolean).length;

test('the retention job is scheduled on the job runner', async () => {
  // queues are per storage location (other test files' servers have their own)
  const r = await srv.services.db.query(`SELECT name, cron FROM pgboss.schedule WHERE name = $1`, [jobRunnerOf(srv.services).queueName(ADEQUACY_RETENTION_KIND.name)]);
  assert.equal(r.rows.length, 1);
  assert.equal(r.rows[0].cron, ADEQUACY_RETENTION_KIND.cron!(srv.services));
});

test('an expired report answers 410, then the retention job deletes its files and row (404); a fresh one stays', async () => {
  const old = await report();
  const fresh = await report();
  const names = old.manifest.output.map((o: { name: string }) => o.name) as string[];
  const csvUrl = old.manifest.output.find((o: { name: string }) => o.name === 'adequacy.csv').url as string;
  assert.equal((await fetch(csvUrl)).status, 200);
  assert.ok(Date.parse(old.manifest.expires) > Date.now());
  assert.ok(Date.parse(old.manifest.expires) <= Date.now() + RETENTION_S * 1000);
  // the second report is kept longer (as if it had finished later)
  await srv.services.db.withTenant(srv.tenant, (tx) => tx.query(`UPDATE adequacy_jobs SET expires_at = now() + interval '1 hour' WHERE tenant_id = $1 AND job_id = $2`, [srv.tenant, fresh.id]));
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(old.manifest.expires) - Date.now()) + 100));

  const gone = await fetch(old.status, { headers: auth() });
  assert.equal(gone.status, 410);
  assert.match((await gone.json()).issue[0].diagnostics, /expired/);
  const file = await fetch(csvUrl); // the signed URL itself is still within its own lifetime
  assert.equal(file.status, 410);
  assert.equal((await file.json()).resourceType, 'OperationOutcome');
  assert.equal(await storedFiles(old.id, names), names.length);

  // run the scheduled kind now, through the queue, as the cron would
  await jobRunnerOf(srv.services).send(ADEQUACY_RETENTION_KIND.name, {});
  for (let i = 0; i < 150 && (await row(old.id)); i++) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await row(old.id), undefined);
  assert.equal(await storedFiles(old.id, names), 0);
  const after = await fetch(old.status, { headers: auth() });
  assert.equal(after.status, 404);
  assert.equal((await after.json()).resourceType, 'OperationOutcome');
  assert.equal((await fetch(csvUrl)).status, 404);

  assert.equal((await row(fresh.id)).status, 'completed');
  assert.equal(await storedFiles(fresh.id, names), names.length);
  assert.equal((await fetch(fresh.manifest.output[0].url)).status, 200);
});

test('a cancelled report expires at once and is swept', async () => {
  const r = await report();
  assert.equal((await fetch(r.status, { method: 'DELETE', headers: auth() })).status, 202);
  assert.ok((await row(r.id)).expires_at <= new Date());
  await jobRunnerOf(srv.services).send(ADEQUACY_RETENTION_KIND.name, {});
  for (let i = 0; i < 150 && (await row(r.id)); i++) await new Promise((res) => setTimeout(res, 200));
  assert.equal(await row(r.id), undefined);
});
