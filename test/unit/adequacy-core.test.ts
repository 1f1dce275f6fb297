/**
 * Network adequacy core: known answers on hand-built networks, properties (adding a provider never lowers coverage,
 * moving one farther never raises it), haversine against known city pairs, HSD CSV layout, SVG title/description,
 * byte-identical outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { analyze, type Site } from '../../src/adequacy/analyze.ts';
import { EARTH_RADIUS_MILES, haversineMiles, samplePoints, countyShapes, containsPoint, type SamplePoint } from '../../src/adequacy/geo.ts';
import { loadReference, SEED_DIR, type County, type CriteriaSet } from '../../src/adequacy/reference.ts';
import { FACILITY_COLUMNS, PROVIDER_COLUMNS } from '../../src/adequacy/hsd-columns.ts';
import { renderReport, hsdCsv, type ReportMeta, fileBytes } from '../../src/adequacy/outputs.ts';

const ref = loadReference();
const S03 = ref.typeByCode.get('S03')!;
const T007 = ref.typeByCode.get('007')!;
const T040 = ref.typeByCode.get('040')!;

/** A point `miles` north of (lat, lon) along the meridian. */
const north = (lat: number, lon: number, miles: number) => ({ lat: lat + (miles / EARTH_RADIUS_MILES) * (180 / Math.PI), lon });

function county(fips: string, ssa: string, designation = 'Metro'): County {
  return { fips, ssa, state: 'ZZ', name: `County ${fips}`, designation, beneficiaries: 1000, requiredToCover: 100 };
}

function criteria(entries: [string, string, number, number][]): CriteriaSet {
  return { name: 'test criteria', year: 2026, byCountyType: new Map(entries.map(([ssa, t, miles, min]) => [`${ssa}|${t}`, { maxMinutes: null, maxMiles: miles, minRequired: min }])) };
}

const site = (entity: number, types: string[], p: { lat: number; lon: number }, extra: Partial<Site> = {}): Site => ({ entity, types, lat: p.lat, lon: p.lon, beds: 0, accepting: false, ...extra });

test('a provider 9.9 miles from the only sample point passes a 10-mile standard, 10.1 miles fails', () => {
  const c = county('99001', '99010');
  const pt = { lat: 40, lon: -100, weight: 1 };
  const crit = criteria([['99010', 'S03', 10, 1], ['99010', '007', 30, 1]]);
  const run = (miles: number) => analyze({ networkId: 'n', counties: [c], points: new Map([[c.fips, [pt]]]), sites: [site(0, ['S03'], north(40, -100, miles), { accepting: true })], types: [S03, T007], criteria: crit, rules: ref.rules });
  const near = run(9.9);
  const s03 = near.find((r) => r.type === 'S03')!;
  assert.equal(s03.pass, true);
  assert.equal(s03.sharePct, 100);
  assert.equal(s03.withinReach, 1);
  assert.equal(s03.acceptingWithinReach, 1);
  assert.ok(Math.abs(s03.nearestP50! - 9.9) < 0.01);
  // a county with no provider of a type: no providers, fail
  const allergy = near.find((r) => r.type === '007')!;
  assert.equal(allergy.status, 'no providers');
  assert.equal(allergy.pass, false);
  assert.equal(allergy.nearestP50, null);
  const far = run(10.1).find((r) => r.type === 'S03')!;
  assert.equal(far.pass, false);
  assert.equal(far.sharePct, 0);
  assert.equal(far.withinReach, 0);
  assert.equal(far.status, 'no providers');
  assert.ok(Math.abs(far.nearestP50! - 10.1) < 0.01);
});

test('minimum count: distinct providers within reach (one at two locations counts once); beds for 040', () => {
  const c = county('99001', '99010');
  const pts = [{ lat: 40, lon: -100, weight: 1 }];
  const crit = criteria([['99010', 'S03', 10, 2], ['99010', '040', 30, 100]]);
  const sites = [site(0, ['S03'], north(40, -100, 1)), site(0, ['S03'], north(40, -100, 2)), site(1, ['040'], north(40, -100, 5), { beds: 60 }), site(2, ['040'], north(40, -100, 25), { beds: 50 })];
  const rows = analyze({ networkId: 'n', counties: [c], points: new Map([[c.fips, pts]]), sites, types: [S03, T040], criteria: crit, rules: ref.rules });
  const s03 = rows.find((r) => r.type === 'S03')!;
  assert.equal(s03.withinReach, 1);
  assert.equal(s03.meetsDistance, true);
  assert.equal(s03.meetsMinimum, false);
  assert.equal(s03.status, 'shortfall');
  const hosp = rows.find((r) => r.type === '040')!;
  assert.equal(hosp.unit, 'beds');
  assert.equal(hosp.withinReach, 110);
  assert.equal(hosp.pass, true);
});

test('required share follows the county designation (90% metro, 85% rural)', () => {
  const metro = county('99001', '99010', 'Metro');
  const rural = county('99003', '99020', 'Rural');
  // 20 points, 87% (weighted) covered in each county
  const mk = (lat: number): SamplePoint[] => Array.from({ length: 100 }, (_, i) => ({ lat: lat + (i < 87 ? 0 : 5), lon: -100, weight: 1 }));
  const crit = criteria([['99010', 'S03', 10, 1], ['99020', 'S03', 10, 1]]);
  const rows = analyze({ networkId: 'n', counties: [metro, rural], points: new Map([[metro.fips, mk(40)], [rural.fips, mk(30)]]), sites: [site(0, ['S03'], { lat: 40, lon: -100 }), site(1, ['S03'], { lat: 30, lon: -100 })], types: [S03], criteria: crit, rules: ref.rules });
  assert.equal(rows[0].sharePct, 87);
  assert.equal(rows[0].requiredSharePct, 90);
  assert.equal(rows[0].pass, false);
  assert.equal(rows[1].requiredSharePct, 85);
  assert.equal(rows[1].pass, true);
});

const arbPoint = fc.record({ lat: fc.double({ min: 39, max: 41, noNaN: true }), lon: fc.double({ min: -101, max: -99, noNaN: true }) });

test('property: adding a provider never lowers coverage; moving one farther never raises it', () => {
  const c = county('99001', '99010');
  const crit = criteria([['99010', 'S03', 20, 2]]);
  const run = (pts: SamplePoint[], sites: Site[]) => analyze({ networkId: 'n', counties: [c], points: new Map([[c.fips, pts]]), sites, types: [S03], criteria: crit, rules: ref.rules })[0];
  fc.assert(fc.property(fc.array(arbPoint, { minLength: 1, maxLength: 15 }), fc.array(arbPoint, { maxLength: 15 }), arbPoint, (pts, provs, extra) => {
    const points = pts.map((p) => ({ ...p, weight: 1 }));
    const sites = provs.map((p, i) => site(i, ['S03'], p));
    const before = run(points, sites);
    const after = run(points, [...sites, site(sites.length, ['S03'], extra)]);
    assert.ok(after.sharePct >= before.sharePct);
    assert.ok(after.withinReach >= before.withinReach);
  }), { numRuns: 150 });
  // one beneficiary point: moving a provider farther from it never raises coverage
  fc.assert(fc.property(arbPoint, fc.array(arbPoint, { minLength: 1, maxLength: 10 }), fc.nat({ max: 9 }), fc.double({ min: 1, max: 5, noNaN: true }), (p, provs, k, factor) => {
    const points = [{ ...p, weight: 1 }];
    const sites = provs.map((q, i) => site(i, ['S03'], q));
    const i = k % sites.length;
    const moved = sites.map((s, j) => (j === i ? { ...s, lat: p.lat + (s.lat - p.lat) * factor, lon: p.lon + (s.lon - p.lon) * factor } : s));
    const before = run(points, sites);
    const after = run(points, moved);
    assert.ok(after.sharePct <= before.sharePct);
    assert.ok(after.withinReach <= before.withinReach);
  }), { numRuns: 150 });
});

test('haversine matches known city-pair great-circle distances to 0.5%', () => {
  const pairs: [string, number, number, number, number, number][] = [
    ['London–Paris 344 km', 51.5074, -0.1278, 48.8566, 2.3522, 344 / 1.609344],
    ['New York–Los Angeles 3,936 km', 40.7128, -74.006, 34.0522, -118.2437, 3936 / 1.609344],
    ['Sydney–Melbourne 713 km', -33.8688, 151.2093, -37.8136, 144.9631, 713 / 1.609344],
    ['Chicago–Houston 1,515 km', 41.8781, -87.6298, 29.7604, -95.3698, 1515 / 1.609344],
  ];
  for (const [name, a, b, c, d, miles] of pairs) {
    const got = haversineMiles(a, b, c, d);
    assert.ok(Math.abs(got - miles) / miles < 0.005, `${name}: ${got} vs ${miles}`);
  }
});

test('sample points are deterministic and inside the county polygon', () => {
  const shapes = countyShapes();
  const autauga = ref.byFips.get('01001')!;
  const a = samplePoints(autauga, shapes.get('01001'));
  const b = samplePoints(autauga, shapes.get('01001'));
  assert.deepEqual(a, b);
  assert.equal(a.length, 20);
  for (const p of a) assert.ok(containsPoint(shapes.get('01001')!, p.lon, p.lat));
  assert.ok(Math.abs(a.reduce((n, p) => n + p.weight, 0) - autauga.beneficiaries) < 1e-6);
});

/** The header lists of hsd-columns.md Part A ("Provider file headers" / "Facility file headers"). */
function documentedColumns(kind: 'Provider' | 'Facility'): string[] {
  const md = readFileSync(path.join(SEED_DIR, 'hsd-columns.md'), 'utf8');
  const start = md.indexOf(`${kind} file headers`);
  const out: string[] = [];
  for (const line of md.slice(start).split('\n').slice(1)) {
    const m = /^\d+\. `([^`]+)`/.exec(line.trim());
    if (m) out.push(m[1]);
    else if (out.length && line.trim() !== '') break;
  }
  return out;
}

test('HSD CSVs parse with a CSV library and have exactly the documented columns (all marked unverified)', () => {
  const rec = { ssa: '01000', name: 'Dr "Q", Jr', npi: '1234567893', hsdCode: '001', typeName: 'General Practice', street: '1 Main St, Suite 2', city: 'Prattville', state: 'AL', zip: '36067', group: 'Group', beds: 12, acceptingNewPatients: true };
  for (const [kind, cols] of [['Provider', PROVIDER_COLUMNS], ['Facility', FACILITY_COLUMNS]] as const) {
    const documented = documentedColumns(kind);
    assert.equal(documented.length, 10);
    const text = hsdCsv(kind === 'Provider' ? 'provider' : 'facility', [rec]);
    const rows = parse(text, { columns: false }) as string[][];
    assert.deepEqual(rows[0], documented);
    assert.equal(rows.length, 2);
    assert.equal(rows[1].length, documented.length);
    assert.ok(cols.every((c) => c.verified === false));
  }
});

test('report files: SVGs have a title and a description; outputs are byte-identical for identical inputs', async () => {
  const counties = ref.counties.filter((c) => c.state === 'DE');
  const shapes = countyShapes();
  const points = new Map(counties.map((c) => [c.fips, samplePoints(c, shapes.get(c.fips))]));
  const sites = [site(0, ['S03'], { lat: 39.16, lon: -75.52 }), site(1, ['040'], { lat: 39.74, lon: -75.55 }, { beds: 300 })];
  const meta: ReportMeta = { networkId: 'n1', networkName: 'Test network', serviceArea: 'state DE', criteriaName: ref.criteria.name, criteriaYear: 2026, asOf: '2026-01-01', coverageBasis: 'sample points', mapTypes: ['S03'], locationsWithoutPosition: [{ id: 'Location/x', name: 'No position', sites: 2 }], countiesWithoutShape: [], rules: ref.rules };
  const make = async () => {
    const rows = analyze({ networkId: 'n1', counties, points, sites, types: ref.types, criteria: ref.criteria, rules: ref.rules });
    return renderReport(rows, counties, meta, { providers: [], facilities: [] });
  };
  const a = await make();
  const b = await make();
  assert.deepEqual(a.map((f) => f.name), b.map((f) => f.name));
  for (let i = 0; i < a.length; i++) assert.ok(fileBytes(a[i]).equals(fileBytes(b[i])), `${a[i].name} differs between identical runs`);
  for (const f of a.filter((x) => x.name.endsWith('.svg'))) {
    const svg = fileBytes(f).toString();
    assert.match(svg, /<title id="[^"]+">[^<]+<\/title>/);
    assert.match(svg, /<desc id="[^"]+">[^<]*not assessed[^<]*<\/desc>/);
  }
  const png = a.find((f) => f.name.endsWith('.png'))!;
  assert.deepEqual([...fileBytes(png).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  const html = fileBytes(a.find((f) => f.name === 'report.html')!).toString();
  assert.match(html, /Travel time: not assessed/);
  assert.match(html, /certificate of need credit is unverified/i);
  assert.match(html, /Location\/x/);
  const csv = parse(fileBytes(a.find((f) => f.name === 'adequacy.csv')!).toString(), { columns: true }) as Record<string, string>[];
  assert.ok(csv.length > 0);
  assert.ok(csv.every((r) => r.result === 'pass' || r.result === 'fail'));
  assert.ok(csv.every((r) => r.travel_time === 'not assessed'));
  const summary = JSON.parse(fileBytes(a.find((f) => f.name === 'summary.json')!).toString());
  assert.equal(summary.criteriaSet.year, 2026);
  assert.equal(summary.travelTime, 'not assessed');
});
