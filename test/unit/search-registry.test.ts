/**
 * The search-parameter registry and write-time extraction, without a database: which parameters exist per type,
 * how definitions are merged, and which typed index rows a resource yields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { SearchParameter } from '@medplum/fhirtypes';
import { SearchParamRegistry, readSearchParameterFiles, elementType } from '../../src/search/registry/registry.ts';
import { extractRows, type IndexRows } from '../../src/search/index/extract.ts';
import { normalizeString, parseReference, periodRange } from '../../src/search/index/normalize.ts';

const registry = new SearchParamRegistry();
const EXAMPLES = path.resolve(import.meta.dirname, '..', '..', 'seeds', 'plan-net-examples');
const example = (name: string) => JSON.parse(fs.readFileSync(path.join(EXAMPLES, `${name}.json`), 'utf8'));
const capability = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'profiles', 'plan-net-capability-statement.json'), 'utf8'));

/** Rows of one resource as readable tuples: [table, param code (with :text / :of-type), values...]. */
function rowsOf(resource: { resourceType: string }): string[][] {
  const rows = extractRows(registry, [{ rid: 1, resource }]);
  const names = new Map<number, string>();
  for (const p of registry.forType(resource.resourceType)) { names.set(p.pid, p.code); names.set(p.textPid, `${p.code}:text`); names.set(p.ofTypePid, `${p.code}:of-type`); }
  const out: string[][] = [];
  for (const table of ['token', 'string', 'reference', 'date', 'uri', 'geo'] as const) {
    const cols = rows[table] as unknown as Record<string, unknown[]>;
    const keys = Object.keys(cols).filter((k) => k !== 'pid' && k !== 'rid');
    for (let i = 0; i < cols.pid.length; i++) out.push([table, names.get(cols.pid[i] as number) ?? '?', ...keys.map((k) => String(cols[k][i]))]);
  }
  return out;
}
const has = (rows: string[][], ...want: string[]) => rows.some((r) => want.every((w, i) => r[i] === w));

test('every searchParam of the Plan-Net CapabilityStatement is registered with its canonical', () => {
  for (const res of capability.rest[0].resource) {
    for (const sp of res.searchParam ?? []) {
      const p = registry.get(res.type, sp.name);
      assert.ok(p, `${res.type}?${sp.name} is not registered`);
      assert.equal(p.url, sp.definition, `${res.type}?${sp.name} canonical`);
    }
  }
  assert.deepEqual(registry.unsupported, []);
});

test('base R4 parameters fill in what Plan-Net leaves out (near, date, identifier, _profile)', () => {
  assert.equal(registry.get('Location', 'near')?.storage, 'geo');
  assert.equal(registry.get('PractitionerRole', 'date')?.url, 'http://hl7.org/fhir/SearchParameter/PractitionerRole-date');
  assert.equal(registry.get('Practitioner', 'identifier')?.type, 'token');
  assert.equal(registry.get('Organization', '_profile')?.storage, 'uri');
  // same expression and type → same index rows
  assert.equal(registry.get('PractitionerRole', 'date')?.pid, registry.get('PractitionerRole', 'period')?.pid);
  assert.ok(registry.get('Practitioner', 'identifier')?.modifiers.includes('of-type'));
  assert.ok(!registry.get('PractitionerRole', 'specialty')?.modifiers.includes('of-type'));
});

test('a definition named by the CapabilityStatement wins over another with the same code', () => {
  const defs = readSearchParameterFiles();
  const clash: SearchParameter = { resourceType: 'SearchParameter', url: 'http://example.org/sp/other-name', status: 'active', name: 'x', description: 'x', code: 'name', base: ['Organization'], type: 'string', expression: 'Organization.name' };
  const r = new SearchParamRegistry([clash, ...defs]);
  assert.equal(r.get('Organization', 'name')?.url, 'http://hl7.org/fhir/us/davinci-pdex-plan-net/SearchParameter/organization-name');
  // a new definition for a new code is simply added: data, not code
  const extra: SearchParameter = { ...clash, url: 'http://example.org/sp/gender', code: 'gender', base: ['Practitioner'], type: 'token', expression: 'Practitioner.gender' };
  const r2 = new SearchParamRegistry([...defs, extra]);
  assert.equal(r2.get('Practitioner', 'gender')?.storage, 'token');
  assert.ok(has(rowsWith(r2, { resourceType: 'Practitioner', gender: 'female' }), 'token', 'female'));
});

function rowsWith(r: SearchParamRegistry, resource: { resourceType: string; [k: string]: unknown }): string[][] {
  const rows: IndexRows = extractRows(r, [{ rid: 1, resource }]);
  return rows.token.code.map((c) => ['token', c]);
}

test('element types come from the R4 model', () => {
  assert.equal(elementType('InsurancePlan.identifier'), 'Identifier');
  assert.equal(elementType('PractitionerRole.specialty'), 'CodeableConcept');
  assert.equal(elementType("Organization.extension.where(url='x')"), undefined);
});

test('tokens: CodeableConcept codings, their text for :text, booleans and codes', () => {
  const rows = rowsOf(example('PractitionerRole-HansSoloRole1'));
  assert.ok(has(rows, 'token', 'specialty', 'http://nucc.org/provider-taxonomy', '207R00000X'));
  assert.ok(has(rows, 'string', 'specialty:text', 'internal medicine physician', 'Internal Medicine Physician'));
  const sp = (code: string, base: string, expression: string): SearchParameter => ({ resourceType: 'SearchParameter', url: `http://example.org/sp/${code}`, status: 'active', name: code, description: code, code, base: [base as 'Location'], type: 'token', expression });
  const r = new SearchParamRegistry([...readSearchParameterFiles(), sp('active', 'Practitioner', 'Practitioner.active'), sp('status', 'Location', 'Location.status')]);
  const tokens = (res: { resourceType: string }) => { const x = extractRows(r, [{ rid: 1, resource: res }]).token; return x.code.map((c, i) => `${x.system[i]}|${c}`); };
  assert.ok(tokens(example('Practitioner-HansSolo')).includes('null|true'));
  assert.ok(tokens(example('Location-HospLoc1')).includes('null|active'));
});

test('identifiers: system|value, and type|value for :of-type', () => {
  const p = { resourceType: 'Practitioner', identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NPI' }], text: 'National Provider' }, system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }] };
  const rows = rowsOf(p);
  assert.ok(has(rows, 'token', 'identifier', 'http://hl7.org/fhir/sid/us-npi', '1234567893'));
  assert.ok(has(rows, 'token', 'identifier:of-type', 'http://terminology.hl7.org/CodeSystem/v2-0203', 'NPI|1234567893'));
  assert.ok(has(rows, 'string', 'identifier:text', 'national provider'));
});

test('extension-valued parameters index the extension value (network, coverage-area, delivery-method, period)', () => {
  assert.ok(has(rowsOf(example('PractitionerRole-HansSoloRole1')), 'reference', 'network', 'Organization', 'AcmeofCTStdNet', 'null'));
  assert.ok(has(rowsOf(example('HealthcareService-VirtualCounselService')), 'token', 'delivery-method', 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/DeliveryMethodCS', 'virtual'));
  const joe = rowsOf(example('Practitioner-JoeSmith'));
  assert.ok(has(joe, 'date', 'period', '2020-07-07T00:00:00.000Z', 'infinity'));
  const net = rowsOf(example('Organization-AcmeofCTPremNet'));
  assert.ok(net.some((r) => r[0] === 'reference' && r[1] === 'coverage-area' && r[2] === 'Location'));
});

test('strings: HumanName and Address parts, normalized', () => {
  const hans = rowsOf(example('Practitioner-HansSolo'));
  for (const v of ['hans', 'solo', 'hans solo, md']) assert.ok(has(hans, 'string', 'name', v), v);
  assert.ok(has(hans, 'string', 'family', 'solo', 'Solo'));
  const loc = rowsOf(example('Location-HospLoc1'));
  for (const v of ['456 main street', 'anytown', 'ct', '00014-1234']) assert.ok(has(loc, 'string', 'address', v), v);
  assert.ok(has(loc, 'string', 'address-city', 'anytown', 'Anytown'));
  assert.ok(has(loc, 'geo', 'near', '15', '3'));
  assert.equal(normalizeString('  Ḿüñchen   Straße '), 'munchen straße');
});

test('references: relative, absolute, versioned; contained ones are skipped', () => {
  assert.deepEqual(parseReference('Organization/abc'), { type: 'Organization', id: 'abc', url: null });
  assert.deepEqual(parseReference('Organization/abc/_history/3'), { type: 'Organization', id: 'abc', url: null });
  assert.deepEqual(parseReference('https://other.example/fhir/Organization/abc'), { type: 'Organization', id: 'abc', url: 'https://other.example/fhir/Organization/abc' });
  assert.deepEqual(parseReference('urn:uuid:1234'), { type: '', id: '', url: 'urn:uuid:1234' });
  assert.equal(parseReference('#contained'), undefined);
});

test('dates: precision ranges and open Periods', () => {
  assert.deepEqual(periodRange('2020', undefined), { lo: '2020-01-01T00:00:00.000Z', hi: 'infinity' });
  assert.deepEqual(periodRange(undefined, '2020-02'), { lo: '-infinity', hi: '2020-03-01T00:00:00.000Z' });
  assert.equal(periodRange('not a date', undefined), undefined);
});

test('duplicate values within a resource give one row', () => {
  const r = { resourceType: 'PractitionerRole', specialty: [{ coding: [{ system: 's', code: 'c' }] }, { coding: [{ system: 's', code: 'c' }] }] };
  assert.equal(rowsOf(r).filter((x) => x[1] === 'specialty').length, 1);
});
