import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createValidator,
  isPlanNetType,
  NETWORK_PROFILE,
  ORGANIZATION_PROFILE,
  PLAN_NET_TYPES,
  type ValidationIssue,
} from '../../src/validation/validator.ts';
import { isValidNpi, npiCheckDigit } from '../../src/validation/npi.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLES_DIR = resolve(REPO_ROOT, 'seeds', 'plan-net-examples');


const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net';

type Json = { resourceType: string; [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const exampleFiles = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort();
const examples = new Map<string, Json>(exampleFiles.map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(EXAMPLES_DIR, f), 'utf8')) as Json]));
const validator = createValidator();

function example(name: string): Json {
  const r = examples.get(name);
  assert.ok(r, `example ${name} exists`);
  return structuredClone(r);
}
const errorsOf = (issues: ValidationIssue[]): ValidationIssue[] => issues.filter((i) => i.severity === 'error');
const warningsOf = (issues: ValidationIssue[]): ValidationIssue[] => issues.filter((i) => i.severity === 'warning');
const fmt = (issues: ValidationIssue[]): string => issues.map((i) => `${i.severity} ${i.code} ${i.expression}: ${i.diagnostics}`).join('\n');

/** Asserts the resource fails with an error at `expression` (and, if given, with that issue code). */
function assertError(resource: unknown, expression: string, code?: string): ValidationIssue {
  const issues = validator.validate(resource);
  const hit = errorsOf(issues).find((i) => i.expression === expression && (code === undefined || i.code === code));
  assert.ok(hit, `expected an error${code ? ` (${code})` : ''} at ${expression}, got:\n${fmt(issues)}`);
  return hit;
}

test('the 49 IG examples are all present and validate with zero errors (and zero warnings)', () => {
  assert.equal(exampleFiles.length, 49);
  const failures: string[] = [];
  for (const [name, r] of examples) {
    const issues = validator.validate(r);
    if (issues.length > 0) failures.push(`${name}:\n${fmt(issues)}`);
  }
  assert.deepEqual(failures, []);
});

test('profile selection: Network vs Organization by type ntwk, meta.profile wins, one profile per type', () => {
  assert.equal(validator.profileFor(example('Organization-AcmeofCTStdNet')), NETWORK_PROFILE);
  assert.equal(validator.profileFor(example('Organization-Acme')), ORGANIZATION_PROFILE);
  const bare = { resourceType: 'Organization', type: [{ coding: [{ system: `${PN}/CodeSystem/OrgTypeCS`, code: 'ntwk' }] }] };
  assert.equal(validator.profileFor(bare), NETWORK_PROFILE);
  assert.equal(validator.profileFor({ resourceType: 'Organization' }), ORGANIZATION_PROFILE);
  // declared Plan-Net profile (versioned canonical too) is used when it is for this resource type
  assert.equal(validator.profileFor({ ...bare, meta: { profile: [`${ORGANIZATION_PROFILE}|1.1.0`] } }), ORGANIZATION_PROFILE);
  assert.equal(validator.profileFor({ resourceType: 'Organization', meta: { profile: [NETWORK_PROFILE] } }), NETWORK_PROFILE);
  assert.equal(validator.profileFor({ resourceType: 'Practitioner', meta: { profile: [NETWORK_PROFILE] } }), `${PN}/StructureDefinition/plannet-Practitioner`);
  for (const t of PLAN_NET_TYPES) if (t !== 'Organization') assert.equal(validator.profileFor({ resourceType: t }), `${PN}/StructureDefinition/plannet-${t}`);
  assert.throws(() => validator.profileFor({ resourceType: 'Patient' }));
  assert.equal(isPlanNetType('PractitionerRole'), true);
  assert.equal(isPlanNetType('Patient'), false);
  assert.equal(PLAN_NET_TYPES.length, 8);
});

test('not a Plan-Net resource: non-object, missing resourceType, other type', () => {
  assert.equal(validator.validate('x')[0].code, 'structure');
  assert.equal(validator.validate([])[0].code, 'structure');
  assert.equal(validator.validate({ id: 'a' })[0].code, 'required');
  const [issue] = validator.validate({ resourceType: 'Patient', id: 'p' });
  assert.equal(issue.code, 'not-supported');
  assert.equal(issue.severity, 'error');
});

test('missing Practitioner.identifier is a required error', () => {
  const r = example('Practitioner-HansSolo');
  delete r.identifier;
  const i = assertError(r, 'Practitioner.identifier', 'required');
  assert.match(i.diagnostics, /plannet-Practitioner/);
});

test('Practitioner.name.family: required, but a data-absent-reason extension in _family satisfies it', () => {
  const r = example('Practitioner-HansSolo');
  delete r.name[0].family;
  assertError(r, 'Practitioner.name[0].family', 'required');
  assert.equal(errorsOf(validator.validate(r)).length, 1, 'one issue, not one per anyOf branch');
  r.name[0]._family = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };
  assert.deepEqual(validator.validate(r), []);
});

test('Practitioner.identifier.system is required per identifier', () => {
  const r = example('Practitioner-HansSolo');
  r.identifier.push({ value: '123' });
  assertError(r, 'Practitioner.identifier[1].system', 'required');
});

test('Network with a wrong type code fails the required NetworkTypeVS binding on Organization.type', () => {
  const r = example('Organization-AcmeofCTStdNet'); // declares plannet-Network
  r.type[0].coding[0].code = 'prvgrp';
  const i = assertError(r, 'Organization.type[0]', 'code-invalid');
  assert.match(i.diagnostics, /NetworkTypeVS/);
  assert.match(i.diagnostics, /prvgrp/);
  assert.equal(errorsOf(validator.validate(r)).length, 1);
});

test('Network: partOf required, telecom prohibited, exactly one type', () => {
  const r = example('Organization-AcmeofCTStdNet');
  delete r.partOf;
  r.telecom = [{ system: 'phone', value: '555-0100' }];
  r.type.push(r.type[0]);
  assertError(r, 'Organization.partOf', 'required');
  assertError(r, 'Organization.telecom', 'structure');
  assertError(r, 'Organization.type', 'structure');
});

test('Organization (non-network) needs type and address; org-2 forbids home addresses', () => {
  const r = example('Organization-BurrClinic');
  delete r.type;
  delete r.address;
  assertError(r, 'Organization.type', 'required');
  assertError(r, 'Organization.address', 'required');
  const home = example('Organization-BurrClinic');
  home.address[0].use = 'home';
  assertError(home, 'Organization.address[0].use', 'invariant');
});

test('bad code in a required binding (PractitionerRole.specialty, PractitionerRole.code)', () => {
  const r = example('PractitionerRole-HansSoloRole1');
  r.specialty[0].coding[0].code = '999999999X';
  const i = assertError(r, 'PractitionerRole.specialty[0]', 'code-invalid');
  assert.match(i.diagnostics, /IndividualAndGroupSpecialtiesVS/);
  const r2 = example('PractitionerRole-HansSoloRole1');
  r2.code[0].coding[0].system = 'http://example.org/roles'; // right code, wrong system
  assertError(r2, 'PractitionerRole.code[0]', 'code-invalid');
  // a THO practitioner-role code (whole code system included in PractitionerRoleVS) is fine
  const r3 = example('PractitionerRole-HansSoloRole1');
  r3.code = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/practitioner-role', code: 'doctor' }] }];
  assert.deepEqual(errorsOf(validator.validate(r3)), []);
});

test('1.2.0 SpecialtiesVS additions are accepted on HealthcareService.specialty', () => {
  const r = example('HealthcareService-BurrClinicServices');
  r.specialty = [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '207VC0300X' }] }];
  assert.deepEqual(errorsOf(validator.validate(r)), []);
});

test('wrong datatype is a single structure error', () => {
  const r = example('Practitioner-HansSolo');
  r.active = 'true';
  const issues = errorsOf(validator.validate(r));
  assert.equal(issues.length, 1, fmt(issues));
  assert.equal(issues[0].expression, 'Practitioner.active');
  assert.equal(issues[0].code, 'structure');
  assert.match(issues[0].diagnostics, /boolean/);
  const r2 = example('Location-HospLoc1');
  r2.position = { latitude: '41.7', longitude: -72.6 };
  assertError(r2, 'Location.position.latitude', 'structure');
});

test('unknown properties are errors, at the top level and nested', () => {
  const r = example('Practitioner-HansSolo');
  r.foo = 1;
  r.name[0].bar = 2;
  assertError(r, 'Practitioner.foo', 'structure');
  assertError(r, 'Practitioner.name[0].bar', 'structure');
});

test('invalid id format', () => {
  const r = example('Practitioner-HansSolo');
  r.id = 'not a valid id!';
  const i = assertError(r, 'Practitioner.id', 'value');
  assert.match(i.diagnostics, /id/);
  const long = example('Endpoint-AcmeOfCTPortalEndpoint');
  long.id = 'a'.repeat(65);
  assertError(long, 'Endpoint.id', 'value');
});

test('Location: position without latitude, mode prohibited, status fixed to active', () => {
  const r = example('Location-HospLoc1');
  r.position = { longitude: -72.5 };
  r.mode = 'instance';
  r.status = 'inactive';
  assertError(r, 'Location.position.latitude', 'required');
  assertError(r, 'Location.mode', 'structure');
  assertError(r, 'Location.status', 'value');
});

test('InsurancePlan without ownedBy; one type only; network-or-plan-Network; plan-type-is-distinct', () => {
  const r = example('InsurancePlan-AcmeQHPBronze');
  delete r.ownedBy;
  assertError(r, 'InsurancePlan.ownedBy', 'required');
  const r2 = example('InsurancePlan-AcmeQHPBronze');
  r2.type.push(r2.type[0]);
  assertError(r2, 'InsurancePlan.type', 'structure');
  const r3 = example('InsurancePlan-AcmeQHPBronze');
  delete r3.network;
  assertError(r3, 'InsurancePlan', 'invariant');
  r3.plan[0].network = [{ reference: 'Organization/AcmeofCTStdNet' }];
  assert.deepEqual(errorsOf(validator.validate(r3)), []);
  const r4 = example('InsurancePlan-AcmeQHPBronze');
  r4.plan.push(structuredClone(r4.plan[0]));
  assertError(r4, 'InsurancePlan.plan', 'invariant');
});

test('Endpoint: address required, one payloadType, status fixed', () => {
  const r = example('Endpoint-AcmeOfCTPortalEndpoint');
  delete r.address;
  r.payloadType.push(r.payloadType[0]);
  r.status = 'off';
  assertError(r, 'Endpoint.address', 'required');
  assertError(r, 'Endpoint.payloadType', 'structure');
  assertError(r, 'Endpoint.status', 'value');
});

test('extension slices: max 1 network-reference, value type checked, complex extensions checked', () => {
  const r = example('PractitionerRole-HansSoloRole1');
  r.extension.push(structuredClone(r.extension[0]));
  const i = assertError(r, 'PractitionerRole.extension', 'structure');
  assert.match(i.diagnostics, /network-reference/);

  const r2 = example('PractitionerRole-HansSoloRole1');
  r2.extension[0] = { url: `${PN}/StructureDefinition/network-reference`, valueString: 'Organization/AcmeofCTStdNet' };
  assertError(r2, 'PractitionerRole.extension[0].valueString', 'structure');
  assertError(r2, 'PractitionerRole.extension[0].value', 'required');

  // qualification: status must be 'active' (fixed), code sub-extension required
  const r3 = example('PractitionerRole-HansSoloRole1');
  const q = r3.extension[1];
  assert.equal(q.url, `${PN}/StructureDefinition/qualification`);
  q.extension = q.extension.filter((e: Json) => e.url !== 'code');
  q.extension.find((e: Json) => e.url === 'status').valueCode = 'inactive';
  assertError(r3, 'PractitionerRole.extension[1].extension', 'required');
  assertError(r3, 'PractitionerRole.extension[1].extension[0].valueCode', 'value');

  // newpatients: acceptingPatients bound (required) to AcceptingPatientsVS
  const loc = example('Location-HansSoloClinic');
  const np = loc.extension.findIndex((e: Json) => e.url === `${PN}/StructureDefinition/newpatients`);
  assert.ok(np >= 0);
  const sub = loc.extension[np].extension.findIndex((e: Json) => e.url === 'acceptingPatients');
  loc.extension[np].extension[sub].valueCodeableConcept.coding[0].code = 'maybe';
  assertError(loc, `Location.extension[${np}].extension[${sub}].valueCodeableConcept`, 'code-invalid');
});

test('HealthcareService: category required; at most one category from HealthcareServiceCategoryVS', () => {
  const r = example('HealthcareService-BurrClinicServices');
  delete r.category;
  assertError(r, 'HealthcareService.category', 'required');
  const r2 = example('HealthcareService-BurrClinicServices');
  r2.category.push({ coding: [{ system: `${PN}/CodeSystem/HealthcareServiceCategoryCS`, code: 'dent' }] });
  assertError(r2, 'HealthcareService.category', 'structure');
  // a second category from another code system is allowed in 1.2.0 (a warning for 1.1.0 consumers)
  const r3 = example('HealthcareService-BurrClinicServices');
  r3.category.push({ coding: [{ system: 'http://example.org/categories', code: 'x' }] });
  const issues = validator.validate(r3);
  assert.deepEqual(errorsOf(issues), []);
  assert.equal(warningsOf(issues).length, 1);
});

test('NPI check digit: a warning by default, an error with warningsAsErrors', () => {
  assert.equal(isValidNpi('1407071236'), true);
  assert.equal(isValidNpi('9941339100'), true);
  assert.equal(isValidNpi('1234567893'), true);
  assert.equal(isValidNpi('1234567890'), false);
  assert.equal(npiCheckDigit('123456789'), 3);

  const r = example('Practitioner-HansSolo');
  assert.equal(r.identifier[0].system, 'http://hl7.org/fhir/sid/us-npi');
  r.identifier[0].value = '9941339101';
  const issues = validator.validate(r);
  assert.deepEqual(errorsOf(issues), []);
  assert.equal(issues.length, 1);
  assert.equal(issues[0].severity, 'warning');
  assert.equal(issues[0].expression, 'Practitioner.identifier[0].value');
  assert.match(issues[0].diagnostics, /us-core-17/);
  const strict = validator.validate(r, { warningsAsErrors: true });
  assert.equal(strict.length, 1);
  assert.equal(strict[0].severity, 'error');

  const org = example('Organization-BurrClinic');
  org.identifier = [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '12345' }];
  const w = warningsOf(validator.validate(org));
  assert.equal(w.length, 1);
  assert.match(w[0].diagnostics, /us-core-16/);
});

test('PractitionerRole pd-1 (telecom or endpoint) is a warning; the role needs practitioner/organization/service/location', () => {
  const r = example('PractitionerRole-HansSoloRole1');
  delete r.telecom;
  delete r.endpoint;
  const issues = validator.validate(r);
  assert.deepEqual(errorsOf(issues), []);
  assert.equal(warningsOf(issues)[0].expression, 'PractitionerRole');
  assert.match(warningsOf(issues)[0].diagnostics, /pd-1/);
  assert.equal(errorsOf(validator.validate(r, { warningsAsErrors: true })).length, 1);

  const r2 = example('PractitionerRole-HansSoloRole1');
  delete r2.practitioner;
  delete r2.location;
  delete r2.healthcareService;
  delete r2.organization;
  assertError(r2, 'PractitionerRole', 'invariant');
});

test('OrganizationAffiliation needs organization or participatingOrganization', () => {
  const r = example('OrganizationAffiliation-BurrClinicAffil');
  delete r.organization;
  delete r.participatingOrganization;
  assertError(r, 'OrganizationAffiliation', 'invariant');
});

test('contained resources: Plan-Net types validated against FHIR R4, dom-2/4 checked, other types tolerated', () => {
  const r = example('Practitioner-HansSolo');
  r.contained = [
    { resourceType: 'Location', id: 'loc', foo: 1, meta: { lastUpdated: '2024-01-01T00:00:00Z' } },
    { resourceType: 'Patient', id: 'p' },
  ];
  assertError(r, 'Practitioner.contained[0].foo', 'structure');
  assertError(r, 'Practitioner.contained[0].meta', 'invariant');
  assert.equal(errorsOf(validator.validate(r)).length, 2);
});

