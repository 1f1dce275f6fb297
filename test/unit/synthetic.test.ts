/**
 * Synthetic Plan-Net directory generator (src/seeds/synthetic): determinism, referential integrity, ids, sizing,
 * NPIs, geography, terminology coverage for network adequacy, profile validity, constant memory and speed.
 *   node --test test/unit/synthetic.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Resource } from '@medplum/fhirtypes';
import {
  BED_COUNT_EXTENSION_URL,
  directoryLayout,
  estimateResourceCount,
  generateDirectory,
  HSD_TYPE_SYSTEM,
  npiCheckDigit,
} from '../../src/seeds/synthetic/generator.ts';
import { US_PLACES } from '../../src/seeds/synthetic/us-places.ts';
import { PRACTITIONER_SPECIALTIES } from '../../src/seeds/synthetic/specialties.ts';
import { syntheticNdjsonLines } from '../../src/cli/seed.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED_PLAN_NET = process.env.PLANNET_SHARED_DIR ?? resolve(REPO_ROOT, 'profiles', 'source', 'plan-net');
const SHARED_ADEQUACY = resolve(REPO_ROOT, 'seeds', 'adequacy');
const NODE = process.execPath;
const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net';
const NUCC = 'http://nucc.org/provider-taxonomy';

type Json = { resourceType: string; id?: string; [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

function collect(practitioners: number, seed?: number): Json[] {
  return [...generateDirectory({ practitioners, seed })] as Json[];
}

function streamHash(practitioners: number, seed?: number, idPrefix?: string): string {
  const h = createHash('sha256');
  for (const line of syntheticNdjsonLines({ practitioners, seed, idPrefix })) h.update(line + '\n');
  return h.digest('hex');
}

/** Every `reference` string anywhere in a resource. */
function referencesOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const x of node) referencesOf(x, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesOf(v, out);
    }
  }
  return out;
}

/** Independent Luhn check of an NPI (prefix 80840, as ISO 7812 prescribes for US health identifiers). */
function luhnValidNpi(npi: string): boolean {
  if (!/^[12]\d{9}$/.test(npi)) return false;
  const s = `80840${npi}`;
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    let d = Number(s[s.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function countByType(resources: Json[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of resources) out[r.resourceType] = (out[r.resourceType] ?? 0) + 1;
  return out;
}

const isNetwork = (r: Json): boolean => r.resourceType === 'Organization' && r.meta?.profile?.[0] === `${PN}/StructureDefinition/plannet-Network`;
const isPayer = (r: Json): boolean => r.resourceType === 'Organization' && r.type?.[0]?.coding?.[0]?.code === 'payer';

const small = collect(300);
const thousand = collect(1000);

test('same options give a byte-identical stream; seed and idPrefix change it', () => {
  const a = streamHash(1000);
  assert.equal(streamHash(1000), a);
  assert.equal(streamHash(1000, 1, 'syn'), a, 'defaults are seed 1 and prefix syn');
  assert.notEqual(streamHash(1000, 2), a);
  const prefixed = [...generateDirectory({ practitioners: 20, idPrefix: 't1.a' })] as Json[];
  assert.ok(prefixed.every((r) => r.id!.startsWith('t1.a-')));
});

test('determinism does not depend on time zone or locale (separate process, CLI --out -)', () => {
  const out = execFileSync(NODE, [join(REPO_ROOT, 'src/cli/seed.ts'), '--practitioners', '250', '--seed', '7', '--out', '-'], {
    env: { ...process.env, TZ: 'Pacific/Chatham', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(createHash('sha256').update(out).digest('hex'), streamHash(250, 7));
});

test('every reference is relative and resolves within the generated set', () => {
  const ids = new Set(small.map((r) => `${r.resourceType}/${r.id}`));
  let n = 0;
  for (const r of small) {
    for (const ref of referencesOf(r)) {
      n++;
      assert.match(ref, /^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/, `relative reference in ${r.resourceType}/${r.id}: ${ref}`);
      assert.ok(ids.has(ref), `${r.resourceType}/${r.id} references ${ref}, which is not in the set`);
    }
  }
  assert.ok(n > 3000, `checked ${n} references`);
  // Network references point at networks; network partOf points at the payer.
  const networks = new Set(small.filter(isNetwork).map((r) => `Organization/${r.id}`));
  for (const r of small) {
    if (r.resourceType === 'PractitionerRole') {
      const nets = r.extension.filter((e: Json) => e.url === `${PN}/StructureDefinition/network-reference`);
      assert.equal(nets.length, 1, 'exactly one network-reference per role');
      assert.ok(networks.has(nets[0].valueReference.reference));
    }
    if (r.resourceType === 'OrganizationAffiliation') for (const n of r.network) assert.ok(networks.has(n.reference));
    if (isNetwork(r)) assert.ok(small.some((p) => isPayer(p) && `Organization/${p.id}` === r.partOf.reference));
  }
});

test('ids are valid FHIR ids and unique per type; one role per practitioner × organisation × network', () => {
  for (const resources of [small, thousand]) {
    const seen = new Set<string>();
    for (const r of resources) {
      assert.match(r.id!, /^[A-Za-z0-9\-.]{1,64}$/);
      const key = `${r.resourceType}/${r.id}`;
      assert.ok(!seen.has(key), `duplicate ${key}`);
      seen.add(key);
    }
    const combos = new Set<string>();
    for (const r of resources) {
      if (r.resourceType !== 'PractitionerRole') continue;
      const net = r.extension.find((e: Json) => e.url.endsWith('/network-reference')).valueReference.reference;
      const key = `${r.practitioner.reference}|${r.organization.reference}|${net}`;
      assert.ok(!combos.has(key), `duplicate role ${key}`);
      combos.add(key);
    }
  }
});

test('sizes and proportions are those of a health-plan directory', () => {
  const c = countByType(thousand);
  const total = thousand.length;
  assert.equal(estimateResourceCount({ practitioners: 1000 }), total, 'estimate is exact');
  assert.equal(estimateResourceCount({ practitioners: 300 }), small.length);
  assert.ok(total >= 3000 && total <= 4000, `--practitioners 1000 gives ${total} resources`);
  assert.equal(c.Practitioner, 1000);
  const rolesPer = c.PractitionerRole / c.Practitioner;
  assert.ok(rolesPer >= 1.2 && rolesPer <= 1.45, `roles per practitioner ${rolesPer}`);
  const networks = thousand.filter(isNetwork).length;
  assert.ok(networks >= 3 && networks <= 5, `${networks} networks`);
  assert.ok(c.InsurancePlan >= 2);
  const providerOrgs = thousand.filter((r) => r.resourceType === 'Organization' && !isNetwork(r) && !isPayer(r));
  assert.ok(providerOrgs.length >= 80 && providerOrgs.length <= 120, `${providerOrgs.length} provider organisations`);
  assert.equal(providerOrgs.length, directoryLayout({ practitioners: 1000 }).organizations);
  // 1–3 locations per provider organisation (ids embed the organisation index)
  const perOrg = new Map<string, number>();
  for (const r of thousand) {
    if (r.resourceType !== 'Location' || !r.managingOrganization) continue;
    perOrg.set(r.managingOrganization.reference, (perOrg.get(r.managingOrganization.reference) ?? 0) + 1);
  }
  assert.equal(perOrg.size, providerOrgs.length, 'every provider organisation has a location');
  for (const [org, n] of perOrg) assert.ok(n >= 1 && n <= 3, `${org} has ${n} locations`);
  const endpoints = new Set(thousand.filter((r) => r.resourceType === 'Endpoint').map((r) => r.managingOrganization.reference));
  assert.ok(endpoints.size > 5 && endpoints.size < providerOrgs.length, 'endpoints for a fraction of organisations');
  const hcsOrgs = new Set(thousand.filter((r) => r.resourceType === 'HealthcareService').map((r) => r.providedBy.reference));
  for (const o of providerOrgs) {
    if (o.type[0].coding[0].code === 'fac') assert.ok(hcsOrgs.has(`Organization/${o.id}`), `facility ${o.id} has a HealthcareService`);
  }
  // Tiny and large directories still have the basic shape.
  assert.ok(estimateResourceCount({ practitioners: 0 }) > 100);
  assert.equal(directoryLayout({ practitioners: 200_000 }).networks, 5);
});

test('records are active; a small share of roles has ended (terminated participation)', () => {
  let ended = 0;
  let roles = 0;
  for (const r of thousand) {
    if ('active' in r) assert.equal(r.active, true, `${r.resourceType}/${r.id} active`);
    if (r.resourceType === 'Location' || r.resourceType === 'Endpoint' || r.resourceType === 'InsurancePlan') assert.equal(r.status, 'active');
    if (r.resourceType === 'PractitionerRole') {
      roles++;
      assert.ok(r.period?.start);
      if (r.period.end !== undefined) {
        assert.ok(r.period.end > r.period.start, `${r.id} period ends after it starts`);
        if (r.period.end < '2025-07-01') ended++;
      }
    }
  }
  assert.ok(ended / roles > 0.01 && ended / roles < 0.1, `${ended} of ${roles} roles ended`);
});

test('NPIs are 10 digits with a valid Luhn check digit and unique', () => {
  assert.equal(npiCheckDigit('123456789'), 3, 'CMS worked example: 123456789 → 1234567893');
  const seen = new Set<string>();
  let n = 0;
  for (const r of thousand) {
    for (const id of r.identifier ?? []) {
      if (id.system !== 'http://hl7.org/fhir/sid/us-npi') continue;
      n++;
      assert.ok(luhnValidNpi(id.value), `${r.resourceType}/${r.id} NPI ${id.value}`);
      assert.ok(!seen.has(id.value), `duplicate NPI ${id.value}`);
      seen.add(id.value);
    }
  }
  assert.ok(n >= 1100, `${n} NPIs checked`);
  for (const r of thousand) if (r.resourceType === 'Practitioner') assert.ok(r.identifier.some((i: Json) => i.system === 'http://hl7.org/fhir/sid/us-npi'));
});

test('locations are real US places: coordinates inside the US, city/state/ZIP/county from the place table', () => {
  const inside = (lat: number, lon: number): boolean =>
    (lat >= 24.3 && lat <= 49.5 && lon >= -125 && lon <= -66.8) || // contiguous US
    (lat >= 51 && lat <= 71.6 && lon >= -180 && lon <= -129.9) || // Alaska
    (lat >= 18.8 && lat <= 22.4 && lon >= -160.4 && lon <= -154.7); // Hawaii
  const places = new Map(US_PLACES.map((p) => [`${p.city}|${p.state}|${p.zip}`, p]));
  for (const p of US_PLACES) assert.ok(inside(p.lat, p.lon), `${p.city}, ${p.state} lies inside the US boxes`);
  let n = 0;
  for (const r of thousand) {
    if (r.resourceType !== 'Location' || !r.position) continue;
    n++;
    const { latitude: lat, longitude: lon } = r.position;
    assert.ok(inside(lat, lon), `${r.id} at ${lat},${lon}`);
    const place = places.get(`${r.address.city}|${r.address.state}|${r.address.postalCode}`);
    assert.ok(place, `${r.id}: ${r.address.city}, ${r.address.state} ${r.address.postalCode} is a known place`);
    assert.equal(r.address.district, place.county);
    assert.ok(Math.abs(lat - place.lat) < 0.1 && Math.abs(lon - place.lon) < 0.15, `${r.id} is near ${place.city} (${lat},${lon})`);
  }
  assert.equal(n, thousand.filter((r) => r.resourceType === 'Location' && r.managingOrganization).length, 'every provider location has a position');
  assert.ok(n > 150);
  // Every state has a region Location (InsurancePlan/Network coverage area).
  const states = thousand.filter((r) => r.resourceType === 'Location' && !r.position).map((r) => r.address.state);
  assert.equal(new Set(states).size, 51);
});

test('place table FIPS codes match the CMS county list', () => {
  const counties = new Map<string, string>();
  for (const line of readFileSync(join(SHARED_ADEQUACY, 'county-designations.csv'), 'utf8').split('\n').slice(1)) {
    const f = line.split(',');
    if (f.length > 3) counties.set(f[0], f[2]);
  }
  for (const p of US_PLACES) assert.equal(counties.get(p.countyFips), p.state, `${p.city}, ${p.state}: FIPS ${p.countyFips}`);
});

test('specialties cover every CMS HSD type, from the crosswalk and the Plan-Net value sets', () => {
  const roleCodes = new Set<string>();
  for (const r of small) if (r.resourceType === 'PractitionerRole') roleCodes.add(r.specialty[0].coding[0].code);
  const hsd = new Set<string>();
  for (const s of PRACTITIONER_SPECIALTIES) if (roleCodes.has(s.code)) for (const c of s.cms) hsd.add(c);
  const beds: number[] = [];
  for (const r of small) {
    if (r.resourceType !== 'HealthcareService') continue;
    for (const ch of r.characteristic ?? []) for (const c of ch.coding) if (c.system === HSD_TYPE_SYSTEM) hsd.add(c.code);
    const bed = (r.extension ?? []).find((e: Json) => e.url === BED_COUNT_EXTENSION_URL);
    if (bed) {
      assert.ok(Number.isInteger(bed.valueInteger) && bed.valueInteger > 0);
      assert.equal(r.location.length, 1, 'an inpatient service is at one location');
      beds.push(bed.valueInteger);
    }
  }
  const expected = ['001', '002', '003', '004', '005', '006', '007', '008', '010', '011', '012', '013', '014', '015', '016', '017', '018', '019', '020', '021', '022', '023', '025', '026', '027', '028', '029', '030', '031', '033', '034', '035', '036', '037', '040', '041', '042', '043', '045', '046', '047', '048', '049', '050', '051', '052', '057', '068'];
  assert.deepEqual([...hsd].filter((c) => expected.includes(c)).sort(), expected, 'all 48 HSD types present in a 300-practitioner directory');
  assert.ok(beds.length >= 3, 'hospitals, SNFs and psychiatric hospitals report staffed beds');

  const csvPath = join(SHARED_ADEQUACY, 'cms-specialty-to-nucc.csv');
  assert.ok(existsSync(csvPath), `${csvPath} is part of the repo`);
  {
    const crosswalk = new Set<string>();
    for (const line of readFileSync(csvPath, 'utf8').split('\n').slice(1)) {
      const m = /^(\d{3}),(?:"[^"]*"|[^,]*),[^,]*,([0-9A-Z]{10}),/.exec(line);
      if (m) crosswalk.add(m[2]);
    }
    for (const code of roleCodes) assert.ok(crosswalk.has(code), `role specialty ${code} is in the CMS crosswalk`);
    for (const s of PRACTITIONER_SPECIALTIES) assert.ok(crosswalk.has(s.code), `${s.code} in crosswalk`);
  }
  const vsPath = join(SHARED_PLAN_NET, 'value-sets-1.2.0.json');
  assert.ok(existsSync(vsPath), `${vsPath} is part of the repo`);
  {
    const vs = JSON.parse(readFileSync(vsPath, 'utf8')).valueSets as Record<string, { codes: { code: string }[] }>;
    const individual = new Set(vs[`${PN}/ValueSet/IndividualAndGroupSpecialtiesVS`].codes.map((c) => c.code));
    const all = new Set(vs[`${PN}/ValueSet/SpecialtiesVS`].codes.map((c) => c.code));
    for (const code of roleCodes) assert.ok(individual.has(code), `${code} in IndividualAndGroupSpecialtiesVS`);
    for (const r of small) {
      if (r.resourceType !== 'HealthcareService' && r.resourceType !== 'OrganizationAffiliation') continue;
      for (const s of r.specialty ?? []) for (const c of s.coding) if (c.system === NUCC) assert.ok(all.has(c.code), `${r.id} specialty ${c.code} in SpecialtiesVS`);
    }
  }
});

const validatorPath = join(REPO_ROOT, 'src/validation/validator.ts');
test('every resource of a 300-practitioner directory validates against its Plan-Net profile', async () => {
  const { createValidator } = (await import(validatorPath)) as typeof import('../../src/validation/validator.ts');
  const validator = createValidator();
  const errors: string[] = [];
  let warnings = 0;
  for (const r of small) {
    for (const issue of validator.validate(r as Resource)) {
      if (issue.severity === 'error') errors.push(`${r.resourceType}/${r.id} ${issue.expression}: ${issue.diagnostics}`);
      else warnings++;
    }
  }
  assert.deepEqual(errors.slice(0, 20), [], `${errors.length} errors`);
  assert.equal(warnings, 0, 'no warnings either');
});

test('bad options are rejected', () => {
  assert.throws(() => generateDirectory({ practitioners: -1 }).next(), RangeError);
  assert.throws(() => generateDirectory({ practitioners: 1.5 }).next(), RangeError);
  assert.throws(() => generateDirectory({ practitioners: 10, idPrefix: 'bad/prefix' }).next(), RangeError);
  assert.throws(() => estimateResourceCount({ practitioners: 10, seed: Number.NaN }), RangeError);
});

test('streams 200,000 practitioners in constant memory', (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  let n = 0;
  let mid = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (const r of generateDirectory({ practitioners: 200_000 })) {
    n++;
    if (n === 400_000) {
      gc();
      mid = process.memoryUsage().heapUsed;
    }
    if (r.id === undefined) throw new Error('resource without id');
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  gc();
  const after = process.memoryUsage().heapUsed;
  // The rate is asserted per CPU second (all threads of the process, GC included), so a busy 2-core CI machine
  // running other test files in parallel does not make this test flaky; the wall-clock rate is reported too.
  const rate = Math.round(n / cpuSeconds);
  t.diagnostic(`${n} resources in ${seconds.toFixed(2)} s wall (${Math.round(n / seconds)} resources/s), ${cpuSeconds.toFixed(2)} s CPU (${rate} resources/CPU-s); heap growth mid-run ${((mid - before) / 1e6).toFixed(1)} MB, after ${((after - before) / 1e6).toFixed(1)} MB`);
  assert.equal(n, estimateResourceCount({ practitioners: 200_000 }));
  assert.ok(mid - before < 60e6, `heap grew ${(mid - before) / 1e6} MB while generating`);
  assert.ok(after - before < 60e6, `heap grew ${(after - before) / 1e6} MB`);
});
