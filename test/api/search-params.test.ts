/**
 * Search over the Plan-Net IG examples through the real service: every parameter type and modifier, prefixes, chains,
 * `_has`, OR/AND, malformed input, unknown parameters, deletion, and the CapabilityStatement's search section.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startTestServer, example, fhir, EXAMPLES_DIR, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let base: string;

before(async () => {
  srv = await startTestServer();
  base = srv.base;
  for (const f of fs.readdirSync(EXAMPLES_DIR).filter((n) => n.endsWith('.json')).sort()) {
    const r = example(f.slice(0, -5));
    const res = await fhir(`${base}/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
    assert.ok(res.status === 200 || res.status === 201, `${f}: ${res.status} ${res.text}`);
  }
});
after(async () => { await srv.close(); });

/** Ids of the match entries (all pages), sorted unless `ordered`. */
async function ids(query: string, opts: { ordered?: boolean; headers?: Record<string, string> } = {}): Promise<string[]> {
  const out: string[] = [];
  for (let url: string | undefined = `${base}/${query}`; url;) {
    const r = await fhir(url, { headers: opts.headers });
    assert.equal(r.status, 200, `${query}: ${r.text}`);
    out.push(...(r.body.entry ?? []).filter((e: any) => e.search?.mode === 'match').map((e: any) => e.resource.id));
    url = r.body.link?.find((l: any) => l.relation === 'next')?.url;
  }
  return opts.ordered ? out : out.sort();
}

async function status(query: string, headers?: Record<string, string>): Promise<{ status: number; body: any }> {
  const r = await fhir(`${base}/${query}`, { headers });
  return { status: r.status, body: r.body };
}

const NUCC = 'http://nucc.org/provider-taxonomy';
const ALL_ROLES = ['AnonRole', 'CounselorRole1', 'HansSoloRole1', 'JoeSmithRole1', 'JoeSmithRole2', 'JoeSmithRole3'];
const ANYTOWN_LOCS = ['CancerClinicLoc', 'HansSoloClinic', 'HospLoc1', 'HospLoc2', 'PharmLoc1'];

describe('string parameters', () => {
  test('default: case- and accent-insensitive starts-with on any part', async () => {
    assert.deepEqual(await ids('Organization?name=hart'), ['HartfordOrthopedics', 'Hospital']);
    assert.deepEqual(await ids('Organization?name=HÄRTFORD'), ['HartfordOrthopedics', 'Hospital']);
    assert.deepEqual(await ids('Organization?name=general'), [], 'starts-with, not contains');
    assert.deepEqual(await ids('Location?address-city=any'), ANYTOWN_LOCS);
    assert.deepEqual(await ids('Location?address-postalcode=00014-13'), ['PharmLoc2']);
    assert.deepEqual(await ids('Location?address=anytown'), ANYTOWN_LOCS, 'any part of the address');
    assert.deepEqual(await ids('Location?address=main'), [], 'a part starts with the value, not a word inside it');
    assert.deepEqual(await ids('Practitioner?family=smith'), ['Counselor', 'JoeSmith']);
    assert.deepEqual(await ids('Practitioner?given=hans'), ['HansSolo']);
    assert.deepEqual(await ids('Practitioner?name=solo'), ['HansSolo']);
    assert.deepEqual(await ids('InsurancePlan?name=acme of ct qhp g'), ['AcmeQHPGold']);
    assert.deepEqual(await ids('Organization?name=zzz'), []);
  });
  test(':exact is case- and accent-sensitive, whole value', async () => {
    assert.deepEqual(await ids('Organization?name:exact=Burr Clinic'), ['BurrClinic']);
    assert.deepEqual(await ids('Organization?name:exact=burr clinic'), []);
    assert.deepEqual(await ids('Organization?name:exact=Burr'), []);
    assert.deepEqual(await ids('Practitioner?family:exact=Smith'), ['Counselor', 'JoeSmith']);
  });
  test(':contains matches anywhere (pg_trgm)', async () => {
    assert.deepEqual(await ids('Organization?name:contains=CLINIC'), ['BurrClinic', 'CancerClinic', 'HamiltonClinic']);
    assert.deepEqual(await ids('Organization?name:contains=general'), ['Hospital']);
    assert.deepEqual(await ids('Location?address-city:contains=where'), ['PharmLoc3', 'PharmLoc4']);
    assert.deepEqual(await ids('Organization?name:contains=100%'), []);
  });
  test('modifiers follow the parameter type, not only what the IG declares (family declares only :exact)', async () => {
    assert.deepEqual(await ids('Practitioner?family:contains=MIT'), ['Counselor', 'JoeSmith']);
    assert.equal((await status('Practitioner?family:not=smith')).status, 400, ':not is a token modifier');
  });
});

describe('token parameters', () => {
  test('code, system|code, |code, system|', async () => {
    assert.deepEqual(await ids('PractitionerRole?specialty=207R00000X'), ['AnonRole', 'HansSoloRole1', 'JoeSmithRole1', 'JoeSmithRole2', 'JoeSmithRole3']);
    assert.deepEqual(await ids(`PractitionerRole?specialty=${encodeURIComponent(`${NUCC}|207RC0000X`)}`), ['JoeSmithRole3']);
    assert.deepEqual(await ids(`PractitionerRole?specialty=${encodeURIComponent('http://other|207RC0000X')}`), []);
    assert.deepEqual(await ids(`PractitionerRole?specialty=${encodeURIComponent('|207RC0000X')}`), [], 'the coding has a system');
    assert.deepEqual(await ids(`PractitionerRole?specialty=${encodeURIComponent(`${NUCC}|`)}`), ALL_ROLES);
    assert.deepEqual(await ids('Endpoint?connection-type=rest-non-fhir'), ['AcmeOfCTPortalEndpoint'], 'a Coding');
    assert.deepEqual(await ids(`Endpoint?connection-type=${encodeURIComponent('|rest-non-fhir')}`), [], 'the Coding has a system');
    assert.deepEqual(await ids('Organization?type=ntwk'), ['AcmeofCTPremNet', 'AcmeofCTStdNet']);
  });
  test(':not includes resources without the value', async () => {
    assert.deepEqual(await ids('PractitionerRole?specialty:not=207R00000X'), ['CounselorRole1']);
    assert.deepEqual(await ids('OrganizationAffiliation?specialty:not=3336C0003X'), ['BurrClinicAffil', 'ConnHIEAffil', 'HamiltonClinicAffil', 'HartfordOrthopedicAffil', 'PharmChainAffil2', 'PharmChainAffil3']);
  });
  test(':text searches display and text', async () => {
    assert.deepEqual(await ids('PractitionerRole?specialty:text=cardio'), ['JoeSmithRole3']);
    assert.deepEqual(await ids('HealthcareService?service-category:text=pharm'), ['PharmChainCompService', 'PharmChainMailService', 'PharmChainRetailService']);
  });
  test(':of-type on identifiers', async () => {
    const p = { ...example('Practitioner-HansSolo'), id: 'TypedNpi', identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NPI' }] }, system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }] };
    assert.ok([200, 201].includes((await fhir(`${base}/Practitioner/TypedNpi`, { method: 'PUT', json: p })).status));
    assert.deepEqual(await ids(`Practitioner?identifier:of-type=${encodeURIComponent('http://terminology.hl7.org/CodeSystem/v2-0203|NPI|1234567893')}`), ['TypedNpi']);
    assert.deepEqual(await ids(`Practitioner?identifier:of-type=${encodeURIComponent('http://terminology.hl7.org/CodeSystem/v2-0203|TAX|1234567893')}`), []);
    assert.deepEqual(await ids(`Practitioner?identifier=${encodeURIComponent('http://hl7.org/fhir/sid/us-npi|1234567893')}`), ['TypedNpi']);
    assert.equal((await status('Practitioner?identifier:of-type=NPI|123')).status, 400);
    assert.equal((await fhir(`${base}/Practitioner/TypedNpi`, { method: 'DELETE' })).status < 300, true);
  });
  test('a malformed token is a 400 naming the parameter', async () => {
    const r = await status(`PractitionerRole?specialty=${encodeURIComponent('a|b|c')}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.resourceType, 'OperationOutcome');
    assert.match(JSON.stringify(r.body), /specialty/);
  });
});

describe('reference parameters', () => {
  test('id, Type/id, absolute URL and :Type agree', async () => {
    for (const v of ['HansSolo', 'Practitioner/HansSolo', encodeURIComponent(`${base}/Practitioner/HansSolo`)]) {
      assert.deepEqual(await ids(`PractitionerRole?practitioner=${v}`), ['HansSoloRole1'], v);
    }
    assert.deepEqual(await ids('PractitionerRole?practitioner:Practitioner=HansSolo'), ['HansSoloRole1']);
    assert.deepEqual(await ids(`PractitionerRole?practitioner=${encodeURIComponent('http://elsewhere.example/fhir/Practitioner/HansSolo')}`), []);
    assert.deepEqual(await ids('PractitionerRole?location=Location/HospLoc2'), ['AnonRole', 'JoeSmithRole2']);
    assert.deepEqual(await ids('PractitionerRole?organization=Organization/Hospital'), ['JoeSmithRole1', 'JoeSmithRole3']);
    assert.equal((await status('PractitionerRole?practitioner:Location=x')).status, 400);
  });
  test('references to other servers are searchable by their url, never by a local id', async () => {
    const ext = 'https://other.example.org/fhir/Practitioner/HansSolo';
    const role = { ...example('PractitionerRole-CounselorRole1'), id: 'External', practitioner: { reference: ext } };
    assert.ok([200, 201].includes((await fhir(`${base}/PractitionerRole/External`, { method: 'PUT', json: role })).status));
    assert.deepEqual(await ids(`PractitionerRole?practitioner=${encodeURIComponent(ext)}`), ['External']);
    assert.deepEqual(await ids(`PractitionerRole?practitioner=${encodeURIComponent(`${ext}/_history/2`)}`), ['External']);
    assert.deepEqual(await ids('PractitionerRole?practitioner=Practitioner/HansSolo'), ['HansSoloRole1']);
    assert.deepEqual(await ids('PractitionerRole?practitioner.name=solo'), ['HansSoloRole1']);
    await fhir(`${base}/PractitionerRole/External`, { method: 'DELETE' });
  });
  test('extension references: network and coverage-area', async () => {
    assert.deepEqual(await ids('PractitionerRole?network=Organization/AcmeofCTStdNet'), ALL_ROLES);
    assert.deepEqual(await ids('PractitionerRole?network=AcmeofCTPremNet'), []);
    const prem = example('Organization-AcmeofCTPremNet');
    const area = prem.extension.find((e: any) => e.url.endsWith('location-reference')).valueReference.reference;
    assert.deepEqual(await ids(`Organization?coverage-area=${area}`), ['AcmeofCTPremNet']);
  });
  test('InsurancePlan owned-by, administered-by, coverage-area, network', async () => {
    assert.deepEqual(await ids('InsurancePlan?owned-by=Organization/Acme'), ['AcmeQHPBronze', 'AcmeQHPGold']);
    assert.deepEqual(await ids('InsurancePlan?administered-by=Acme'), ['AcmeQHPBronze', 'AcmeQHPGold']);
    assert.deepEqual(await ids('InsurancePlan?coverage-area=Location/StateOfCTLocation'), ['AcmeQHPBronze', 'AcmeQHPGold']);
    assert.deepEqual(await ids('InsurancePlan?network=Organization/AcmeofCTPremNet'), ['AcmeQHPGold']);
  });
});

describe('date parameters', () => {
  test('prefixes against an open Period (JoeSmith: period from 2020-07-07)', async () => {
    const cases: [string, string[]][] = [
      ['ge2020', ['JoeSmith']], ['gt2021', ['JoeSmith']], ['lt2020-07-07', []], ['le2020-07-07', ['JoeSmith']],
      ['sa2020-07-06', ['JoeSmith']], ['sa2020-07-07', []], ['eb2020-07-07', []], ['eq2020', []], ['ne2020', ['JoeSmith']],
      ['2020-07-07', []], ['ap2020-07-07', ['JoeSmith']],
    ];
    for (const [v, want] of cases) assert.deepEqual(await ids(`Practitioner?period=${v}`), want, v);
  });
  test('closed ranges, partial dates and comma = OR', async () => {
    const role = { ...example('PractitionerRole-CounselorRole1'), id: 'Dated', period: { start: '2021-03-01', end: '2021-03-31' } };
    assert.ok([200, 201].includes((await fhir(`${base}/PractitionerRole/Dated`, { method: 'PUT', json: role })).status));
    assert.deepEqual(await ids('PractitionerRole?date=2021-03'), ['Dated']);
    assert.deepEqual(await ids('PractitionerRole?period=2021'), ['Dated']);
    assert.deepEqual(await ids('PractitionerRole?date=2021-03-15'), []);
    assert.deepEqual(await ids('PractitionerRole?date=ge2021-04-01'), []);
    assert.deepEqual(await ids('PractitionerRole?date=lt2021-03-02'), ['Dated']);
    assert.deepEqual(await ids('PractitionerRole?date=eb2021-04,sa2030'), ['Dated']);
    assert.deepEqual(await ids('PractitionerRole?date=gt2021-03-01T10:00:00Z&date=lt2021-03-05'), ['Dated'], 'repeated = AND');
    await fhir(`${base}/PractitionerRole/Dated`, { method: 'DELETE' });
  });
  test('malformed dates and prefixes are 400s naming the parameter', async () => {
    for (const q of ['Practitioner?period=2020-13', 'Practitioner?period=xx2020', 'Practitioner?_lastUpdated=not-a-date', 'PractitionerRole?date=2021-02-30']) {
      const r = await status(q);
      assert.equal(r.status, 400, q);
      assert.match(JSON.stringify(r.body.issue), /period|_lastUpdated|date/, q);
    }
  });
});

describe('uri parameters', () => {
  const NET = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/plannet-Network';
  test('_profile equality, :below and :above', async () => {
    const nets = await ids('Organization?type=ntwk');
    const byProfile = await ids(`Organization?_profile=${encodeURIComponent(NET)}`);
    assert.deepEqual(byProfile, nets.filter((id) => byProfile.includes(id)));
    const withProfile = (await Promise.all(nets.map((id) => fhir(`${base}/Organization/${id}`)))).filter((r) => r.body.meta?.profile?.includes(NET)).map((r) => r.body.id);
    assert.deepEqual(byProfile, withProfile.sort());
    assert.deepEqual(await ids(`Organization?_profile:below=${encodeURIComponent('http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/plannet-Net')}`), withProfile.sort());
    assert.deepEqual(await ids(`Organization?_profile:above=${encodeURIComponent(`${NET}/sub/part`)}`), withProfile.sort());
    assert.deepEqual(await ids(`Organization?_profile=${encodeURIComponent('http://nowhere.example/x')}`), []);
  });
});

describe(':missing, OR and AND', () => {
  test(':missing on reference, token, string, date and _id', async () => {
    assert.deepEqual(await ids('PractitionerRole?practitioner:missing=true'), ['AnonRole', 'JoeSmithRole2', 'JoeSmithRole3']);
    assert.deepEqual(await ids('PractitionerRole?practitioner:missing=false'), ['CounselorRole1', 'HansSoloRole1', 'JoeSmithRole1']);
    assert.deepEqual(await ids('OrganizationAffiliation?specialty:missing=false'), ['PharmChainAffil1', 'PharmChainAffil2', 'PharmChainAffil3']);
    assert.deepEqual(await ids('HealthcareService?name:missing=false'), ['PharmChainCompService', 'PharmChainMailService', 'PharmChainRetailService']);
    assert.deepEqual(await ids('Practitioner?period:missing=false'), ['JoeSmith']);
    assert.deepEqual(await ids('Location?near:missing=true'), ['StateOfCTLocation']);
    assert.deepEqual(await ids('Location?_id:missing=true'), []);
    assert.equal((await status('Location?near:missing=maybe')).status, 400);
  });
  test('comma = OR, repeated = AND, across parameters = AND', async () => {
    assert.deepEqual(await ids('PractitionerRole?specialty=207RC0000X,101YP2500X'), ['CounselorRole1', 'JoeSmithRole3']);
    assert.deepEqual(await ids('PractitionerRole?specialty=207R00000X&specialty=207RC0000X'), ['JoeSmithRole3']);
    assert.deepEqual(await ids('PractitionerRole?specialty=207R00000X&location=HospLoc2'), ['AnonRole', 'JoeSmithRole2']);
    assert.deepEqual(await ids('Organization?name=hart,burr&type=fac'), ['BurrClinic', 'Hospital']);
    assert.deepEqual(await ids(`Organization?name=${encodeURIComponent('a\\,b')}`), [], 'escaped comma is part of the value');
  });
});

describe('chains', () => {
  test('every forward chain the CapabilityStatement lists parses and answers', async () => {
    const cs = JSON.parse(fs.readFileSync(new URL('../../profiles/search-parameters/plan-net-search-parameters.json', import.meta.url), 'utf8'));
    for (const e of cs.entry) {
      const sp = e.resource;
      for (const chained of sp.chain ?? []) {
        for (const type of sp.base) {
          const r = await status(`${type}?${sp.code}.${chained}=zzz-no-such-value`, { prefer: 'handling=strict' });
          assert.equal(r.status, 200, `${type}?${sp.code}.${chained}: ${JSON.stringify(r.body)}`);
        }
      }
    }
  });
  test('forward chains match through the referenced resource', async () => {
    assert.deepEqual(await ids('PractitionerRole?location.address-city=Anytown'), ['AnonRole', 'HansSoloRole1', 'JoeSmithRole1', 'JoeSmithRole2']);
    assert.deepEqual(await ids('PractitionerRole?location:Location.address-state=CT'), ['AnonRole', 'HansSoloRole1', 'JoeSmithRole1', 'JoeSmithRole2']);
    assert.deepEqual(await ids('PractitionerRole?network.name=ACME CT Pref'), ALL_ROLES);
    assert.deepEqual(await ids('PractitionerRole?network.name=nothing'), []);
    assert.deepEqual(await ids('PractitionerRole?organization.name=Hartford'), ['JoeSmithRole1', 'JoeSmithRole3']);
    assert.deepEqual(await ids('PractitionerRole?practitioner.name=smith'), ['CounselorRole1', 'JoeSmithRole1']);
    assert.deepEqual(await ids('PractitionerRole?service.service-category=pharm'), []);
    assert.deepEqual(await ids('PractitionerRole?service.service-category=emerg'), ['JoeSmithRole1']);
    assert.deepEqual(await ids('HealthcareService?organization.name=pharm'), ['PharmChainCompService', 'PharmChainMailService', 'PharmChainRetailService']);
    assert.deepEqual(await ids('HealthcareService?location.address-postalcode=00014-1334'), ['PharmChainRetailService']);
    assert.deepEqual(await ids('OrganizationAffiliation?participating-organization.type=prvgrp'), ['HartfordOrthopedicAffil', 'PharmChainAffil1', 'PharmChainAffil2', 'PharmChainAffil3']);
    assert.deepEqual(await ids('Organization?partof.name=acme'), ['AcmeofCTPremNet', 'AcmeofCTStdNet']);
    assert.deepEqual(await ids('Organization?partof:Organization._id=Hospital'), ['HamiltonClinic']);
  });
  test('two-level chains and chains on a :missing value', async () => {
    assert.deepEqual(await ids('PractitionerRole?location.organization.name=hartford general'), ['AnonRole', 'JoeSmithRole1', 'JoeSmithRole2']);
    assert.deepEqual(await ids('HealthcareService?location.partof:missing=true'), ['BurrClinicServices', 'CancerClinicService', 'HamiltonClinicServices', 'HansSoloService', 'HartfordOrthopedicServices', 'HospERService', 'PharmChainCompService', 'PharmChainRetailService']);
  });
  test('a chain on a non-reference parameter is a 400; an unknown chained name is unknown', async () => {
    assert.equal((await status('PractitionerRole?specialty.name=x')).status, 400);
    assert.equal((await status('PractitionerRole?location.nope=x', { prefer: 'handling=strict' })).status, 400);
  });
});

describe('_has (reverse chains)', () => {
  test('the Plan-Net reverse chains', async () => {
    assert.deepEqual(await ids(`Practitioner?_has:PractitionerRole:practitioner:specialty=${encodeURIComponent(`${NUCC}|207R00000X`)}`), ['HansSolo', 'JoeSmith']);
    assert.deepEqual(await ids('Practitioner?_has:PractitionerRole:practitioner:location=Location/HospLoc1'), ['JoeSmith']);
    assert.deepEqual(await ids('Practitioner?_has:PractitionerRole:practitioner:network=Organization/AcmeofCTStdNet'), ['Counselor', 'HansSolo', 'JoeSmith']);
    assert.deepEqual(await ids('Practitioner?_has:PractitionerRole:practitioner:role=co'), ['Counselor']);
    assert.deepEqual(await ids('Organization?_has:OrganizationAffiliation:participating-organization:specialty=3336C0003X'), ['PharmChain']);
    assert.deepEqual(await ids('Organization?_has:OrganizationAffiliation:participating-organization:location=Location/HospLoc2'), ['BurrClinic', 'HartfordOrthopedics']);
    assert.deepEqual(await ids('Organization?_has:InsurancePlan:owned-by:coverage-area=Location/StateOfCTLocation'), ['Acme']);
    assert.deepEqual(await ids('Location?_has:InsurancePlan:coverage-area:owned-by=Organization/Acme'), ['StateOfCTLocation']);
    assert.deepEqual(await ids('Organization?_has:PractitionerRole:network:location=Location/HospLoc1'), ['AcmeofCTStdNet']);
  });
  test('combined with other parameters, chains and nested _has', async () => {
    assert.deepEqual(await ids('HealthcareService?specialty=207Q00000X&_has:OrganizationAffiliation:service:network=Organization/AcmeofCTStdNet'), ['BurrClinicServices', 'HamiltonClinicServices']);
    assert.deepEqual(await ids('Practitioner?_has:PractitionerRole:practitioner:location.address-city=Anytown'), ['HansSolo', 'JoeSmith']);
    assert.deepEqual(await ids('Location?_has:HealthcareService:location:_has:OrganizationAffiliation:service:network=Organization/AcmeofCTStdNet'),
      ['HospLoc1', 'HospLoc2', 'PharmLoc1', 'PharmLoc2', 'PharmLoc3', 'PharmLoc4']);
    assert.deepEqual(await ids('Practitioner?_has:PractitionerRole:practitioner:specialty:not=207R00000X'), ['Counselor']);
  });
  test('malformed _has is a 400; an impossible one is unknown', async () => {
    assert.equal((await status('Practitioner?_has:PractitionerRole=x')).status, 400);
    assert.equal((await status('Practitioner?_has:PractitionerRole:location:specialty=x', { prefer: 'handling=strict' })).status, 400);
    assert.equal((await status('Location?_has:PractitionerRole:location:_has:Practitioner:_id=x')).status, 400, 'inner _has without a reference parameter');
  });
});

describe('near', () => {
  test('within a distance, sortable by distance', async () => {
    assert.deepEqual(await ids('Location?near=15|3|1|km'), ANYTOWN_LOCS);
    assert.deepEqual(await ids('Location?near=18|9|1|km'), ['PharmLoc2']);
    assert.deepEqual(await ids('Location?near=15|3|500|km'), [...ANYTOWN_LOCS, 'PharmLoc4'].sort());
    assert.deepEqual(await ids('Location?near=15|3|400|mi'), [...ANYTOWN_LOCS, 'PharmLoc3', 'PharmLoc4'].sort());
    const sorted = await ids('Location?near=15|3|2000|km&_sort=near', { ordered: true });
    assert.deepEqual(sorted.slice(5), ['PharmLoc4', 'PharmLoc3', 'PharmLoc2']);
    const far = await ids('Location?near=15|3|2000|km&_sort=-near&_count=2', { ordered: true });
    assert.deepEqual(far.slice(0, 3), ['PharmLoc2', 'PharmLoc3', 'PharmLoc4']);
    assert.deepEqual(await ids('Location?near=15|3|1|km&address-city=nowhere'), []);
  });
  test('malformed near is a 400', async () => {
    for (const v of ['abc', '95|3|1|km', '15|3|1|parsecs', '15|3|-1|km', '15|3|1|km,16|3|1|km']) {
      assert.equal((await status(`Location?near=${encodeURIComponent(v)}`)).status, 400, v);
    }
    assert.equal((await status('Location?_sort=near')).status, 400);
  });
});

describe('unknown parameters and strict handling', () => {
  test('lenient: ignored, left out of the self link, reported in an outcome entry', async () => {
    const r = await fhir(`${base}/Practitioner?no-such-param=x&family=smith`);
    assert.equal(r.status, 200);
    const self = r.body.link.find((l: any) => l.relation === 'self').url as string;
    assert.ok(!self.includes('no-such-param') && self.includes('family=smith'));
    const outcome = r.body.entry.find((e: any) => e.search.mode === 'outcome');
    assert.equal(outcome.resource.resourceType, 'OperationOutcome');
    assert.match(JSON.stringify(outcome.resource), /no-such-param/);
    assert.deepEqual(r.body.entry.filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.id).sort(), ['Counselor', 'JoeSmith']);
  });
  test('strict: 400', async () => {
    const r = await status('Practitioner?no-such-param=x', { prefer: 'handling=strict' });
    assert.equal(r.status, 400);
    assert.match(JSON.stringify(r.body), /no-such-param/);
  });
  test('an unsupported modifier is a 400 either way', async () => {
    assert.equal((await status('PractitionerRole?specialty:below=207')).status, 400);
    assert.equal((await status('Practitioner?family:fuzzy=smith')).status, 400);
  });
  test('empty values are 400s', async () => {
    assert.equal((await status('Practitioner?family=')).status, 400);
    assert.equal((await status('PractitionerRole?specialty=a,,b')).status, 400);
  });
});

describe('deleted resources', () => {
  test('never match, never chain, never included', async () => {
    const loc = { ...example('Location-PharmLoc4'), id: 'Doomed', address: { city: 'Doomtown', state: 'CT' } };
    const role = { ...example('PractitionerRole-CounselorRole1'), id: 'DoomedRole', location: [{ reference: 'Location/Doomed' }] };
    await fhir(`${base}/Location/Doomed`, { method: 'PUT', json: loc });
    await fhir(`${base}/PractitionerRole/DoomedRole`, { method: 'PUT', json: role });
    assert.deepEqual(await ids('Location?address-city=doomtown'), ['Doomed']);
    assert.deepEqual(await ids('PractitionerRole?location.address-city=doomtown'), ['DoomedRole']);
    await fhir(`${base}/Location/Doomed`, { method: 'DELETE' });
    assert.deepEqual(await ids('Location?address-city=doomtown'), []);
    assert.deepEqual(await ids('Location?_id=Doomed'), []);
    assert.deepEqual(await ids('PractitionerRole?location.address-city=doomtown'), []);
    assert.deepEqual(await ids('PractitionerRole?location.address-city:missing=true&_id=DoomedRole'), [], 'a deleted target is not a target without a city');
    const inc = await fhir(`${base}/PractitionerRole?_id=DoomedRole&_include=PractitionerRole:location`);
    assert.deepEqual(inc.body.entry.map((e: any) => e.search.mode), ['match']);
    // re-created: its references resolve again
    await fhir(`${base}/Location/Doomed`, { method: 'PUT', json: loc });
    assert.deepEqual(await ids('PractitionerRole?location.address-city=doomtown'), ['DoomedRole']);
    await fhir(`${base}/PractitionerRole/DoomedRole`, { method: 'DELETE' });
    await fhir(`${base}/Location/Doomed`, { method: 'DELETE' });
  });
  test('a reference written before its target resolves once the target exists', async () => {
    const role = { ...example('PractitionerRole-CounselorRole1'), id: 'EarlyRole', location: [{ reference: 'Location/Late' }] };
    await fhir(`${base}/PractitionerRole/EarlyRole`, { method: 'PUT', json: role });
    assert.deepEqual(await ids('PractitionerRole?location=Location/Late'), ['EarlyRole'], 'searchable by id before the target exists');
    assert.deepEqual(await ids('PractitionerRole?location.address-city=latetown'), []);
    await fhir(`${base}/Location/Late`, { method: 'PUT', json: { ...example('Location-PharmLoc4'), id: 'Late', address: { city: 'Latetown', state: 'CT' } } });
    assert.deepEqual(await ids('PractitionerRole?location.address-city=latetown'), ['EarlyRole']);
    const inc = await fhir(`${base}/PractitionerRole?_id=EarlyRole&_include=PractitionerRole:location`);
    assert.deepEqual(inc.body.entry.map((e: any) => `${e.search.mode}:${e.resource.id}`), ['match:EarlyRole', 'include:Late']);
    await fhir(`${base}/PractitionerRole/EarlyRole`, { method: 'DELETE' });
    await fhir(`${base}/Location/Late`, { method: 'DELETE' });
  });
});

describe('CapabilityStatement', () => {
  test('lists every supported parameter with its definition, modifiers, chains, includes and revincludes', async () => {
    const cs = (await fhir(`${base}/metadata`)).body;
    const planNet = JSON.parse(fs.readFileSync(new URL('../../profiles/plan-net-capability-statement.json', import.meta.url), 'utf8'));
    for (const want of planNet.rest[0].resource) {
      const got = cs.rest[0].resource.find((r: any) => r.type === want.type);
      assert.ok(got, want.type);
      for (const sp of want.searchParam) {
        const p = got.searchParam.find((x: any) => x.name === sp.name);
        assert.ok(p, `${want.type}?${sp.name}`);
        assert.equal(p.definition, sp.definition);
      }
      for (const inc of want.searchInclude ?? []) assert.ok(got.searchInclude.includes(inc), `${want.type} include ${inc}`);
      for (const inc of want.searchRevInclude ?? []) assert.ok(got.searchRevInclude.includes(inc), `${want.type} revinclude ${inc}`);
    }
    const loc = cs.rest[0].resource.find((r: any) => r.type === 'Location');
    assert.ok(loc.searchParam.some((p: any) => p.name === 'near' && p.definition === 'http://hl7.org/fhir/SearchParameter/Location-near'));
    const role = cs.rest[0].resource.find((r: any) => r.type === 'PractitionerRole');
    assert.match(role.searchParam.find((p: any) => p.name === 'location').documentation, /Chains:.*address-city/);
    assert.match(role.searchParam.find((p: any) => p.name === 'specialty').documentation, /:not.*:text/);
    for (const r of cs.rest[0].resource) for (const p of r.searchParam) assert.ok(p.definition, `${r.type}?${p.name} has a definition`);
  });
});

describe('matching rids for streaming consumers (bulk export _typeFilter)', () => {
  test('every match, unpaged, tenant-scoped; unknown parameters are 400s', async () => {
    const engine = srv.services.search as unknown as { matchingRidsQuery(t: string, type: string, q: [string, string][]): { text: string; values: unknown[] } };
    const run = (type: string, q: [string, string][]) => srv.database.db.withTenant(srv.tenant, async (tx) => {
      const sql = engine.matchingRidsQuery(srv.tenant, type, q);
      const { rows } = await tx.query(`SELECT r.id FROM resources r WHERE r.tenant_id = $1 AND r.rid IN (${sql.text}) ORDER BY r.id`, sql.values);
      return rows.map((r) => r.id as string);
    });
    assert.deepEqual(await run('PractitionerRole', [['specialty', '207R00000X']]), ['AnonRole', 'HansSoloRole1', 'JoeSmithRole1', 'JoeSmithRole2', 'JoeSmithRole3']);
    assert.deepEqual(await run('Practitioner', [['_has:PractitionerRole:practitioner:specialty', '207R00000X']]), ['HansSolo', 'JoeSmith']);
    assert.deepEqual(await run('PractitionerRole', [['network', 'Organization/AcmeofCTStdNet']]), ALL_ROLES, 'references resolved inside the query');
    assert.deepEqual(await run('PractitionerRole', [['practitioner', 'Practitioner/Nobody']]), []);
    assert.equal((await run('Location', [])).length, 9);
    assert.throws(() => engine.matchingRidsQuery(srv.tenant, 'Location', [['nope', 'x']]), /nope/);
  });
});

describe('_has strategies', () => {
  test('probing the sources and walking the candidates give the same answers', async () => {
    const { pageQuery } = await import('../../src/search/sql/page.ts');
    const { resolveTargets } = await import('../../src/search/search-engine.ts');
    const engine = srv.services.search as unknown as import('../../src/search/search-engine.ts').RegistrySearchEngine;
    const cases: [string, [string, string][]][] = [
      ['Practitioner', [['_has:PractitionerRole:practitioner:specialty', `${NUCC}|207R00000X`]]],
      ['Practitioner', [['_has:PractitionerRole:practitioner:specialty:not', '207R00000X']]],
      ['Organization', [['_has:OrganizationAffiliation:participating-organization:location', 'Location/HospLoc2']]],
      ['Location', [['_has:HealthcareService:location:_has:OrganizationAffiliation:service:network', 'Organization/AcmeofCTStdNet']]],
      ['HealthcareService', [['specialty', '207Q00000X'], ['_has:OrganizationAffiliation:service:network', 'Organization/AcmeofCTStdNet']]],
    ];
    for (const [type, q] of cases) {
      const answers: string[][] = [];
      for (const strategy of ['probe', 'walk', undefined] as const) {
        answers.push(await srv.database.db.withTenant(srv.tenant, async (tx) => {
          const req = engine.parse(type, q, { baseUrl: base, strict: true, defaultCount: 100, maxCount: 100 });
          await resolveTargets(tx, req);
          for (const c of req.criteria) if (c.kind === 'has') c.strategy = strategy;
          const sql = pageQuery(req, srv.tenant, 101, undefined);
          return (await tx.query(sql.text, sql.values)).rows.map((r) => r.id as string).sort();
        }));
      }
      assert.deepEqual(answers[1], answers[0], `${type}?${new URLSearchParams(q)} walk = probe`);
      assert.deepEqual(answers[2], answers[0], `${type}?${new URLSearchParams(q)} planner's choice = probe`);
      assert.ok(answers[0].length > 0, `${type}?${new URLSearchParams(q)} finds something`);
    }
  });
});

describe('planned strategies (collect or walk, probe, hash or scan)', () => {
  type Engine = import('../../src/search/search-engine.ts').RegistrySearchEngine;
  type Req = import('../../src/search/parse/query.ts').SearchRequest;
  /** Every page (2 rows each, through keyset cursors) of the query with the strategies `force` sets, in order; and the count. */
  async function pages(type: string, q: [string, string][], force: (req: Req) => void): Promise<{ ids: string[]; count: number }> {
    const { pageQuery, countQuery } = await import('../../src/search/sql/page.ts');
    const { resolveTargets, planCriteria } = await import('../../src/search/search-engine.ts');
    const engine = srv.services.search as unknown as Engine;
    return srv.database.db.withTenant(srv.tenant, async (tx) => {
      const req = engine.parse(type, q, { baseUrl: base, strict: true, defaultCount: 2, maxCount: 2 });
      await resolveTargets(tx, req);
      await planCriteria(tx, req);
      force(req);
      const out: string[] = [];
      let cursor: import('../../src/search/sql/page.ts').CursorState | undefined;
      for (let i = 0; i < 50; i++) {
        const sql = pageQuery(req, srv.tenant, 3, cursor);
        const { rows } = await tx.query(sql.text, sql.values);
        out.push(...rows.slice(0, 2).map((r) => r.id as string));
        if (rows.length <= 2) break;
        cursor = { v: 1, s: '', k: [], t: Number(rows[1].rid) };
      }
      const c = countQuery(req, srv.tenant);
      return { ids: out, count: (await tx.query(c.text, c.values)).rows[0].n as number };
    });
  }

  test('the planner picks collect and probe for a small directory', async () => {
    const { resolveTargets, planCriteria } = await import('../../src/search/search-engine.ts');
    const engine = srv.services.search as unknown as Engine;
    const plan = (type: string, q: [string, string][]) => srv.database.db.withTenant(srv.tenant, async (tx) => {
      const req = engine.parse(type, q, { baseUrl: base, strict: true, defaultCount: 20, maxCount: 20 });
      await resolveTargets(tx, req);
      await planCriteria(tx, req);
      return req.criteria.map((c) => ('strategy' in c ? c.strategy : undefined));
    });
    assert.deepEqual(await plan('PractitionerRole', [['location.address-city', 'Anytown']]), ['collect']);
    assert.deepEqual(await plan('Practitioner', [['name', 'smi']]), ['collect']);
    assert.deepEqual(await plan('Practitioner', [['name', 'smi'], ['_sort', 'family']]), [undefined], 'sorted: the whole set is read anyway');
    assert.deepEqual(await plan('Practitioner', [['_has:PractitionerRole:practitioner:specialty', `${NUCC}|207R00000X`]]), ['probe']);
    assert.deepEqual(await plan('PractitionerRole', [['practitioner.name:contains', 'smi']]), ['collect'], ':contains inside a chain (the tenant is bound though unused)');
  });

  test('the counts are reused per set for a while (one query for the first request, none for the next)', async () => {
    const { resolveTargets, planCriteria, clearStrategyCounts } = await import('../../src/search/search-engine.ts');
    const engine = srv.services.search as unknown as Engine;
    clearStrategyCounts();
    const queries = (type: string, q: [string, string][]) => srv.database.db.withTenant(srv.tenant, async (tx) => {
      let n = 0;
      const counting = { ...tx, tenant: tx.tenant, query: (text: string, values?: unknown[]) => { n++; return tx.query(text, values); } } as typeof tx;
      const req = engine.parse(type, q, { baseUrl: base, strict: true, defaultCount: 20, maxCount: 20 });
      await resolveTargets(tx, req);
      await planCriteria(counting, req);
      return n;
    });
    const has: [string, string][] = [['_has:PractitionerRole:practitioner:specialty', `${NUCC}|207R00000X`]];
    assert.equal(await queries('Practitioner', has), 1);
    assert.equal(await queries('Practitioner', has), 0, 'reused');
    assert.equal(await queries('Practitioner', [['_has:PractitionerRole:practitioner:specialty', `${NUCC}|207Q00000X`]]), 1, 'another value');
    assert.equal(await queries('Practitioner', [['name', 'smi']]), 1);
    clearStrategyCounts();
    assert.equal(await queries('Practitioner', has), 1, 'forgotten');
  });

  test('every strategy gives the same pages, in the same order, and the same count', async () => {
    const chains: [string, [string, string][]][] = [
      ['PractitionerRole', [['location.address-city', 'Anytown']]],
      ['PractitionerRole', [['location.address-city', 'Anytown'], ['specialty', '207R00000X']]],
      ['PractitionerRole', [['practitioner.name', 'smith,solo']]],
      ['PractitionerRole', [['location.organization.name', 'hartford general']]],
      ['PractitionerRole', [['network.name', 'nothing']]],
      ['PractitionerRole', [['practitioner.name:contains', 'smi']]],
      ['Practitioner', [['name', 's']]],
      ['Practitioner', [['name', 'smith,HANS']]],
      ['Organization', [['name', 'hart,burr'], ['type', 'fac']]],
      ['Location', [['address-city', 'any']]],
      ['Location', [['address', 'anytown']]],
      ['Organization', [['name', 'zzz']]],
    ];
    for (const [type, q] of chains) {
      const answers = [];
      for (const strategy of ['collect', 'walk', undefined] as const) {
        answers.push(await pages(type, q, (req) => { for (const c of req.criteria) if (c.kind === 'chain' || c.kind === 'param') c.strategy = strategy; }));
      }
      assert.deepEqual(answers[1], answers[0], `${type}?${new URLSearchParams(q)} walk = collect`);
      assert.deepEqual(answers[2], answers[0], `${type}?${new URLSearchParams(q)} unplanned = collect`);
      assert.equal(answers[0].count, answers[0].ids.length);
      assert.equal(new Set(answers[0].ids).size, answers[0].ids.length, 'no duplicates across pages');
    }
    const has: [string, [string, string][]][] = [
      ['Practitioner', [['_has:PractitionerRole:practitioner:specialty', `${NUCC}|207R00000X`]]],
      ['Practitioner', [['_has:PractitionerRole:practitioner:specialty:not', '207R00000X']]],
      ['Practitioner', [['_has:PractitionerRole:practitioner:location.address-city', 'Anytown']]],
      ['Organization', [['_has:OrganizationAffiliation:participating-organization:location', 'Location/HospLoc2']]],
      ['Location', [['_has:HealthcareService:location:_has:OrganizationAffiliation:service:network', 'Organization/AcmeofCTStdNet']]],
      ['Location', [['_has:PractitionerRole:location:specialty', '207R00000X'], ['_has:PractitionerRole:location:practitioner', 'Practitioner/JoeSmith']]],
      ['Organization', [['_has:PractitionerRole:organization:specialty', '207R00000X'], ['_id', 'Hospital,BurrClinic']]],
    ];
    for (const [type, q] of has) {
      const answers = [];
      for (const strategy of ['probe', 'walk', 'hash', 'scan', undefined] as const) {
        answers.push(await pages(type, q, (req) => { for (const c of req.criteria) if (c.kind === 'has') c.strategy = strategy; }));
      }
      for (let i = 1; i < answers.length; i++) assert.deepEqual(answers[i], answers[0], `${type}?${new URLSearchParams(q)} strategy ${i} = probe`);
      assert.ok(answers[0].ids.length > 0, `${type}?${new URLSearchParams(q)} finds something`);
      assert.equal(answers[0].count, answers[0].ids.length);
    }
  });
});
