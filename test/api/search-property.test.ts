/**
 * Property-based search test (fast-check): random directories of Practitioners, PractitionerRoles and Locations,
 * random queries (every parameter type, modifiers, prefixes, OR/AND, chains, _has, :missing). The server's result set
 * (and, sorted and paged two at a time, its order) must equal a brute-force oracle that evaluates the same SearchParameter expressions with fhirpath over every stored
 * resource and applies FHIR's matching rules in plain JavaScript.
 *
 * Resources are written through storage (writeBatch + the engine's indexer, the path every write takes) rather than
 * the REST API, so the generator need not satisfy every Plan-Net profile rule; queries go through HTTP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestServer, fhir, type TestServer } from '../helpers/server.ts';
import { writeBatch } from '../../src/storage/resource-store.ts';
import { PLAN_NET, definition, matches, norm, range, stringsOf, tokensOf, values, type Db } from './search-oracle.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.close(); });

// ---------------------------------------------------------------------------------------------------------------
// Generators: small value pools so that queries hit.

const NUCC = 'http://nucc.org/provider-taxonomy';
const FAMILIES = ['Smith', 'Smyth', 'Jones', 'Ölund', 'García', 'de la Cruz', 'SMITHERS'];
const GIVEN = ['Ann', 'Anna', 'Bob', 'Zoë'];
const CITIES = ['Hartford', 'Hartland', 'New Haven', 'Anytown', 'Nórwalk'];
const SPECIALTIES = [{ system: NUCC, code: '207R00000X', display: 'Internal Medicine' }, { system: NUCC, code: '207Q00000X', display: 'Family Medicine' },
  { system: 'http://other.example/cs', code: '207R00000X', display: 'Other Internal' }, { code: 'nosystem', display: 'No System' }];
const DATES = ['2019', '2020-02', '2020-02-29', '2021-06-15', '2022-12-31'];

const date = fc.constantFrom(...DATES);
const period = fc.record({ start: fc.option(date, { nil: undefined }), end: fc.option(date, { nil: undefined }) }, { requiredKeys: [] })
  .map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)))
  .filter((p) => Object.keys(p).length > 0 && (!p.start || !p.end || range(p.start as string)[0] < range(p.end as string)[1]));

const directory = fc.record({
  practitioners: fc.array(fc.record({
    family: fc.option(fc.constantFrom(...FAMILIES), { nil: undefined }),
    given: fc.subarray(GIVEN, { maxLength: 2 }),
    npi: fc.option(fc.constantFrom('111', '222'), { nil: undefined }),
    period: fc.option(period, { nil: undefined }),
  }), { minLength: 1, maxLength: 6 }),
  locations: fc.array(fc.record({
    city: fc.option(fc.constantFrom(...CITIES), { nil: undefined }),
    state: fc.option(fc.constantFrom('CT', 'NY'), { nil: undefined }),
  }), { minLength: 1, maxLength: 4 }),
  roles: fc.array(fc.record({
    practitioner: fc.option(fc.nat(7), { nil: undefined }),
    locations: fc.subarray([0, 1, 2, 3, 4]),
    specialties: fc.subarray(SPECIALTIES, { maxLength: 2 }),
    withText: fc.boolean(),
    period: fc.option(period, { nil: undefined }),
  }), { minLength: 1, maxLength: 8 }),
});

type Directory = typeof directory extends fc.Arbitrary<infer T> ? T : never;

function build(d: Directory): any[] {
  const out: any[] = [];
  d.practitioners.forEach((p, i) => out.push({
    resourceType: 'Practitioner', id: `pr${i}`, active: true,
    ...(p.family || p.given.length ? { name: [{ ...(p.family ? { family: p.family } : {}), ...(p.given.length ? { given: p.given } : {}) }] } : {}),
    ...(p.npi ? { identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: p.npi }] } : {}),
    ...(p.period ? { extension: [{ url: `${PLAN_NET}StructureDefinition/practitioner-period`, valuePeriod: p.period }] } : {}),
  }));
  d.locations.forEach((l, i) => out.push({
    resourceType: 'Location', id: `loc${i}`, status: 'active', name: `Location ${i}`,
    ...(l.city || l.state ? { address: { ...(l.city ? { city: l.city } : {}), ...(l.state ? { state: l.state } : {}) } } : {}),
  }));
  d.roles.forEach((r, i) => out.push({
    resourceType: 'PractitionerRole', id: `role${i}`, active: true,
    // references may dangle (pr6, pr7, loc4 may not exist): searchable by id, never chained through
    ...(r.practitioner !== undefined ? { practitioner: { reference: `Practitioner/pr${r.practitioner}` } } : {}),
    ...(r.locations.length ? { location: r.locations.map((n) => ({ reference: `Location/loc${n}` })) } : {}),
    ...(r.specialties.length ? { specialty: r.specialties.map((s) => ({ coding: [{ ...(s.system ? { system: s.system } : {}), code: s.code, display: s.display }], ...(r.withText ? { text: `${s.display} text` } : {}) })) } : {}),
    ...(r.period ? { period: r.period } : {}),
  }));
  return out;
}

const query = fc.oneof(
  fc.tuple(fc.constant('PractitionerRole'), fc.constantFrom('specialty', 'specialty:not'),
    fc.array(fc.constantFrom('207R00000X', `${NUCC}|207R00000X`, `${NUCC}|207Q00000X`, '|nosystem', `${NUCC}|`, 'http://other.example/cs|207R00000X', 'nosuch'), { minLength: 1, maxLength: 2 }).map((a) => a.join(','))),
  fc.tuple(fc.constant('PractitionerRole'), fc.constant('specialty:text'), fc.constantFrom('internal', 'family med', 'other', 'no system text', 'zzz')),
  fc.tuple(fc.constant('Practitioner'), fc.constantFrom('family', 'name', 'given', 'family:exact', 'family:contains', 'name:contains'),
    fc.constantFrom('smi', 'Smith', 'SMITH', 'olund', 'Ölund', 'garc', 'de la', 'ann', 'Zoe', 'mit', 'x')),
  fc.tuple(fc.constant('Location'), fc.constantFrom('address-city', 'address-city:exact', 'address-city:contains', 'address', 'address-state'),
    fc.constantFrom('hart', 'Hartford', 'new', 'haven', 'norwalk', 'ct', 'x')),
  fc.tuple(fc.constant('PractitionerRole'), fc.constantFrom('practitioner', 'location'),
    fc.array(fc.constantFrom('Practitioner/pr0', 'pr1', 'Practitioner/pr6', 'Location/loc0', 'loc1', 'Location/loc4'), { minLength: 1, maxLength: 2 }).map((a) => a.join(','))),
  fc.tuple(fc.constantFrom('PractitionerRole', 'Practitioner'), fc.constant('period'),
    fc.tuple(fc.constantFrom('', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'), fc.constantFrom(...DATES)).map(([p, d]) => p + d)),
  fc.tuple(fc.constantFrom('PractitionerRole'), fc.constantFrom('practitioner:missing', 'location:missing', 'specialty:missing', 'period:missing'), fc.constantFrom('true', 'false')),
  fc.tuple(fc.constant('Practitioner'), fc.constantFrom('family:missing', 'identifier:missing'), fc.constantFrom('true', 'false')),
  fc.tuple(fc.constant('PractitionerRole'), fc.constantFrom('practitioner.family', 'practitioner.name:contains'), fc.constantFrom('smi', 'ann', 'mit', 'Ö')),
  fc.tuple(fc.constant('PractitionerRole'), fc.constantFrom('location.address-city', 'location.address-state'), fc.constantFrom('hart', 'ct', 'new haven', 'x')),
  fc.tuple(fc.constant('PractitionerRole'), fc.constant('practitioner.period'), fc.constantFrom('ge2020', 'lt2021', 'eb2020-02-29', '2019')),
  fc.tuple(fc.constant('PractitionerRole'), fc.constantFrom('location.address-city:missing', 'practitioner.family:missing'), fc.constantFrom('true', 'false')),
  fc.tuple(fc.constant('Practitioner'), fc.constant('_has:PractitionerRole:practitioner:specialty'), fc.constantFrom('207R00000X', `${NUCC}|207Q00000X`, 'nosystem')),
  fc.tuple(fc.constant('Practitioner'), fc.constant('_has:PractitionerRole:practitioner:location.address-city'), fc.constantFrom('hart', 'anytown')),
  fc.tuple(fc.constant('Practitioner'), fc.constant('_has:PractitionerRole:practitioner:period'), fc.constantFrom('ge2021', 'eb2020', '2020')),
);

async function serverIds(tenant: string, type: string, pairs: [string, string][], opts: { count?: number; ordered?: boolean } = {}): Promise<string[]> {
  const out: string[] = [];
  let url: string | undefined = `${srv.url}/t/${tenant}/fhir/${type}?${new URLSearchParams([...pairs, ['_count', String(opts.count ?? 1000)]])}`;
  while (url) {
    const r = await fhir(url, { headers: { prefer: 'handling=strict' } });
    assert.equal(r.status, 200, `${url}: ${r.text}`);
    out.push(...(r.body.entry ?? []).filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.id));
    url = r.body.link.find((l: any) => l.relation === 'next')?.url;
  }
  return opts.ordered ? out : out.sort();
}

/** The oracle's sort key of a resource for `_sort=[-]code` (min or max normalized value; missing sorts last). */
function sortKey(r: any, type: string, code: string, desc: boolean): string | undefined {
  const sp = definition(type, code);
  const vals = values(r, type, code).flatMap((v) => (sp.type === 'string' ? stringsOf(v).map(norm) : tokensOf(v).map((t) => t.code)));
  if (vals.length === 0) return undefined;
  const sorted = [...vals].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  return desc ? sorted.at(-1) : sorted[0];
}

test('server search = fhirpath oracle over random directories and queries', async () => {
  let compared = 0;
  await fc.assert(fc.asyncProperty(directory, fc.array(fc.array(query, { minLength: 1, maxLength: 2 }), { minLength: 8, maxLength: 8 }), async (d, queries) => {
    const tenant = await srv.newTenant('prop');
    const resources = build(d);
    await srv.database.db.withTenant(tenant, (tx) => writeBatch(tx, resources.map((resource) => ({ kind: 'update' as const, resource })), srv.services.search.indexer));
    const db: Db = new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, r]));
    for (const q of queries) {
      const type = q[0][0];
      const pairs = q.filter((x) => x[0] === type).map((x) => [x[1], x[2]] as [string, string]);
      if (pairs.length === 0) continue;
      const expected = resources.filter((r) => r.resourceType === type && pairs.every(([n, v]) => matches(db, r, type, n, v))).map((r) => r.id).sort();
      const got = await serverIds(tenant, type, pairs);
      assert.deepEqual(got, expected, `${type}?${new URLSearchParams(pairs)}`);
      compared++;
      // the same query sorted and paged two at a time: same set, keys in order, missing values last
      const code = type === 'Practitioner' ? 'family' : type === 'Location' ? 'address-city' : 'specialty';
      for (const desc of [false, true]) {
        const sorted = await serverIds(tenant, type, [...pairs, ['_sort', `${desc ? '-' : ''}${code}`]], { count: 2, ordered: true });
        assert.deepEqual([...sorted].sort(), expected, `sorted ${type}?${new URLSearchParams(pairs)}`);
        const keys = sorted.map((id) => sortKey(db.get(`${type}/${id}`), type, code, desc));
        for (let i = 1; i < keys.length; i++) {
          const [a, b] = [keys[i - 1], keys[i]];
          if (a === undefined) assert.equal(b, undefined, `missing values sort last (${code})`);
          else if (b !== undefined) assert.ok((desc ? -1 : 1) * Buffer.compare(Buffer.from(a), Buffer.from(b)) <= 0, `${desc ? '-' : ''}${code}: ${a} then ${b}`);
        }
      }
    }
  }), { numRuns: Number(process.env.PROPERTY_RUNS ?? 40), seed: process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : undefined });
  assert.ok(compared > 100, `only ${compared} queries compared`);
});
