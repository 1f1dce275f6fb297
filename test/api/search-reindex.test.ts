/**
 * "Adding a SearchParameter file and running a reindex is enough": a new definition (Practitioner gender) in a
 * copy of profiles/search-parameters/, `npm run reindex -- --tenant <id> --parameters <copy>`, and the parameter
 * answers searches over data stored before it existed, while every existing parameter keeps working.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, example, fhir, testDatabaseUrl, type TestServer } from '../helpers/server.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { createSearchEngine } from '../../src/search/index.ts';
import { SEARCH_PARAMETERS_DIR } from '../../src/search/registry/registry.ts';

let srv: TestServer;
let dir: string;
before(async () => {
  srv = await startTestServer();
  for (const [id, gender] of [['f1', 'female'], ['m1', 'male'], ['f2', 'female']]) {
    const r = await fhir(`${srv.base}/Practitioner/${id}`, { method: 'PUT', json: { ...example('Practitioner-HansSolo'), id, gender } });
    assert.ok([200, 201].includes(r.status), r.text);
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-'));
  for (const f of fs.readdirSync(SEARCH_PARAMETERS_DIR)) fs.copyFileSync(path.join(SEARCH_PARAMETERS_DIR, f), path.join(dir, f));
});
after(async () => { await srv.close(); fs.rmSync(dir, { recursive: true, force: true }); });

test('a new SearchParameter file plus reindex makes the parameter searchable', async () => {
  assert.equal((await fhir(`${srv.base}/Practitioner?gender=female`, { headers: { prefer: 'handling=strict' } })).status, 400, 'unknown before');
  fs.writeFileSync(path.join(dir, 'local-gender.json'), JSON.stringify({
    resourceType: 'SearchParameter', id: 'individual-gender', url: 'http://hl7.org/fhir/SearchParameter/individual-gender', name: 'gender', status: 'active',
    description: 'Gender of the practitioner', code: 'gender', base: ['Practitioner'], type: 'token', expression: 'Practitioner.gender',
  }));
  const out = execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'src', 'search', 'cli', 'reindex.ts'), '--tenant', srv.tenant, '--parameters', dir],
    { env: { ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: dir, LOG_LEVEL: 'silent' }, encoding: 'utf8' });
  assert.match(out, new RegExp(`${srv.tenant}: reindexed 3 resources`));
  const engine = createSearchEngine(dir);
  const ids = (q: [string, string][]) => srv.database.db.withTenant(srv.tenant, async (tx) => {
    const r = JSON.parse((await engine.search(tx, 'Practitioner', q, { baseUrl: srv.base, strict: true, defaultCount: 20, maxCount: 100 })).json);
    return (r.entry ?? []).map((e: any) => e.resource.id).sort();
  });
  assert.deepEqual(await ids([['gender', 'female']]), ['f1', 'f2']);
  assert.deepEqual(await ids([['gender:not', 'female']]), ['m1']);
  assert.ok(engine.supportedParams('Practitioner').some((p) => p.name === 'gender' && p.definition === 'http://hl7.org/fhir/SearchParameter/individual-gender'));
  // the existing parameters were rebuilt too, and the running service (old definitions) still answers
  assert.deepEqual(await ids([['family', 'solo']]), ['f1', 'f2', 'm1']);
  const viaHttp = await fhir(`${srv.base}/Practitioner?family=solo`);
  assert.equal(viaHttp.body.entry.length, 3);
});

test('the CLI explains its usage', () => {
  const r = (() => { try { execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'src', 'search', 'cli', 'reindex.ts'), '--bogus'], { encoding: 'utf8', stdio: 'pipe' }); return ''; } catch (e) { return String((e as { stderr: string }).stderr); } })();
  assert.match(r, /Usage: npm run reindex/);
});
