/**
 * The analysis with a travel-time matrix (known answers: a site near in miles but far in minutes, and the reverse;
 * counties without times and criteria without max minutes stay "not assessed"; the dense path filters by time too),
 * properties (a matrix where everything is 0 minutes changes nothing but the time columns; the sites reported as
 * serving a county are exactly those within reach of one of its points, by brute force) and the HSD rows per county
 * served (known rows, and the byte-level writer against the record-by-record definition on awkward values).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { analyze, type CountyTravelTimes, type Site, type TravelTimes } from '../../src/adequacy/analyze.ts';
import { EARTH_RADIUS_MILES, haversineMiles, type SamplePoint } from '../../src/adequacy/geo.ts';
import { loadReference, type County, type CriteriaSet } from '../../src/adequacy/reference.ts';
import { HsdTables } from '../../src/adequacy/hsd-tables.ts';
import type { SiteDetail } from '../../src/adequacy/collect.ts';
import type { HsdRecord } from '../../src/adequacy/hsd-columns.ts';
import { fileBytes, hsdCsvChunks } from '../../src/adequacy/outputs.ts';
import { BED_TYPE, rollUp } from '../../src/adequacy/reference.ts';

const ref = loadReference();
const S03 = ref.typeByCode.get('S03')!;
const north = (lat: number, lon: number, miles: number) => ({ lat: lat + (miles / EARTH_RADIUS_MILES) * (180 / Math.PI), lon });
const county = (fips: string, ssa: string): County => ({ fips, ssa, state: 'ZZ', name: `County ${fips}`, designation: 'Metro', beneficiaries: 1000, requiredToCover: 100 });
const criteria = (entries: [string, number, number | null, number][]): CriteriaSet =>
  ({ name: 'test', year: 2026, byCountyType: new Map(entries.map(([ssa, miles, minutes, min]) => [`${ssa}|S03`, { maxMiles: miles, maxMinutes: minutes, minRequired: min }])) });
const site = (entity: number, p: { lat: number; lon: number }, loc: number): Site => ({ entity, types: ['S03'], lat: p.lat, lon: p.lon, beds: 0, accepting: true, loc, ref: entity });

/** An in-memory matrix: fips → loc → minutes. */
function matrix(rows: Record<string, Record<number, number>>): TravelTimes {
  return {
    name: 'test matrix',
    forCounty(fips): CountyTravelTimes | undefined {
      const r = rows[fips];
      if (!r) return undefined;
      return { minutes: (s) => (s.loc === undefined ? undefined : r[s.loc]), entries: () => Object.entries(r).map(([k, v]) => [Number(k), v] as [number, number]) };
    },
  };
}

const A = county('99001', '99010');
const pt: SamplePoint = { lat: 40, lon: -100, weight: 1 };
const run = (sites: Site[], tt: TravelTimes | undefined, crit = criteria([['99010', 10, 30, 1]]), counties = [A], points = new Map([[A.fips, [pt]]])) =>
  analyze({ networkId: 'n', counties, points, sites, types: [S03], criteria: crit, rules: ref.rules, travelTimes: tt });

test('time and distance must both hold for the same site: near-but-slow and fast-but-far', () => {
  const near = site(0, north(40, -100, 5), 0), quick = site(1, north(40, -100, 8), 1);
  const ok = run([near, quick], matrix({ 99001: { 0: 40, 1: 20 } }))[0];
  assert.equal(ok.travelTime, 'assessed');
  assert.equal(ok.nearestMinutes, 20);
  assert.equal(ok.shareTimePct, 100);
  assert.equal(ok.shareTimeAndDistancePct, 100);
  assert.equal(ok.meetsTime, true);
  assert.equal(ok.withinReach, 1); // the 40-minute site does not count
  assert.equal(ok.pass, true);
  // the quick site moves beyond 10 miles: each standard is met by some site, never both by one
  const far = site(1, north(40, -100, 12), 1);
  const split = run([near, far], matrix({ 99001: { 0: 40, 1: 20 } }))[0];
  assert.equal(split.sharePct, 100);
  assert.equal(split.meetsDistance, true);
  assert.equal(split.shareTimePct, 100);
  assert.equal(split.meetsTime, true);
  assert.equal(split.shareTimeAndDistancePct, 0);
  assert.equal(split.withinReach, 0);
  assert.equal(split.pass, false);
  assert.equal(split.status, 'no providers');
  // a pair missing from a county that has rows is beyond every standard
  const missing = run([near], matrix({ 99001: { 7: 5 } }))[0];
  assert.equal(missing.travelTime, 'assessed');
  assert.equal(missing.nearestMinutes, null);
  assert.equal(missing.meetsTime, false);
  assert.equal(missing.pass, false);
});

test('not assessed: no matrix, a county without rows, a criterion without max minutes', () => {
  const s = [site(0, north(40, -100, 5), 0)];
  for (const row of [run(s, undefined)[0], run(s, matrix({ 12345: { 0: 1 } }))[0], run(s, matrix({ 99001: { 0: 99 } }), criteria([['99010', 10, null, 1]]))[0]]) {
    assert.equal(row.travelTime, 'not assessed');
    assert.equal(row.meetsTime, null);
    assert.equal(row.shareTimePct, null);
    assert.equal(row.shareTimeAndDistancePct, null);
    assert.equal(row.pass, true); // distance and minimum alone
  }
});

test('dense areas (more than 64 sites near the county) filter by time too', () => {
  const many = Array.from({ length: 100 }, (_, i) => site(i, north(40, -100, 1 + i * 0.05), i));
  const slow = Object.fromEntries(many.map((s) => [s.loc!, 45]));
  const none = run(many, matrix({ 99001: slow }), criteria([['99010', 10, 30, 3]]))[0];
  assert.equal(none.withinReach, 0);
  assert.equal(none.shareTimeAndDistancePct, 0);
  assert.equal(none.sharePct, 100);
  const one = run(many, matrix({ 99001: { ...slow, 57: 25 } }), criteria([['99010', 10, 30, 3]]))[0];
  assert.equal(one.withinReach, 1);
  assert.equal(one.shareTimeAndDistancePct, 100);
  assert.equal(one.nearestMinutes, 25);
  assert.equal(one.meetsMinimum, false);
});

const arbPoint = fc.record({ lat: fc.double({ min: 39, max: 41, noNaN: true }), lon: fc.double({ min: -101, max: -99, noNaN: true }) });
// up to 64 sites near a county are measured directly; 70 or more take the dense path
const sizes = fc.oneof(fc.array(arbPoint, { maxLength: 40 }), fc.array(arbPoint, { minLength: 70, maxLength: 200, size: 'max' }));

test('property: a matrix of zero minutes changes only the time columns', () => {
  fc.assert(fc.property(fc.array(arbPoint, { minLength: 1, maxLength: 12 }), sizes, (pts, provs) => {
    const points = new Map([[A.fips, pts.map((p) => ({ ...p, weight: 1 }))]]);
    const sites = provs.map((p, i) => site(i, p, i));
    const crit = criteria([['99010', 20, 30, 2]]);
    const plain = run(sites, undefined, crit, [A], points)[0];
    const timed = run(sites, matrix({ 99001: Object.fromEntries(sites.map((s) => [s.loc!, 0])) }), crit, [A], points)[0];
    for (const k of ['sharePct', 'withinReach', 'meetsDistance', 'meetsMinimum', 'pass', 'status', 'nearestP50'] as const) assert.deepEqual(timed[k], plain[k], k);
    assert.equal(timed.shareTimeAndDistancePct, plain.sharePct);
  }), { numRuns: 100 });
});

test('property: the sites serving a county are exactly those within reach of one of its points (sparse and dense)', () => {
  fc.assert(fc.property(fc.array(arbPoint, { minLength: 1, maxLength: 12 }), sizes, fc.integer({ min: 5, max: 60 }), (pts, provs, miles) => {
    const points = pts.map((p) => ({ ...p, weight: 1 }));
    const sites = provs.map((p, i) => site(i, p, i));
    const served: Site[] = [];
    analyze({ networkId: 'n', counties: [A], points: new Map([[A.fips, points]]), sites, types: [S03], criteria: criteria([['99010', miles, null, 1]]), rules: ref.rules }, undefined, (_c, _t, list) => served.push(...list));
    const brute = sites.filter((s) => points.some((p) => haversineMiles(p.lat, p.lon, s.lat, s.lon) <= miles));
    assert.deepEqual(served.map((s) => s.entity).sort((a, b) => a - b), brute.map((s) => s.entity));
  }), { numRuns: 200 });
});

test('HSD rows per county served: one row per county a site serves, under that county\'s SSA code, sorted and deduplicated', () => {
  const B = county('99003', '99005'); // SSA order differs from FIPS order
  const detail = (name: string, codes: string[]): SiteDetail => ({ name, npi: '1234567893', codes, kind: 'provider', street: '1 Main St', city: 'X', state: 'ZZ', zip: '00000', group: 'G', beds: 0, accepting: true });
  const details = [detail('Dr Near', ['001', '002']), detail('Dr Far', ['002']), detail('Dr Near', ['001', '002'])];
  const sites: Site[] = [
    { ...site(0, north(40, -100, 2), 0), ref: 0 },
    { ...site(1, north(40, -100, 40), 1), ref: 1 },
    { ...site(0, north(40, -100, 2), 2), ref: 2 }, // the same practitioner and address through a second role: one row
  ];
  const hsd = new HsdTables(details, ref);
  analyze({ networkId: 'n', counties: [A, B], points: new Map([[A.fips, [pt]], [B.fips, [{ lat: 40.5, lon: -100, weight: 1 }]]]), sites, types: [S03], criteria: criteria([['99010', 10, null, 1], ['99005', 35, null, 1]]), rules: ref.rules }, undefined, hsd.add);
  const rows = [...hsd.records('provider')];
  // B (SSA 99005) first, rows by specialty code; Dr Far (40 mi north of A's point, 5.5 mi from B's) serves only B;
  // Dr Near (32.5 mi from B's) both
  assert.deepEqual(rows.map((r) => `${r.ssa} ${r.name} ${r.hsdCode}`), ['99005 Dr Near 001', '99005 Dr Far 002', '99005 Dr Near 002', '99010 Dr Near 001', '99010 Dr Near 002']);
  assert.deepEqual([...hsd.records('facility')], []);
  assert.equal([...hsd.records('provider')].length, 5); // re-iterable
});

/** The HSD rows as first defined, record by record: per county (SSA order) one record per key, the first served wins, sorted by key. */
function hsdRecordsByDefinition(details: SiteDetail[], served: [County, string, number[]][], kind: 'provider' | 'facility'): HsdRecord[] {
  const key = (r: HsdRecord) => `${r.hsdCode}|${r.npi}|${r.name}|${r.street}|${r.city}|${r.zip}`;
  const byCounty = new Map<string, { county: County; rows: Map<string, HsdRecord> }>();
  for (const [c, type, refs] of served) {
    let e = byCounty.get(c.fips);
    if (!e) byCounty.set(c.fips, e = { county: c, rows: new Map() });
    for (const i of refs) {
      const d = details[i];
      for (const code of d.codes) {
        if (rollUp(code) !== type) continue;
        const t = ref.typeByCode.get(rollUp(code));
        if ((t?.category ?? d.kind) !== kind) continue;
        const rec: HsdRecord = { ssa: c.ssa, name: d.name, npi: d.npi, hsdCode: code, typeName: t?.name ?? '', street: d.street, city: d.city, state: d.state, zip: d.zip,
          group: d.group, beds: kind === 'facility' && rollUp(code) === BED_TYPE ? d.beds : null, acceptingNewPatients: d.accepting };
        if (!e.rows.has(key(rec))) e.rows.set(key(rec), rec);
      }
    }
  }
  return [...byCounty.values()].sort((a, b) => (a.county.ssa < b.county.ssa ? -1 : a.county.ssa > b.county.ssa ? 1 : 0))
    .flatMap(({ rows }) => [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r));
}

test('property: the HSD tables as bytes equal the record-by-record definition (quotes, separators, prefixes, duplicates, several calls per county)', () => {
  // values chosen to collide: '|' inside fields, one value a prefix of another, quotes and commas, non-ASCII, empty
  const word = fc.constantFrom('', 'a', 'ab', 'a|', 'a|b', '|', 'b', 'Dr "Q", Jr', 'x,y', 'é', 'line\nbreak');
  const codes = fc.subarray(['001', '002', '007', '011', 'S03', '040', '041', '068', '999'], { minLength: 1 });
  const detail = fc.record({ name: word, npi: fc.constantFrom('', '1234567893', '123'), codes, kind: fc.constantFrom('provider' as const, 'facility' as const),
    street: word, city: word, state: word, zip: fc.constantFrom('', '0', '00000'), group: word, beds: fc.nat({ max: 500 }), accepting: fc.boolean() });
  const types = ['S03', '007', '011', '040', '041', '068'].map((c) => ref.typeByCode.get(c)!);
  const counties = [county('99001', '99020'), county('99002', '99010'), county('99003', '99030')];
  fc.assert(fc.property(fc.array(detail, { minLength: 1, maxLength: 25 }), fc.array(fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 5 }), fc.array(fc.nat(), { maxLength: 12 })), { maxLength: 12 }),
    (details, calls) => {
      const hsd = new HsdTables(details, ref);
      const served: [County, string, number[]][] = [];
      for (const [c, t, picks] of calls) {
        const refs = [...new Set(picks.map((x) => x % details.length))]; // a site once per county and type, as the analysis serves it
        hsd.add(counties[c], types[t], refs.map((i) => ({ ...site(i, pt, i), ref: i })));
        served.push([counties[c], types[t].code, refs]);
      }
      for (const kind of ['provider', 'facility'] as const) {
        const expected = hsdRecordsByDefinition(details, served, kind);
        assert.deepEqual([...hsd.records(kind)], expected);
        const bytes = fileBytes({ name: 'x', contentType: 'text/csv', body: hsd.csvChunks(kind) });
        assert.ok(bytes.equals(fileBytes({ name: 'x', contentType: 'text/csv', body: hsdCsvChunks(kind, expected) })), kind);
      }
    }), { numRuns: 300 });
});

test('HSD tables over several 64 KiB chunks (one reused buffer): the same bytes as the record-by-record definition, a row longer than a chunk included', () => {
  const details: SiteDetail[] = Array.from({ length: 3000 }, (_, i) => ({
    name: i === 1234 ? 'L'.repeat(70_000) : `Dr ${'ab'.repeat(i % 30)} "${i}"`, npi: String(1_000_000_000 + ((i * 7919) % 3000)), codes: i % 3 ? ['001', '011'] : ['040'], kind: i % 3 ? 'provider' : 'facility',
    street: `${i} Main St, Suite ${i % 7}`, city: 'Springfield', state: 'ZZ', zip: String(10000 + (i % 50)), group: `Group ${i % 11}`, beds: i % 300, accepting: i % 2 === 0,
  }));
  const counties = [county('99001', '99020'), county('99002', '99010')];
  const hsd = new HsdTables(details, ref);
  const served: [County, string, number[]][] = [];
  for (const [ci, c] of counties.entries()) {
    for (const code of ['S03', '011', '040']) {
      const refs = details.map((_, i) => i).filter((i) => (i + ci) % 2 === 0 || i % 5 === 0).reverse();
      hsd.add(c, ref.typeByCode.get(code)!, refs.map((i) => ({ ...site(i, pt, i), ref: i })));
      served.push([c, code, refs]);
    }
  }
  for (const kind of ['provider', 'facility'] as const) {
    const chunks = [...hsd.csvChunks(kind)].length;
    const bytes = fileBytes({ name: 'x', contentType: 'text/csv', body: hsd.csvChunks(kind) });
    assert.ok(bytes.length > 2 * 65536 && chunks > 1, `${kind}: ${bytes.length} bytes`);
    assert.ok(bytes.equals(fileBytes({ name: 'x', contentType: 'text/csv', body: hsdCsvChunks(kind, hsdRecordsByDefinition(details, served, kind)) })), kind);
  }
});
