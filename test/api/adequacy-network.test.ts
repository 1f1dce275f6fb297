/**
 * Network adequacy against a real database: a hand-built network whose answers are known (a provider outside the
 * network, a terminated role, a Location without a position, a hospital counted by beds through its affiliation),
 * and the CLI as an operator runs it (and what it says about travel time, with and without a travel-time matrix).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { startTestServer, testDatabaseUrl, type TestServer } from '../helpers/server.ts';
import { runAdequacy } from '../../src/adequacy/run.ts';
import { fileBytes } from '../../src/adequacy/outputs.ts';
import { deleteTravelTimes, uploadTravelTimes } from '../../src/adequacy/travel-times.ts';
import { BED_COUNT_EXTENSION_URL, HSD_TYPE_SYSTEM } from '../../src/seeds/synthetic/generator.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/';
const NUCC = 'http://nucc.org/provider-taxonomy';
let srv: TestServer;
let tenant: string;
let tmp: string;

const role = (id: string, net: string, nucc: string, loc: string, extra: object = {}) => ({
  resourceType: 'PractitionerRole', id, active: true,
  extension: [{ url: `${PN}network-reference`, valueReference: { reference: `Organization/${net}` } },
    { url: `${PN}newpatients`, extension: [{ url: 'acceptingPatients', valueCodeableConcept: { coding: [{ code: 'newpt' }] } }] }],
  practitioner: { reference: `Practitioner/p-${id}` }, organization: { reference: 'Organization/grp' },
  specialty: [{ coding: [{ system: NUCC, code: nucc }] }], location: [{ reference: `Location/${loc}` }], ...extra,
});

const RESOURCES = [
  { resourceType: 'Organization', id: 'net1', name: 'Test Network One' },
  { resourceType: 'Organization', id: 'net2', name: 'Other Network' },
  { resourceType: 'Organization', id: 'grp', name: 'Dover Medical Group' },
  { resourceType: 'Organization', id: 'hosp', name: 'Kent General', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1999999984' }] },
  { resourceType: 'Location', id: 'dover', name: 'Dover office', position: { latitude: 39.1582, longitude: -75.5244 }, address: { line: ['1 Loockerman St'], city: 'Dover', state: 'DE', postalCode: '19901', district: 'Kent County' } },
  { resourceType: 'Location', id: 'nopos', name: 'Somewhere without coordinates', address: { city: 'Dover', state: 'DE', district: 'Kent' } },
  { resourceType: 'Practitioner', id: 'p-r1', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }], name: [{ family: 'Quinn', given: ['Ann'], prefix: ['Dr'] }] },
  role('r1', 'net1', '207Q00000X', 'dover'),
  role('r2', 'net2', '207RC0000X', 'dover'), // cardiology, but in another network
  role('r3', 'net1', '207RC0000X', 'dover', { period: { start: '2020-01-01', end: '2024-06-30' } }), // terminated
  role('r4', 'net1', '207RC0000X', 'nopos'), // no position: not counted, reported
  { resourceType: 'HealthcareService', id: 'h1', active: true, providedBy: { reference: 'Organization/hosp' }, location: [{ reference: 'Location/dover' }],
    extension: [{ url: BED_COUNT_EXTENSION_URL, valueInteger: 250 }], characteristic: [{ coding: [{ system: HSD_TYPE_SYSTEM, code: '040' }] }] },
  { resourceType: 'OrganizationAffiliation', id: 'oa1', active: true, period: { start: '2020-01-01' }, participatingOrganization: { reference: 'Organization/hosp' },
    network: [{ reference: 'Organization/net1' }], healthcareService: [{ reference: 'HealthcareService/h1' }] },
  { resourceType: 'InsurancePlan', id: 'plan1', network: [{ reference: 'Organization/net1' }], plan: [{ network: [{ reference: 'Organization/net2' }] }] },
];

before(async () => {
  srv = await startTestServer();
  tenant = srv.tenant;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'adequacy-'));
  await srv.services.db.withTenant(tenant, async (tx) => {
    for (const r of RESOURCES) {
      await tx.query(`INSERT INTO resources (tenant_id, resource_type, id, version_id, last_updated, content) VALUES ($1, $2, $3, 1, now(), $4)`, [tenant, r.resourceType, r.id, JSON.stringify(r)]);
    }
  });
});
after(async () => { await srv.close(); fs.rmSync(tmp, { recursive: true, force: true }); });

test('known answers: outside-network and terminated roles and position-less Locations are not counted; beds through the affiliation', async () => {
  const result = await runAdequacy(srv.services.db, { tenant, networks: ['net1'], counties: ['10001'], types: ['S03', '008', '040'], asOf: '2026-01-01', png: false });
  const file = (n: string) => fileBytes(result.files.find((f) => f.name === n)!).toString();
  const rows = parse(file('adequacy.csv'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(rows.map((r) => r.cms_type_code), ['008', '040', 'S03']);
  const [cardio, hosp, pc] = rows;
  assert.equal(pc.within_reach, '1');
  assert.equal(pc.accepting_new_within_reach, '1');
  assert.equal(pc.result, 'fail'); // Kent needs far more than one primary care provider
  assert.equal(cardio.within_reach, '0');
  assert.equal(cardio.status, 'no providers');
  assert.equal(cardio.result, 'fail');
  assert.equal(hosp.unit, 'beds');
  assert.equal(hosp.within_reach, '250');
  const summary = JSON.parse(file('summary.json'));
  assert.equal(summary.network.name, 'Test Network One');
  assert.deepEqual(summary.dataQuality.locationsWithoutPosition, [{ id: 'Location/nopos', name: 'Somewhere without coordinates', sites: 1 }]);
  const providers = parse(file('hsd-provider-table.csv'), { columns: true }) as Record<string, string>[];
  assert.equal(providers.length, 1);
  assert.equal(providers[0]['National Provider Identifier (NPI) Number'], '1234567893');
  assert.equal(providers[0]['Provider Specialty Code'], '002');
  assert.equal(providers[0]['SSA State/County Code'], '08000');
  assert.equal(providers[0]['Medical Group Affiliation'], 'Dover Medical Group');
  const facilities = parse(file('hsd-facility-table.csv'), { columns: true }) as Record<string, string>[];
  assert.equal(facilities.length, 1);
  assert.equal(facilities[0]['# of Staffed, Medicare-Certified Beds'], '250');
  assert.equal(facilities[0]['Facility Name'], 'Kent General');
  // identical inputs, identical bytes
  const again = await runAdequacy(srv.services.db, { tenant, networks: ['net1'], counties: ['10001'], types: ['S03', '008', '040'], asOf: '2026-01-01', png: false });
  for (const [i, f] of result.files.entries()) assert.ok(fileBytes(f).equals(fileBytes(again.files[i])), f.name);
  // before the termination date the terminated role counts
  const earlier = await runAdequacy(srv.services.db, { tenant, networks: ['net1'], counties: ['10001'], types: ['008'], asOf: '2024-01-01', png: false });
  const c2 = parse(fileBytes(earlier.files[0]).toString(), { columns: true }) as Record<string, string>[];
  assert.equal(c2[0].within_reach, '1');
});

test("an InsurancePlan's networks: one report per network, files named by network", async () => {
  const result = await runAdequacy(srv.services.db, { tenant, plan: 'plan1', counties: ['10001'], types: ['008'], asOf: '2026-01-01', png: false });
  assert.deepEqual(result.networks, ['net1', 'net2']);
  const csv = (net: string) => parse(fileBytes(result.files.find((f) => f.name === `${net}-adequacy.csv`)!).toString(), { columns: true }) as Record<string, string>[];
  assert.equal(csv('net1')[0].within_reach, '0'); // terminated and position-less cardiologists
  assert.equal(csv('net2')[0].within_reach, '1'); // the other network's cardiologist
  await assert.rejects(runAdequacy(srv.services.db, { tenant, networks: ['nope'], counties: ['10001'], asOf: '2026-01-01' }), /not found/);
});

test('CLI: npm run adequacy writes the report files and prints where they went', () => {
  const out = path.join(tmp, 'out');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'src', 'cli', 'adequacy.ts'), '--tenant', tenant, '--network', 'net1', '--state', 'DE', '--out', out, '--as-of', '2026-01-01'], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: tmp, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`Files written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(r.stdout, /Travel time: not assessed/);
  for (const f of ['adequacy.csv', 'hsd-provider-table.csv', 'hsd-facility-table.csv', 'map-all-types.svg', 'map-all-types.png', 'chart-share-by-type.svg', 'report.html', 'summary.json']) {
    assert.ok(fs.existsSync(path.join(out, f)), f);
  }
  const rows = parse(fs.readFileSync(path.join(out, 'adequacy.csv')), { columns: true }) as Record<string, string>[];
  assert.equal(new Set(rows.map((x) => x.fips)).size, 3); // Delaware's three counties
  const usage = spawnSync(process.execPath, [path.join(ROOT, 'src', 'cli', 'adequacy.ts'), '--tenant', tenant], { env: { ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: tmp }, encoding: 'utf8' });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /Usage/);
});

test('CLI: prints what the run found about travel time when the tenant has a travel-time matrix', { timeout: 600_000 }, async () => {
  const out = path.join(tmp, 'out-tt');
  const run = () => spawnSync(process.execPath, [path.join(ROOT, 'src', 'cli', 'adequacy.ts'), '--tenant', tenant, '--network', 'net1', '--state', 'DE', '--type', 'S03', '--no-png', '--out', out, '--as-of', '2026-01-01'], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: tmp, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 300_000,
  });
  const summary = () => JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
  try {
    // rows for Kent County only: one of Delaware's three counties
    await uploadTravelTimes(srv.services.db, tenant, Readable.from(['fips,location,minutes\n10001,dover,12\n']), { name: 'Vendor 2026Q1', by: null });
    let r = run();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Travel time: partly assessed, from the tenant's travel-time matrix "Vendor 2026Q1"/);
    assert.doesNotMatch(r.stdout, /Travel time: not assessed/);
    assert.equal(summary().travelTime, 'partly assessed');
    // rows for all three
    await uploadTravelTimes(srv.services.db, tenant, Readable.from(['fips,location,minutes\n10001,dover,12\n10003,dover,55\n10005,dover,40\n']), { name: 'Vendor 2026Q2', by: null });
    r = run();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Travel time: assessed in every county, from the tenant's travel-time matrix "Vendor 2026Q2"/);
    assert.equal(summary().travelTime, 'assessed');
  } finally {
    await deleteTravelTimes(srv.services.db, tenant);
  }
});
