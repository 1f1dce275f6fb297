/**
 * Every search parameter the server lists in its CapabilityStatement, on every Plan-Net type, against the IG examples
 * and a small synthetic directory (as Inferno does, with values taken from the data): a value from each example must find exactly what the fhirpath
 * oracle finds, and a value nothing has must find nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startTestServer, example, fhir, EXAMPLES_DIR, type TestServer } from '../helpers/server.ts';
import { definition, matches, norm, stringsOf, tokensOf, values, type Db } from './search-oracle.ts';
import { generateDirectory } from '../../src/seeds/synthetic/generator.ts';

let srv: TestServer;
const db: Db = new Map();
before(async () => {
  srv = await startTestServer();
  const resources = [
    ...fs.readdirSync(EXAMPLES_DIR).filter((n) => n.endsWith('.json')).sort().map((f) => example(f.slice(0, -5))),
    ...(generateDirectory({ practitioners: 30, seed: 21 }) as Iterable<any>),
  ];
  // one copy per type with a tag and an identifier, which the examples rarely have
  for (const type of new Set(resources.map((r) => r.resourceType))) {
    const r = resources.find((x) => x.resourceType === type);
    resources.push({ ...r, id: `${r.id}-tagged`, meta: { ...r.meta, tag: [{ system: 'http://example.org/tags', code: 'reviewed' }] },
      identifier: [...(r.identifier ?? []), { system: 'http://example.org/ids', value: `${type}-1` }] });
  }
  const entry = resources.map((r) => ({ request: { method: 'PUT', url: `${r.resourceType}/${r.id}` }, resource: r }));
  const res = await fhir(srv.base, { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry } });
  assert.equal(res.status, 200, res.text);
  res.body.entry.forEach((e: any, i: number) => {
    if (['200', '201'].some((s) => e.response.status.startsWith(s))) db.set(`${resources[i].resourceType}/${resources[i].id}`, resources[i]);
  });
  assert.ok(db.size > resources.length * 0.9, `${db.size} of ${resources.length} loaded`);
});
after(async () => { await srv.close(); });

/** A query value for `code` taken from resource `r`, or undefined if `r` has none. */
function valueFrom(r: any, type: string, code: string): string | undefined {
  const sp = definition(type, code);
  const v = values(r, type, code)[0];
  if (v === undefined) return undefined;
  switch (sp.type) {
    case 'token': { const t = tokensOf(v)[0]; return t && (t.system ? `${t.system}|${t.code}` : t.code); }
    case 'string': { const s = stringsOf(v)[0]; return s && norm(s).slice(0, 4); }
    case 'reference': return v.reference && /^[A-Z]\w+\/[^/]+$/.test(v.reference) ? v.reference : undefined;
    case 'date': { const d = typeof v === 'string' ? v : v.start ?? v.end; return d && `ge${d.slice(0, 10)}`; }
    case 'uri': return v;
    case 'special': return `${v.latitude}|${v.longitude}|1|km`;
    default: return undefined;
  }
}

const NONE: Record<string, string> = { token: 'no-such-code', string: 'zzzzq', reference: 'Organization/no-such-id', date: 'eb1800', uri: 'http://no.such/uri', special: '-45|-120|1|km' };

async function server(type: string, name: string, value: string): Promise<string[]> {
  const r = await fhir(`${srv.base}/${type}?${new URLSearchParams([[name, value], ['_count', '1000']])}`, { headers: { prefer: 'handling=strict' } });
  assert.equal(r.status, 200, `${type}?${name}=${value}: ${r.text}`);
  return (r.body.entry ?? []).filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.id).sort();
}

test('every listed parameter matches what the oracle finds, and a foreign value matches nothing', async () => {
  const cs = (await fhir(`${srv.base}/metadata`)).body;
  let positive = 0, negative = 0;
  const untested: string[] = [];
  for (const res of cs.rest[0].resource) {
    const type = res.type as string;
    const all = [...db.values()].filter((r) => r.resourceType === type);
    for (const { name } of res.searchParam as { name: string }[]) {
      if (name === '_id' || name === '_lastUpdated') continue; // columns, covered by search-basic
      const sp = definition(type, name);
      assert.ok(sp, `${type}?${name} has a definition file`);
      const tried = new Set<string>();
      for (const r of all) {
        const v = valueFrom(r, type, name);
        if (v === undefined || tried.has(v)) continue;
        tried.add(v);
        const expected = all.filter((x) => matches(db, x, type, name, v)).map((x) => x.id).sort();
        assert.ok(expected.includes(r.id), `oracle finds ${type}/${r.id} by ${name}=${v}`);
        assert.deepEqual(await server(type, name, v), expected, `${type}?${name}=${v}`);
        positive++;
      }
      if (tried.size === 0) untested.push(`${type}?${name}`);
      const none = NONE[sp.type];
      assert.deepEqual(all.filter((x) => matches(db, x, type, name, none)), [], `oracle: ${type}?${name}=${none}`);
      assert.deepEqual(await server(type, name, none), [], `${type}?${name}=${none}`);
      negative++;
    }
  }
  assert.ok(positive > 120, `${positive} positive checks`);
  assert.ok(negative > 70, `${negative} negative checks`);
  assert.deepEqual(untested, [], 'every parameter had a value to search for');
  console.log(`# ${positive} value searches, ${negative} non-matching ones`);
});
