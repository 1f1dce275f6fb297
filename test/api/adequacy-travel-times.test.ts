/**
 * The travel-time matrix: streamed CSV upload (permission, format checks naming the line, duplicates across batches,
 * gzip, size limit, all-or-nothing), the time standard assessed where the matrix has rows and "not assessed"
 * elsewhere in every output, and the HSD tables per county served, downloaded through the report's signed URLs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { clientToken } from './export-support.ts';
import { runAdequacy } from '../../src/adequacy/run.ts';
import { fileBytes } from '../../src/adequacy/outputs.ts';
import { loadTenantOverrides } from '../../src/adequacy/store.ts';
import { parseCriteriaCsv } from '../../src/adequacy/reference.ts';
import { uploadTravelTimes } from '../../src/adequacy/travel-times.ts';
import { FhirError } from '../../src/fhir/outcome/errors.ts';

const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/';
let srv: TestServer;
let token: string;

const role = (id: string, loc: string) => ({
  resourceType: 'PractitionerRole', id, active: true, extension: [{ url: `${PN}network-reference`, valueReference: { reference: 'Organization/net1' } }],
  practitioner: { reference: `Practitioner/p-${id}` }, specialty: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '207Q00000X' }] }], location: [{ reference: `Location/${loc}` }],
});
const RESOURCES = [
  { resourceType: 'Organization', id: 'net1', name: 'Timed Network' },
  { resourceType: 'Location', id: 'dover', name: 'Dover', position: { latitude: 39.1582, longitude: -75.5244 }, address: { line: ['1 Loockerman St'], city: 'Dover', state: 'DE' } },
  { resourceType: 'Location', id: 'wilm', name: 'Wilmington', position: { latitude: 39.7391, longitude: -75.5398 }, address: { line: ['1 Market St'], city: 'Wilmington', state: 'DE' } },
  { resourceType: 'Practitioner', id: 'p-r1', name: [{ family: 'Kent', given: ['Ada'] }], identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }] },
  { resourceType: 'Practitioner', id: 'p-r2', name: [{ family: 'Castle', given: ['Ben'] }], identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1245319599' }] },
  role('r1', 'dover'), role('r2', 'wilm'),
];
// Kent 08000 / New Castle 08010 / Sussex 08020: S03 within 30 minutes, 100 miles (every county reaches both sites), 1 provider
const CRITERIA = parseCriteriaCsv('ssa_code,cms_type_code,max_minutes,max_miles,min_required\n08000,S03,30,100,1\n08010,S03,30,100,1\n08020,S03,30,100,1\n', 'test criteria', 2026);

const put = (body: BodyInit, headers: Record<string, string> = {}, t = token) => fetch(`${srv.base}/$network-adequacy-dataset/travel-times?name=Vendor%20drive%20times`, {
  method: 'PUT', headers: { authorization: `Bearer ${t}`, 'content-type': 'text/csv', ...headers }, body, duplex: 'half',
} as RequestInit);
const storedPairs = async () => srv.services.db.withTenant(srv.tenant, async (tx) => (await tx.query('SELECT fips, location_id, minutes FROM adequacy_travel_times WHERE tenant_id = $1 ORDER BY fips, location_id', [srv.tenant])).rows);

before(async () => {
  srv = await startTestServer();
  await srv.services.db.withTenant(srv.tenant, async (tx) => {
    for (const r of RESOURCES) await tx.query(`INSERT INTO resources (tenant_id, resource_type, id, version_id, last_updated, content) VALUES ($1, $2, $3, 1, now(), $4)`, [srv.tenant, r.resourceType, r.id, JSON.stringify(r)]);
  });
  token = (await clientToken(srv, srv.tenant, ['system/adequacy.run'])).token;
});
after(async () => { await srv.close(); });

test('HSD tables list each provider once per county it serves, under that county\'s SSA code (no matrix)', async () => {
  const result = await runAdequacy(srv.services.db, { tenant: srv.tenant, networks: ['net1'], states: ['DE'], types: ['S03'], asOf: '2026-01-01', png: false, criteria: CRITERIA });
  const providers = parse(fileBytes(result.files.find((f) => f.name === 'hsd-provider-table.csv')!).toString(), { columns: true }) as Record<string, string>[];
  assert.deepEqual(providers.map((r) => `${r['SSA State/County Code']} ${r['Name of Physician or Mid-Level Practitioner']}`),
    ['08000 Ada Kent', '08000 Ben Castle', '08010 Ada Kent', '08010 Ben Castle', '08020 Ada Kent', '08020 Ben Castle']);
  assert.ok(providers.every((r) => r['Provider Specialty Code'] === '002'));
  assert.equal(result.travelTime, 'not assessed');
});

test('upload: permission, media type, and bad files refused with the line named, nothing stored', async () => {
  const reader = await clientToken(srv, srv.tenant, ['system/*.read']);
  assert.equal((await fetch(`${srv.base}/$network-adequacy-dataset/travel-times`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'fips,location,minutes\n10001,dover,5\n' })).status, 401);
  assert.equal((await put('fips,location,minutes\n10001,dover,5\n', {}, reader.token)).status, 403);
  assert.equal((await put('{}', { 'content-type': 'application/json' })).status, 415);
  const bad: [string, RegExp][] = [
    ['fips,loc,minutes\n10001,dover,5\n', /line 1: the header needs a location column/],
    ['fips,location,minutes\n10001,dover,5\n10003,wilm,abc\n', /line 3: minutes "abc" must be a number from 0 to 1440/],
    ['fips,location,minutes\n10001,dover,5\n\n99999,wilm,4\n', /line 4: unknown county FIPS 99999/],
    ['ssa_code,location,minutes\n08000,Location/dover,5\n08000,bad id!,4\n', /line 3: location "bad id!" is not a Location id/],
    ['fips,location,minutes\n10001,dover,5\n10001,dover,6\n', /line 3: county 10001 and Location dover were already given on line 2/],
    ['fips,location,minutes\n10001,dover,5\n10003,wilm\n', /line 3: .*column/i],
    ['fips,location,minutes\n', /no rows/],
  ];
  for (const [body, msg] of bad) {
    const r = await put(body);
    assert.equal(r.status, 400, body);
    const oo = await r.json();
    assert.equal(oo.resourceType, 'OperationOutcome');
    assert.match(oo.issue[0].diagnostics, msg);
  }
  assert.deepEqual(await storedPairs(), []);
});

test('upload: streamed in batches; a duplicate thousands of lines later is named; a refused upload keeps the previous matrix', async () => {
  const first = await put('fips,location,minutes\n10001,dover,12\n');
  assert.equal(first.status, 200, await first.clone().text());
  // 12,000 rows (three batches) whose line 9,002 repeats line 3
  const lines = ['fips,location,minutes', ...Array.from({ length: 12_000 }, (_, i) => `10003,loc-${i},${i % 100}`)];
  lines.splice(9001, 0, '10003,loc-1,7');
  const r = await put(Readable.toWeb(Readable.from(lines.map((l) => `${l}\n`))) as ReadableStream);
  assert.equal(r.status, 400);
  assert.match((await r.json()).issue[0].diagnostics, /^line 9002: county 10003 and Location loc-1 were already given on an earlier line/);
  assert.deepEqual(await storedPairs(), [{ fips: '10001', location_id: 'dover', minutes: 12 }]);
  // without the duplicate it all goes in, gzip-compressed
  lines.splice(9001, 1);
  const ok = await put(gzipSync(lines.join('\n')), { 'content-encoding': 'gzip' });
  assert.equal(ok.status, 200);
  assert.match((await ok.json()).issue[0].diagnostics, /12000 county × Location pairs in 1 counties/);
  assert.equal((await storedPairs()).length, 12_000);
  const list = await (await fetch(`${srv.base}/$network-adequacy-dataset`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.deepEqual(list.datasets.find((d: { kind: string }) => d.kind === 'travel-times'), { kind: 'travel-times', name: 'Vendor drive times', year: null, uploadedAt: list.datasets.find((d: { kind: string }) => d.kind === 'travel-times').uploadedAt, pairs: 12_000, counties: 1 });
  assert.equal((await put(Buffer.from('not gzip'), { 'content-encoding': 'gzip' })).status, 400);
  assert.equal((await storedPairs()).length, 12_000);
});

test('upload: two uploads at once both succeed, one after the other; the matrix is one of them whole', async () => {
  const a = ['fips,location,minutes', ...Array.from({ length: 8000 }, (_, i) => `10001,a-${i},1`)].join('\n');
  const b = ['fips,location,minutes', ...Array.from({ length: 8000 }, (_, i) => `10001,a-${i},2`), '10003,b,3'].join('\n');
  const [ra, rb] = await Promise.all([put(a), put(b)]);
  assert.deepEqual([ra.status, rb.status], [200, 200]);
  const rows = await storedPairs();
  assert.ok(rows.length === 8000 ? rows.every((r) => r.minutes === 1) : rows.length === 8001 && rows.every((r) => r.minutes !== 1), `mixed: ${rows.length} rows`);
});

test('upload: past the size limit the upload is refused (413) and nothing changes', async () => {
  const before = (await storedPairs()).length;
  const body = Readable.from(['fips,location,minutes\n', ...Array.from({ length: 500 }, (_, i) => `10005,x-${i},1\n`)]);
  await assert.rejects(uploadTravelTimes(srv.services.db, srv.tenant, body, { name: 'big', by: null, maxBytes: 2000 }), (err: unknown) => err instanceof FhirError && err.status === 413);
  assert.equal((await storedPairs()).length, before);
});

test('with a matrix: time assessed where it has rows (pass and fail), "not assessed" elsewhere, in every output', async () => {
  // Kent → Dover 12 min; New Castle → Wilmington 40 min (Dover not listed: beyond every standard); Sussex: no rows
  const ok = await put('fips,location,minutes,miles\n10001,dover,12,1\n10001,wilm,55,50\n10003,wilm,40,3\n');
  assert.equal(ok.status, 200);
  const overrides = await loadTenantOverrides(srv.services.db, srv.tenant);
  assert.equal(overrides.travelTimes?.name, 'Vendor drive times');
  const result = await runAdequacy(srv.services.db, { tenant: srv.tenant, networks: ['net1'], states: ['DE'], types: ['S03'], asOf: '2026-01-01', png: false, ...overrides, criteria: CRITERIA });
  assert.equal(result.travelTime, 'partly assessed');
  const file = (n: string) => fileBytes(result.files.find((f) => f.name === n)!).toString();
  const rows = parse(file('adequacy.csv'), { columns: true }) as Record<string, string>[];
  const [kent, castle, sussex] = ['10001', '10003', '10005'].map((f) => rows.find((r) => r.fips === f)!);
  assert.deepEqual([kent.travel_time, kent.nearest_minutes, kent.share_within_time_pct, kent.share_within_time_and_distance_pct, kent.meets_time, kent.within_reach, kent.result],
    ['assessed', '12.00', '100.00', '100.00', 'pass', '1', 'pass']);
  assert.deepEqual([castle.travel_time, castle.nearest_minutes, castle.meets_distance, castle.meets_time, castle.share_within_time_and_distance_pct, castle.within_reach, castle.result],
    ['assessed', '40.00', 'pass', 'fail', '0.00', '0', 'fail']);
  assert.deepEqual([sussex.travel_time, sussex.meets_time, sussex.share_within_time_pct, sussex.result], ['not assessed', 'not assessed', '', 'pass']);
  const summary = JSON.parse(file('summary.json'));
  assert.equal(summary.travelTime, 'partly assessed');
  assert.deepEqual({ ...summary.travelTimeMatrix, uploadedAt: undefined }, { name: 'Vendor drive times', uploadedAt: undefined, countiesAssessed: 2, countiesTotal: 3 });
  assert.match(summary.notes.join(' '), /Travel time: assessed from the plan's travel-time matrix "Vendor drive times".* in 2 of 3 counties; not assessed in the other 1/);
  assert.match(file('report.html'), /Counties meeting time/);
  assert.match(file('map-all-types.svg'), /<desc id="[^"]+">[^<]*Travel time: assessed[^<]*<\/desc>/);
  // HSD per county served, with time: Kent only by Dover (Wilmington is 55 min), New Castle by nobody, Sussex (distance only) by both
  const providers = parse(file('hsd-provider-table.csv'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(providers.map((r) => `${r['SSA State/County Code']} ${r['Name of Physician or Mid-Level Practitioner']}`), ['08000 Ada Kent', '08020 Ada Kent', '08020 Ben Castle']);
});

test('through the operation: the manifest says how travel time was assessed; the HSD table is served by signed URL; delete the matrix', async () => {
  const body = { resourceType: 'Parameters', parameter: [{ name: 'network', valueReference: { reference: 'Organization/net1' } }, { name: 'service-area', valueString: 'county:10001' }, { name: 'type', valueCode: 'S03' }, { name: 'as-of', valueDate: '2026-01-01' }] };
  const k = await fetch(`${srv.base}/$network-adequacy`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  assert.equal(k.status, 202);
  let manifest: any;
  for (let i = 0; i < 300 && !manifest; i++) {
    const s = await fetch(k.headers.get('content-location')!, { headers: { authorization: `Bearer ${token}` } });
    if (s.status === 200) manifest = await s.json();
    else { assert.equal(s.status, 202); await new Promise((r) => setTimeout(r, 300)); }
  }
  assert.equal(manifest.travelTime, 'assessed');
  const hsdUrl = manifest.output.find((o: { name: string }) => o.name === 'hsd-provider-table.csv').url as string;
  assert.match(hsdUrl, /[?&]sig=/);
  const hsd = parse(await (await fetch(hsdUrl)).text(), { columns: true }) as Record<string, string>[];
  assert.deepEqual(hsd.map((r) => r['SSA State/County Code']), ['08000']); // Kent is served by Dover only: Wilmington is 55 min away
  const del = () => fetch(`${srv.base}/$network-adequacy-dataset/travel-times`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  assert.equal((await del()).status, 200);
  assert.equal((await del()).status, 404);
  assert.deepEqual(await storedPairs(), []);
  assert.equal((await loadTenantOverrides(srv.services.db, srv.tenant)).travelTimes, undefined);
});
