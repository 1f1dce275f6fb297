/**
 * `_include` / `_revinclude` over the IG examples: every include and revinclude the Plan-Net CapabilityStatement
 * lists, checked against the references fhirpath finds in the stored examples; `:iterate`, `*`, the row cap, and
 * `search.mode = include`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { startTestServer, example, fhir, EXAMPLES_DIR, type TestServer } from '../helpers/server.ts';
import { loadIncludes } from '../../src/search/sql/include.ts';
import { SearchParamRegistry } from '../../src/search/registry/registry.ts';
import { parseSearch } from '../../src/search/parse/query.ts';

let srv: TestServer;
let base: string;
const all: any[] = [];
const sps = JSON.parse(fs.readFileSync(new URL('../../profiles/search-parameters/plan-net-search-parameters.json', import.meta.url), 'utf8')).entry.map((e: any) => e.resource);
const cs = JSON.parse(fs.readFileSync(new URL('../../profiles/plan-net-capability-statement.json', import.meta.url), 'utf8')).rest[0].resource;

before(async () => {
  srv = await startTestServer();
  base = srv.base;
  for (const f of fs.readdirSync(EXAMPLES_DIR).filter((n) => n.endsWith('.json')).sort()) {
    const r = example(f.slice(0, -5));
    all.push(r);
    assert.ok([200, 201].includes((await fhir(`${base}/${r.resourceType}/${r.id}`, { method: 'PUT', json: r })).status));
  }
});
after(async () => { await srv.close(); });

/** `Type/id` of the resources `resource` references through search parameter `code`, per fhirpath. */
function referenced(resource: any, code: string): string[] {
  const sp = sps.find((s: any) => s.code === code && s.base.includes(resource.resourceType));
  const nodes = fhirpath.evaluate(resource, sp.expression, undefined, r4 as any) as any[];
  const refs = nodes.map((n) => n.reference ?? n.valueReference?.reference).filter(Boolean) as string[];
  return [...new Set(refs)].filter((ref) => all.some((r) => `${r.resourceType}/${r.id}` === ref)).sort();
}

async function entries(query: string): Promise<{ match: string[]; include: string[] }> {
  const r = await fhir(`${base}/${query}`);
  assert.equal(r.status, 200, `${query}: ${r.text}`);
  const by = (mode: string) => (r.body.entry ?? []).filter((e: any) => e.search.mode === mode).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`).sort();
  for (const e of r.body.entry ?? []) if (e.search.mode !== 'outcome') assert.equal(e.fullUrl, `${base}/${e.resource.resourceType}/${e.resource.id}`);
  return { match: by('match'), include: by('include') };
}

test('every _include of the CapabilityStatement returns exactly the referenced resources', async () => {
  let checked = 0;
  for (const res of cs) {
    for (const inc of res.searchInclude ?? []) {
      const code = inc.split(':')[1];
      for (const r of all.filter((x) => x.resourceType === res.type)) {
        const want = referenced(r, code);
        const got = await entries(`${res.type}?_id=${r.id}&_include=${inc}`);
        assert.deepEqual(got.match, [`${res.type}/${r.id}`]);
        assert.deepEqual(got.include, want.filter((w) => w !== `${res.type}/${r.id}`), `${res.type}/${r.id} _include=${inc}`);
        if (want.length) checked++;
      }
    }
  }
  assert.ok(checked >= 20, `only ${checked} includes had something to include`);
});

test('every _revinclude of the CapabilityStatement returns exactly the referencing resources', async () => {
  let checked = 0;
  for (const res of cs) {
    for (const rev of res.searchRevInclude ?? []) {
      const [srcType, code] = rev.split(':');
      for (const target of all.filter((x) => x.resourceType === res.type)) {
        const want = all.filter((s) => s.resourceType === srcType && referenced(s, code).includes(`${res.type}/${target.id}`)).map((s) => `${s.resourceType}/${s.id}`).sort();
        const got = await entries(`${res.type}?_id=${target.id}&_revinclude=${rev}`);
        assert.deepEqual(got.include, want, `${res.type}/${target.id} _revinclude=${rev}`);
        if (want.length) checked++;
      }
    }
  }
  assert.ok(checked >= 15, `only ${checked} revincludes had something to include`);
});

test('Plan-Net combination: specialty + location + _include=PractitionerRole:practitioner', async () => {
  const got = await entries(`PractitionerRole?specialty=${encodeURIComponent('http://nucc.org/provider-taxonomy|207R00000X')}&location=Location/HospLoc1&_include=PractitionerRole:practitioner`);
  assert.deepEqual(got, { match: ['PractitionerRole/JoeSmithRole1'], include: ['Practitioner/JoeSmith'] });
});

test('several includes together, de-duplicated, and never repeating a match', async () => {
  const got = await entries('PractitionerRole?network=Organization/AcmeofCTStdNet&_include=PractitionerRole:network&_include=PractitionerRole:location&_count=100');
  assert.equal(got.match.length, 6);
  assert.deepEqual(got.include, ['Location/HansSoloClinic', 'Location/HospLoc1', 'Location/HospLoc2', 'Organization/AcmeofCTStdNet']);
  const self = await entries('Organization?_id=Hospital,HamiltonClinic&_include=Organization:partof');
  assert.deepEqual(self, { match: ['Organization/HamiltonClinic', 'Organization/Hospital'], include: [] }, 'Hospital is a match, not also an include');
});

test('targeted include (Type:param:Target) and wildcard includes', async () => {
  assert.deepEqual((await entries('PractitionerRole?_id=JoeSmithRole1&_include=PractitionerRole:organization:Organization')).include, ['Organization/Hospital']);
  assert.deepEqual((await entries('PractitionerRole?_id=JoeSmithRole1&_include=PractitionerRole:organization:Location')).include, []);
  const star = await entries('PractitionerRole?_id=JoeSmithRole1&_include=*');
  assert.deepEqual(star.include, ['HealthcareService/HospERService', 'Location/HospLoc1', 'Organization/AcmeofCTStdNet', 'Organization/Hospital', 'Practitioner/JoeSmith']);
  assert.deepEqual((await entries('PractitionerRole?_id=JoeSmithRole1&_include=PractitionerRole:*')).include, star.include);
  const rev = await entries('Location?_id=HospLoc1&_revinclude=*');
  assert.ok(rev.include.includes('PractitionerRole/JoeSmithRole1') && rev.include.includes('HealthcareService/HospERService') && rev.include.includes('OrganizationAffiliation/HamiltonClinicAffil'));
});

test(':iterate follows included resources; without it, only the matches', async () => {
  const plain = await entries('PractitionerRole?_id=JoeSmithRole1&_include=PractitionerRole:location&_include=Location:organization');
  assert.deepEqual(plain.include, ['Location/HospLoc1'], 'Location:organization does not apply to PractitionerRole matches');
  const it = await entries('PractitionerRole?_id=JoeSmithRole1&_include=PractitionerRole:location&_include:iterate=Location:organization');
  assert.deepEqual(it.include, ['Location/HospLoc1', 'Organization/Hospital']);
  const deep = await entries('Practitioner?_id=JoeSmith&_revinclude=PractitionerRole:practitioner&_include:iterate=PractitionerRole:location&_include:iterate=Location:organization');
  assert.deepEqual(deep.include, ['Location/HospLoc1', 'Organization/Hospital', 'PractitionerRole/JoeSmithRole1']);
  const revIt = await entries('Organization?_id=Acme&_revinclude:iterate=Organization:partof&_revinclude:iterate=PractitionerRole:network');
  assert.ok(revIt.include.includes('Organization/AcmeofCTStdNet') && revIt.include.includes('PractitionerRole/HansSoloRole1'));
});

test('malformed and unknown includes', async () => {
  assert.equal((await fhir(`${base}/PractitionerRole?_include=practitioner`)).status, 400);
  assert.equal((await fhir(`${base}/PractitionerRole?_include=PractitionerRole:specialty`)).status, 400, 'not a reference parameter');
  assert.equal((await fhir(`${base}/PractitionerRole?_include:deep=PractitionerRole:location`)).status, 400);
  const unknown = await fhir(`${base}/PractitionerRole?_id=JoeSmithRole1&_include=PractitionerRole:nope`);
  assert.equal(unknown.status, 200);
  assert.ok(unknown.body.entry.some((e: any) => e.search.mode === 'outcome'));
  assert.equal((await fhir(`${base}/PractitionerRole?_include=PractitionerRole:nope`, { headers: { prefer: 'handling=strict' } })).status, 400);
});

test('included rows are capped per page', async () => {
  const registry = new SearchParamRegistry();
  const req = parseSearch(registry, 'PractitionerRole', [['_include', 'PractitionerRole:*']], { baseUrl: base, defaultCount: 20, maxCount: 100 });
  const r = await srv.database.db.withTenant(srv.tenant, async (tx) => {
    const { rows } = await tx.query(`SELECT rid, id, content FROM resources WHERE tenant_id = $1 AND resource_type = 'PractitionerRole' AND id = 'JoeSmithRole1'`, [srv.tenant]);
    const matches = rows.map((x) => ({ rid: Number(x.rid), type: 'PractitionerRole', id: x.id, content: x.content }));
    return loadIncludes(tx, registry, req.includes, [], matches, 2);
  });
  assert.equal(r.included.length, 2);
  assert.equal(r.truncated, true);
});
