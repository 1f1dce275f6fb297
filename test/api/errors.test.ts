/**
 * Bad input gets a clear OperationOutcome with the right 4xx, never a 500 or a stack trace, and nothing is stored.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, example, fhir, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer({ maxBodyBytes: 64 * 1024 }); });
after(async () => { await srv.close(); });

async function expectOutcome(p: Promise<{ status: number; body: any; text: string }>, status: number, match?: RegExp) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  assert.equal(r.body?.resourceType, 'OperationOutcome', r.text);
  assert.ok(r.body.issue.length > 0);
  assert.doesNotMatch(r.text, /at .*\.ts:\d+|Error:|node_modules/, 'no stack traces');
  if (match) assert.match(r.text, match);
  return r.body;
}

async function count(type: string): Promise<number> {
  return (await fhir(`${srv.base}/${type}?_summary=count`)).body.total;
}

test('malformed JSON → 400, nothing stored', async () => {
  const before = await count('Practitioner');
  await expectOutcome(fhir(`${srv.base}/Practitioner`, { method: 'POST', body: '{"resourceType":"Practitioner","name":', headers: { 'content-type': 'application/fhir+json' } }), 400, /not valid JSON/);
  assert.equal(await count('Practitioner'), before);
});

test('wrong resourceType for the URL → 400', async () => {
  await expectOutcome(fhir(`${srv.base}/Practitioner`, { method: 'POST', json: example('Organization-Acme') }), 400, /Organization but the URL is for Practitioner/);
});

test('a body that is not a resource → 400', async () => {
  await expectOutcome(fhir(`${srv.base}/Practitioner`, { method: 'POST', json: [1, 2] }), 400);
  await expectOutcome(fhir(`${srv.base}/Practitioner`, { method: 'POST', json: { name: 'x' } }), 400, /resourceType/);
});

test('profile violations → 422 with FHIRPath expressions, nothing stored', async () => {
  const before = await count('Practitioner');
  const bad = { ...example('Practitioner-JoeSmith'), identifier: undefined, gender: 42 };
  const oo = await expectOutcome(fhir(`${srv.base}/Practitioner`, { method: 'POST', json: bad }), 422);
  const expressions = oo.issue.flatMap((i: any) => i.expression ?? []);
  assert.ok(expressions.some((e: string) => e.startsWith('Practitioner.')), JSON.stringify(expressions));
  assert.ok(expressions.some((e: string) => /Practitioner\.gender/.test(e)), JSON.stringify(expressions));
  assert.equal(await count('Practitioner'), before);
});

test('unknown resource type → 404; unknown path → 404; unknown tenant → 404', async () => {
  await expectOutcome(fhir(`${srv.base}/Patient/1`), 404, /not served here/);
  await expectOutcome(fhir(`${srv.base}/Patient`, { method: 'POST', json: { resourceType: 'Patient' } }), 404);
  await expectOutcome(fhir(`${srv.base}/Practitioner/a/b/c/d/e`), 404);
  await expectOutcome(fhir(`${srv.url}/t/no-such-tenant/fhir/metadata`), 404, /Unknown tenant/);
  await expectOutcome(fhir(`${srv.url}/t/BAD_TENANT!/fhir/metadata`), 404);
  await expectOutcome(fhir(`${srv.url}/nothing-here`), 404);
});

test('unsupported media type → 415, nothing stored', async () => {
  const before = await count('Practitioner');
  await expectOutcome(fhir(`${srv.base}/Practitioner`, { method: 'POST', body: '<Practitioner/>', headers: { 'content-type': 'application/fhir+xml' } }), 415);
  await expectOutcome(fhir(`${srv.base}/Practitioner`, { method: 'POST', body: JSON.stringify(example('Practitioner-JoeSmith')), headers: { 'content-type': 'text/plain' } }), 415);
  assert.equal(await count('Practitioner'), before);
});

test('unacceptable Accept or _format → 406', async () => {
  await expectOutcome(fhir(`${srv.base}/metadata`, { headers: { accept: 'application/fhir+xml' } }), 406);
  await expectOutcome(fhir(`${srv.base}/metadata?_format=xml`), 406);
  assert.equal((await fhir(`${srv.base}/metadata?_format=json`)).status, 200);
  assert.equal((await fhir(`${srv.base}/metadata`, { headers: { accept: 'application/json' } })).status, 200);
  assert.equal((await fhir(`${srv.base}/metadata`, { headers: { accept: 'text/html,application/fhir+json;q=0.9' } })).status, 200);
});

test('body too large → 413', async () => {
  const big = { ...example('Practitioner-JoeSmith'), extension: [{ url: 'http://example.org/x', valueString: 'x'.repeat(100 * 1024) }] };
  await expectOutcome(fhir(`${srv.base}/Practitioner`, { method: 'POST', json: big }), 413);
});

test('method not allowed → 405 with Allow', async () => {
  const r = await fhir(`${srv.base}/Practitioner/abc`, { method: 'PATCH', json: [] });
  assert.equal(r.status, 405);
  assert.equal(r.body.resourceType, 'OperationOutcome');
  assert.match(r.headers.get('allow') ?? '', /PUT/);
  assert.equal((await fhir(`${srv.base}/metadata`, { method: 'DELETE' })).status, 405);
  assert.equal((await fhir(`${srv.base}/Practitioner`, { method: 'DELETE' })).status, 405);
});

test('invalid ids → 400 on write', async () => {
  const bad = { ...example('Practitioner-JoeSmith'), id: 'has_underscore' };
  await expectOutcome(fhir(`${srv.base}/Practitioner/has_underscore`, { method: 'PUT', json: bad }), 400, /not a valid FHIR id/);
  const long = 'a'.repeat(65);
  await expectOutcome(fhir(`${srv.base}/Practitioner/${long}`, { method: 'PUT', json: { ...bad, id: long } }), 400);
  const ok = 'A-z.0-' + 'x'.repeat(58);
  assert.equal((await fhir(`${srv.base}/Practitioner/${ok}`, { method: 'PUT', json: { ...bad, id: ok } })).status, 201);
});

test('$validate returns the outcome without storing', async () => {
  const before = await count('Practitioner');
  const good = await fhir(`${srv.base}/Practitioner/$validate`, { method: 'POST', json: example('Practitioner-JoeSmith') });
  assert.equal(good.status, 200);
  assert.ok(good.body.issue.every((i: any) => i.severity !== 'error'));
  const bad = await fhir(`${srv.base}/Practitioner/$validate`, { method: 'POST', json: { ...example('Practitioner-JoeSmith'), gender: 42 } });
  assert.equal(bad.status, 200);
  assert.ok(bad.body.issue.some((i: any) => i.severity === 'error' && i.expression?.[0]?.startsWith('Practitioner.gender')));
  const wrapped = await fhir(`${srv.base}/Practitioner/$validate`, { method: 'POST', json: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: example('Practitioner-JoeSmith') }] } });
  assert.equal(wrapped.status, 200);
  assert.equal(await count('Practitioner'), before);
});

test('NPI check digit: a warning by default, an error for a strict tenant', async () => {
  const p = example('Practitioner-JoeSmith');
  const badNpi = { ...p, identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567890' }] };
  const lenient = await fhir(`${srv.base}/Practitioner/$validate`, { method: 'POST', json: badNpi });
  assert.ok(lenient.body.issue.some((i: any) => i.severity === 'warning' && /NPI|check digit|Luhn/i.test(i.diagnostics)), lenient.text);
  assert.equal((await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: badNpi })).status, 201);
  const strictTenant = await srv.newTenant('strict');
  await srv.services.tenants.updateSettings(strictTenant, { strictValidation: true });
  const strict = await fhir(`${srv.url}/t/${strictTenant}/fhir/Practitioner`, { method: 'POST', json: badNpi });
  assert.equal(strict.status, 422);
});

test('malformed search values → 400 naming the parameter; strict unknown parameter → 400', async () => {
  await expectOutcome(fhir(`${srv.base}/Practitioner?_lastUpdated=not-a-date`), 400, /_lastUpdated/);
  await expectOutcome(fhir(`${srv.base}/Practitioner?_count=-1`), 400, /_count/);
  await expectOutcome(fhir(`${srv.base}/Practitioner?no-such-param=x`, { headers: { prefer: 'handling=strict' } }), 400, /no-such-param/);
  const lenient = await fhir(`${srv.base}/Practitioner?no-such-param=x`);
  assert.equal(lenient.status, 200);
  assert.doesNotMatch(lenient.body.link[0].url, /no-such-param/);
  assert.ok(lenient.body.entry.some((e: any) => e.search?.mode === 'outcome' && e.resource.resourceType === 'OperationOutcome'));
});

test('responses carry a request id; a given valid X-Request-Id is echoed', async () => {
  const r = await fhir(`${srv.base}/metadata`, { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(r.headers.get('x-request-id'), 'abc-123');
  const bad = await fhir(`${srv.base}/metadata`, { headers: { 'x-request-id': 'not ok; <script>' } });
  assert.notEqual(bad.headers.get('x-request-id'), 'not ok; <script>');
  assert.ok(bad.headers.get('x-request-id'));
  // generated ids are UUID version 7: time-ordered, so the audit table's request-id index grows at its right edge
  const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const first = (await fhir(`${srv.base}/metadata`)).headers.get('x-request-id')!;
  await new Promise((r) => setTimeout(r, 2));
  const second = (await fhir(`${srv.base}/metadata`)).headers.get('x-request-id')!;
  assert.match(first, V7);
  assert.match(second, V7);
  assert.ok(first.slice(0, 13) < second.slice(0, 13), `${first} before ${second}`);
  assert.ok(Math.abs(parseInt(first.slice(0, 8) + first.slice(9, 13), 16) - Date.now()) < 60_000, 'the time prefix is now');
});
