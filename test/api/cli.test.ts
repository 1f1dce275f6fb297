/**
 * The operator CLIs as an operator runs them: npm scripts in a child process, against the test database.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, example, fhir, testDatabaseUrl, EXAMPLES_DIR, type TestServer } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
let srv: TestServer;
let tmp: string;
before(async () => { srv = await startTestServer(); tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-')); });
after(async () => { await srv.close(); fs.rmSync(tmp, { recursive: true, force: true }); });

function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'src', 'cli', `${script}.ts`), ...args], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: tmp, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('tenant create and list; duplicates and bad ids fail clearly', () => {
  const id = `cli-${Date.now().toString(36)}`;
  const c = run('tenant', ['create', id]);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, new RegExp(`/t/${id}/fhir`));
  const again = run('tenant', ['create', id]);
  assert.equal(again.code, 1);
  assert.match(again.err, /already exists/);
  const bad = run('tenant', ['create', 'Bad_Id']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /Invalid tenant id/);
  const list = run('tenant', ['list']);
  assert.equal(list.code, 0);
  assert.match(list.out, new RegExp(`^${id}\\t`, 'm'));
  assert.equal(run('tenant', []).code, 2);
  const help = run('tenant', ['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage/);
});

test('load: the IG examples folder, then a mixed file whose rejects do not stop the rest', async () => {
  const tenant = await srv.newTenant('load');
  const ok = run('load', ['--tenant', tenant, EXAMPLES_DIR]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /Loaded 49 resources from 49 files; rejected 0/);
  assert.equal((await fhir(`${srv.url}/t/${tenant}/fhir/PractitionerRole/HansSoloRole1`)).status, 200);

  const nd = path.join(tmp, 'mixed.ndjson');
  const good = { ...example('Organization-Acme'), id: 'nd-good' };
  const invalid = { ...example('Practitioner-JoeSmith'), id: 'nd-bad', gender: 5 };
  const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { ...example('Location-HospLoc1'), id: 'nd-loc' } }] };
  fs.writeFileSync(nd, [JSON.stringify(good), '{not json', JSON.stringify(invalid), JSON.stringify({ resourceType: 'Patient', id: 'p1' }), JSON.stringify(bundle), ''].join('\n'));
  const mixed = run('load', ['--tenant', tenant, nd]);
  assert.equal(mixed.code, 1, 'rejections give exit code 1');
  assert.match(mixed.out, /Loaded 2 resources from 1 file; rejected 3/);
  assert.match(mixed.out, /rejected Practitioner\/nd-bad at .*mixed\.ndjson:3: Practitioner\.gender/);
  assert.match(mixed.out, /mixed\.ndjson:2: not JSON/);
  assert.match(mixed.out, /Patient is not a Plan-Net type/);
  assert.equal((await fhir(`${srv.url}/t/${tenant}/fhir/Organization/nd-good`)).status, 200);
  assert.equal((await fhir(`${srv.url}/t/${tenant}/fhir/Location/nd-loc`)).status, 200);
  assert.equal((await fhir(`${srv.url}/t/${tenant}/fhir/Practitioner/nd-bad`)).status, 404);
});

test('load: usage errors and unknown tenants', () => {
  assert.equal(run('load', []).code, 2);
  assert.equal(run('load', ['--tenant', 'x']).code, 2);
  const missing = run('load', ['--tenant', 'no-such-tenant', EXAMPLES_DIR]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /does not exist.*tenant -- create/);
  const nofile = run('load', ['--tenant', 'x', '/nonexistent/file.json']);
  assert.equal(nofile.code, 1);
  assert.match(nofile.err, /No such file/);
});

test('seed: a synthetic directory loads straight into a tenant, every reference resolving', async () => {
  const tenant = await srv.newTenant('seed');
  const r = run('seed', ['--tenant', tenant, '--practitioners', '40', '--seed', '3']);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /Loaded \d+ resources; rejected 0/);
  const roles = await fhir(`${srv.url}/t/${tenant}/fhir/PractitionerRole?_count=5`);
  assert.ok(roles.body.entry.length > 0);
  for (const e of roles.body.entry) {
    const ref = e.resource.practitioner.reference as string;
    assert.equal((await fhir(`${srv.url}/t/${tenant}/fhir/${ref}`)).status, 200, ref);
  }
  assert.equal(run('seed', ['--practitioners', '5']).code, 2, 'neither --tenant nor --out is a usage error');
});
