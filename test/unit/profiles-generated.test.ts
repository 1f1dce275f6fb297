import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASE_SCHEMA_ID, generateProfiles, PROFILE_IDS } from '../../scripts/generate-profiles.ts';

const PROFILES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'profiles');
const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net';

test('profiles/ matches a fresh run of scripts/generate-profiles.ts (run `npm run profiles:generate`)', () => {
  const out = mkdtempSync(join(tmpdir(), 'plannet-profiles-'));
  try {
    const written = generateProfiles(out);
    assert.deepEqual(readdirSync(out).sort(), [...written].sort());
    assert.ok(written.includes('README.md'));
    assert.ok(written.includes('fhir-r4-base.schema.json'));
    for (const id of PROFILE_IDS) assert.ok(written.includes(`${id}.schema.json`), `${id}.schema.json generated`);
    const stale: string[] = [];
    for (const name of written) {
      let committed: string;
      try {
        committed = readFileSync(join(PROFILES_DIR, name), 'utf8');
      } catch {
        stale.push(`${name}: missing from profiles/`);
        continue;
      }
      if (committed !== readFileSync(join(out, name), 'utf8')) stale.push(`${name}: differs from the generator output`);
    }
    // no leftover profile schemas the generator no longer produces
    for (const name of readdirSync(PROFILES_DIR)) {
      if (/^(plannet-.*|fhir-r4-base)\.schema\.json$/.test(name) && !written.includes(name)) stale.push(`${name}: not generated any more`);
    }
    assert.deepEqual(stale, [], 'profiles/ is out of date: run `npm run profiles:generate` and commit the result');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('generated schemas have the expected shape ($id = profile canonical, allOf [base ref, constraints])', () => {
  assert.equal(PROFILE_IDS.length, 9);
  const base = JSON.parse(readFileSync(join(PROFILES_DIR, 'fhir-r4-base.schema.json'), 'utf8'));
  assert.equal(base.$id, BASE_SCHEMA_ID);
  assert.equal(base.$schema, 'http://json-schema.org/draft-07/schema#');
  for (const t of ['Endpoint', 'HealthcareService', 'InsurancePlan', 'Location', 'Organization', 'OrganizationAffiliation', 'Practitioner', 'PractitionerRole']) {
    assert.ok(base.definitions[t], `base has ${t}`);
  }
  assert.equal(base.definitions.Patient, undefined, 'unreachable definitions are pruned');
  assert.equal(base.definitions.ResourceList.oneOf, undefined, 'no oneOf over all resource types');
  assert.equal(JSON.stringify(base).includes('"oneOf"'), false);
  for (const id of PROFILE_IDS) {
    const text = readFileSync(join(PROFILES_DIR, `${id}.schema.json`), 'utf8');
    assert.ok(text.endsWith('}\n'));
    const s = JSON.parse(text);
    assert.equal(s.$id, `${PN}/StructureDefinition/${id}`);
    assert.equal(s.allOf.length, 2);
    const type = id === 'plannet-Network' ? 'Organization' : id.slice('plannet-'.length);
    assert.equal(s.allOf[0].$ref, `${BASE_SCHEMA_ID}#/definitions/${type}`);
  }
  const network = JSON.parse(readFileSync(join(PROFILES_DIR, 'plannet-Network.schema.json'), 'utf8'));
  assert.deepEqual(network.allOf[1].required, ['type', 'partOf']);
  assert.equal(network.allOf[1].properties.telecom, false);
  assert.deepEqual(network.$defs['vs-NetworkTypeVS-CodeableConcept'].properties.coding.contains.properties.code, { enum: ['ntwk'] });
});
