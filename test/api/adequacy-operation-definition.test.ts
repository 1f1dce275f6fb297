/**
 * The OperationDefinition of $network-adequacy: the CapabilityStatement names it by a URL that serves it, and every
 * parameter it declares is accepted by the operation (sent with a value of its declared type, and as often as its
 * max allows), while the minimum cardinalities and undeclared parameters are enforced.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { clientToken } from './export-support.ts';

let srv: TestServer;
let token: string;
before(async () => {
  srv = await startTestServer();
  token = (await clientToken(srv, srv.tenant, ['system/adequacy.run'])).token;
});
after(async () => { await srv.close(); });

/** A valid value per declared parameter; a parameter added to the definition without one here fails the test. */
const EXAMPLES: Record<string, string[]> = {
  network: ['Organization/net1', 'Organization/net2'],
  'insurance-plan': ['InsurancePlan/plan1'],
  'service-area': ['county:10001', 'DE'],
  standards: ['cms-ma-2026'],
  type: ['S03', '040'],
  'map-type': ['S03', '040'],
  'as-of': ['2026-01-01'],
};

const value = (type: string, v: string) => (type === 'Reference' ? { valueReference: { reference: v } } : { [`value${type[0].toUpperCase()}${type.slice(1)}`]: v });

async function post(parameter: object[]) {
  const res = await fetch(`${srv.base}/$network-adequacy`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Parameters', parameter }) });
  const body = await res.json();
  // nothing needs to run: cancel what was accepted
  if (res.status === 202) await fetch(res.headers.get('content-location')!, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body };
}

test('the CapabilityStatement references the OperationDefinition, served (without a token) at that URL', async () => {
  const cs = await (await fetch(`${srv.base}/metadata`)).json();
  const op = cs.rest[0].operation.find((o: { name: string }) => o.name === 'network-adequacy');
  assert.equal(op.definition, `${srv.base}/OperationDefinition/network-adequacy`);
  const res = await fetch(op.definition, { headers: { accept: 'application/fhir+json' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /application\/fhir\+json/);
  const od = await res.json();
  assert.equal(od.resourceType, 'OperationDefinition');
  assert.equal(od.url, op.definition);
  assert.equal(od.code, 'network-adequacy');
  assert.equal(od.system, true);
  assert.equal(od.instance, false);
  assert.ok(od.parameter.every((p: { name: string; use: string; min: number; max: string; type: string }) => p.name && ['in', 'out'].includes(p.use) && Number.isInteger(p.min) && p.max && p.type));
});

test('every declared input parameter is accepted by the operation; cardinalities and unknown names are enforced', async () => {
  const od = await (await fetch(`${srv.base}/OperationDefinition/network-adequacy`)).json();
  const inputs = od.parameter.filter((p: { use: string }) => p.use === 'in') as { name: string; type: string; min: number; max: string }[];
  assert.deepEqual(inputs.map((p) => p.name).filter((n) => !EXAMPLES[n]), [], 'a declared parameter has no example value here');
  const param = (name: string, v: string) => ({ name, ...value(inputs.find((p) => p.name === name)!.type, v) });
  const base = [param('network', 'Organization/net1'), param('service-area', 'county:10001')];
  for (const p of inputs) {
    const n = p.max === '*' ? 2 : 1;
    const given = EXAMPLES[p.name].slice(0, n).map((v) => param(p.name, v));
    const body = [...base.filter((b) => b.name !== p.name && !(p.name === 'insurance-plan' && b.name === 'network')), ...given];
    const r = await post(body);
    assert.equal(r.status, 202, `${p.name} (${p.type}, ×${n}): ${JSON.stringify(r.body)}`);
  }
  // the minimums: service-area (min 1) missing is refused
  for (const p of inputs.filter((x) => x.min > 0)) {
    const r = await post(base.filter((b) => b.name !== p.name));
    assert.equal(r.status, 400, `${p.name} is required`);
  }
  // a parameter the definition does not declare is refused, naming the declared ones
  const unknown = await post([...base, { name: 'radius', valueString: '10' }]);
  assert.equal(unknown.status, 400);
  for (const p of inputs) assert.match(unknown.body.issue[0].diagnostics, new RegExp(p.name));
  // max 1 parameters given twice are not silently merged into one value they did not mean
  for (const p of inputs.filter((x) => x.max === '1' && EXAMPLES[x.name].length > 0)) {
    const twice = [...base.filter((b) => b.name !== p.name && !(p.name === 'insurance-plan' && b.name === 'network')), param(p.name, EXAMPLES[p.name][0]), param(p.name, EXAMPLES[p.name][0])];
    assert.equal((await post(twice)).status, 400, `${p.name} has max 1`);
  }
});
