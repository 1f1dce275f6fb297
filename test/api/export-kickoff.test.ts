/**
 * $export kick-off (bulk-smart.md checklist 19–28): CapabilityStatement, who may export, Prefer handling, every
 * parameter (supported, unsupported strict vs lenient), other export levels, POST Parameters, concurrency limits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, fhir, type TestServer } from '../helpers/server.ts';
import { loadConfig } from '../../src/config/config.ts';
import { exportableTypes } from '../../src/fhir/operations/export.ts';
import { clientToken, kickoff, loadSynthetic, poll, runExport, download, PLAN_NET, type Manifest } from './export-support.ts';

let srv: TestServer;
let reader: { clientId: string; token: string; mint(): Promise<string> };
const tokens: string[] = [];

before(async () => {
  const d = loadConfig({});
  // a generous per-client limit here: this file starts many exports with few clients (the limit has its own test)
  srv = await startTestServer({ export: { ...d.export, maxConcurrentPerClient: 50, maxConcurrentPerTenant: 50 } });
  await loadSynthetic(srv, srv.tenant, 12);
  await new Promise((r) => setTimeout(r, 600)); // past the snapshot margin: the data above is before any transactionTime
  reader = await clientToken(srv, srv.tenant, ['system/*.read']);
});
after(async () => { await srv.close(); });

/** Cancels an accepted export (so the many kick-offs here do not pile up) and checks the DELETE answer. */
async function cancel(location: string, token: string) {
  const r = await fetch(location, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 202);
}

describe('CapabilityStatement (19)', () => {
  test('instantiates bulk-data and declares the system-level export operation, no Group export', async () => {
    const r = await fhir(`${srv.base}/metadata`);
    assert.ok(r.body.instantiates.includes('http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'));
    assert.deepEqual(r.body.rest[0].operation.find((o: any) => o.name === 'export'), { name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' });
    const group = r.body.rest[0].resource.find((x: any) => x.type === 'Group');
    assert.equal(group, undefined);
  });
});

describe('who may export (20, 21)', () => {
  test('202 with an absolute Content-Location; the job row is committed before the response', async () => {
    const k = await kickoff(srv.base, reader.token);
    assert.equal(k.status, 202);
    assert.match(k.location!, /^http:\/\/127\.0\.0\.1:\d+\/t\/[a-z0-9-]+\/fhir\/\$export-status\/[0-9a-f-]{36}$/);
    assert.equal(k.headers.get('content-type'), 'application/fhir+json; charset=utf-8');
    assert.equal(k.body.resourceType, 'OperationOutcome');
    const id = k.location!.split('/').pop();
    // straight after the 202, on another connection: the row and its queue entry are there
    const rows = await srv.services.db.withTenant(srv.tenant, async (tx) => (await tx.query('SELECT status FROM export_jobs WHERE job_id = $1', [id])).rows);
    assert.equal(rows.length, 1);
    assert.ok(['queued', 'running', 'completed'].includes(rows[0].status));
    const state = await srv.jobs.state('bulk-export', id!);
    assert.ok(state !== undefined, 'the queue entry committed with the row');
    const done = await poll(k.location!, reader.token);
    assert.equal(done.status, 200);
  });

  test('no token: 401 (not 403) with an OperationOutcome and WWW-Authenticate', async () => {
    const k = await kickoff(srv.base, undefined);
    assert.equal(k.status, 401);
    assert.equal(k.body.resourceType, 'OperationOutcome');
    assert.match(k.headers.get('www-authenticate') ?? '', /Bearer/);
  });

  test('a _type outside the granted scopes: 403 with an OperationOutcome', async () => {
    const narrow = await clientToken(srv, srv.tenant, ['system/Practitioner.rs']);
    const k = await kickoff(srv.base, narrow.token, '?_type=Practitioner,Location');
    assert.equal(k.status, 403);
    assert.equal(k.body.resourceType, 'OperationOutcome');
  });

  test('no _type: exactly the types the scopes cover', async () => {
    const narrow = await clientToken(srv, srv.tenant, ['system/Practitioner.rs', 'system/Location.read']);
    const { manifest } = await runExport(srv.base, narrow.token);
    assert.deepEqual([...new Set(manifest.output.map((o) => o.type))].sort(), ['Location', 'Practitioner']);
    const all = await runExport(srv.base, reader.token);
    assert.deepEqual([...new Set(all.manifest.output.map((o) => o.type))].sort(), PLAN_NET.filter((t) => t !== 'InsurancePlan' || all.manifest.output.some((o) => o.type === t)));
  });

  test('staff: a role with export:run may export every type; one without it may not; no identity is 401', async () => {
    const tenant = (await srv.services.tenants.get(srv.tenant))!;
    const staff = (roles: string[]) => ({ kind: 'staff' as const, tenant: srv.tenant, userId: 'u1', roles, sessionId: 's1' });
    assert.deepEqual(exportableTypes(staff(['exporter']), tenant), PLAN_NET);
    assert.deepEqual(exportableTypes(staff(['admin']), tenant), PLAN_NET);
    assert.throws(() => exportableTypes(staff(['viewer']), tenant), (e: any) => e.status === 403);
    assert.throws(() => exportableTypes({ ...staff(['exporter']), tenant: 'someone-else' }, tenant), (e: any) => e.status === 403);
    assert.throws(() => exportableTypes({ kind: 'anonymous' }, tenant), (e: any) => e.status === 401);
    assert.deepEqual(exportableTypes({ kind: 'client', tenant: srv.tenant, clientId: 'c', scopes: ['system/Location.rs', 'system/Endpoint.read'], tokenId: 't' }, tenant), ['Endpoint', 'Location']);
  });

  test('scopes without read (write-only): 403; a token of another tenant: 401 (not valid here)', async () => {
    const writeOnly = await clientToken(srv, srv.tenant, ['system/*.cud']);
    assert.equal((await kickoff(srv.base, writeOnly.token)).status, 403);
    const other = await srv.newTenant('exp-other');
    const stranger = await clientToken(srv, other, ['system/*.read']);
    assert.equal((await kickoff(srv.base, stranger.token)).status, 401);
  });
});

describe('Prefer (22)', () => {
  test('respond-async, handling=lenient (bulk-data-client\'s default) is accepted', async () => {
    const k = await kickoff(srv.base, reader.token, '', { headers: { prefer: 'respond-async, handling=lenient' } });
    assert.equal(k.status, 202);
    await cancel(k.location!, reader.token);
  });
  test('pinned: a missing Prefer is taken as respond-async (this export is asynchronous only)', async () => {
    const r = await fetch(`${srv.base}/$export`, { headers: { authorization: `Bearer ${reader.token}`, accept: 'application/fhir+json' } });
    assert.equal(r.status, 202);
    await cancel(r.headers.get('content-location')!, reader.token);
  });
  test('an Accept the server cannot produce is 406', async () => {
    const k = await kickoff(srv.base, reader.token, '', { headers: { accept: 'text/html' } });
    assert.equal(k.status, 406);
  });
});

describe('_outputFormat (23)', () => {
  for (const f of ['application/fhir+ndjson', 'application/ndjson', 'ndjson']) {
    test(`${f}: 202, then DELETE 202 (Inferno x.4.01)`, async () => {
      const k = await kickoff(srv.base, reader.token, `?_outputFormat=${encodeURIComponent(f)}`);
      assert.equal(k.status, 202);
      await cancel(k.location!, reader.token);
    });
  }
  test('text/csv: 400 OperationOutcome (even lenient)', async () => {
    for (const prefer of ['respond-async', 'respond-async, handling=lenient']) {
      const k = await kickoff(srv.base, reader.token, '?_outputFormat=text%2Fcsv', { headers: { prefer } });
      assert.equal(k.status, 400);
      assert.equal(k.body.resourceType, 'OperationOutcome');
      assert.deepEqual(k.body.issue[0].expression, ['_outputFormat']);
    }
  });
});

describe('_since (24)', () => {
  test('accepts …Z, …+00:00 and a + that arrived decoded as a space (Inferno x.4.02: one week ago)', async () => {
    const weekAgo = new Date(Date.now() - 7 * 86400_000).toISOString();
    for (const q of [weekAgo, weekAgo.replace('Z', '+00:00')]) {
      const k = await kickoff(srv.base, reader.token, `?_since=${encodeURIComponent(q)}`);
      assert.equal(k.status, 202, q);
      await cancel(k.location!, reader.token);
    }
    const raw = await kickoff(srv.base, reader.token, `?_since=${weekAgo.replace('Z', '+00:00')}`); // + unencoded → space
    assert.equal(raw.status, 202);
    await cancel(raw.location!, reader.token);
  });
  test('malformed values and future instants: 400', async () => {
    for (const bad of ['yesterday', '2024-13-01T00:00:00Z', '2024-01-01', '2024-01-01T00:00:00', new Date(Date.now() + 86400_000).toISOString()]) {
      const k = await kickoff(srv.base, reader.token, `?_since=${encodeURIComponent(bad)}`);
      assert.equal(k.status, 400, bad);
      assert.equal(k.body.resourceType, 'OperationOutcome');
    }
  });
});

describe('_type (25)', () => {
  test('comma lists and repeated parameters are merged', async () => {
    const { manifest } = await runExport(srv.base, reader.token, '?_type=Practitioner,Location&_type=Organization');
    assert.deepEqual([...new Set(manifest.output.map((o) => o.type))].sort(), ['Location', 'Organization', 'Practitioner']);
  });
  test('a non-Plan-Net type: 400; lenient: 202 with the ignored part in the error file', async () => {
    const strict = await kickoff(srv.base, reader.token, '?_type=Practitioner,Patient');
    assert.equal(strict.status, 400);
    const k = await kickoff(srv.base, reader.token, '?_type=Practitioner,Patient', { headers: { prefer: 'respond-async, handling=lenient' } });
    assert.equal(k.status, 202);
    const done = await poll(k.location!, reader.token);
    const m = done.body as Manifest;
    assert.deepEqual([...new Set(m.output.map((o) => o.type))], ['Practitioner']);
    assert.equal(m.error.length, 1);
    assert.equal(m.error[0].type, 'OperationOutcome');
    const e = await download(m.error[0].url);
    assert.equal(e.lines.length, 1);
    assert.match(e.lines[0].issue[0].diagnostics, /Patient/);
  });
});

describe('other parameters (26, 27)', () => {
  for (const [param, value] of [['includeAssociatedData', 'LatestProvenanceResources'], ['organizeOutputBy', 'Organization'], ['allowPartialManifests', 'true'], ['_until', '2024-01-01T00:00:00Z'], ['unknownThing', 'x']]) {
    test(`${param}: 400 strict; lenient 202 plus an error entry`, async () => {
      const strict = await kickoff(srv.base, reader.token, `?${param}=${encodeURIComponent(value)}`);
      assert.equal(strict.status, 400);
      assert.equal(strict.body.resourceType, 'OperationOutcome');
      const k = await kickoff(srv.base, reader.token, `?_type=Endpoint&${param}=${encodeURIComponent(value)}`, { headers: { prefer: 'respond-async, handling=lenient' } });
      assert.equal(k.status, 202);
      const m = (await poll(k.location!, reader.token)).body as Manifest;
      assert.equal(m.error.length, 1);
      const e = await download(m.error[0].url);
      assert.equal(e.lines.length, m.error[0].count);
      assert.ok(e.lines.some((l) => l.issue[0].expression[0] === param));
    });
  }
  test('patient on a system export: 400, lenient too', async () => {
    for (const prefer of ['respond-async', 'respond-async, handling=lenient']) {
      assert.equal((await kickoff(srv.base, reader.token, '?patient=Patient/1', { headers: { prefer } })).status, 400);
    }
  });
  test('Patient/$export: 4xx not-supported; Group/{unknown}/$export: 404; both OperationOutcomes', async () => {
    const p = await fhir(`${srv.base}/Patient/$export`, { headers: { authorization: `Bearer ${reader.token}`, prefer: 'respond-async' } });
    assert.ok(p.status >= 400 && p.status < 500);
    assert.equal(p.body.issue[0].code, 'not-supported');
    const g = await fhir(`${srv.base}/Group/nope/$export`, { headers: { authorization: `Bearer ${reader.token}`, prefer: 'respond-async' } });
    assert.equal(g.status, 404);
    assert.equal(g.body.resourceType, 'OperationOutcome');
  });
  test('POST with a Parameters body gives the same job as the GET; the manifest request has no parameters', async () => {
    const body = { resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Practitioner' }, { name: '_type', valueString: 'Location' }, { name: '_outputFormat', valueString: 'ndjson' }] };
    const k = await kickoff(srv.base, reader.token, '', { method: 'POST', body });
    assert.equal(k.status, 202, JSON.stringify(k.body));
    const post = (await poll(k.location!, reader.token)).body as Manifest;
    const get = (await runExport(srv.base, reader.token, '?_type=Practitioner,Location&_outputFormat=ndjson')).manifest;
    assert.equal(post.request, `${srv.base}/$export`);
    assert.equal(get.request, `${srv.base}/$export?_type=Practitioner,Location&_outputFormat=ndjson`);
    assert.deepEqual(post.output.map((o) => [o.type, o.count]), get.output.map((o) => [o.type, o.count]));
    const bad = await kickoff(srv.base, reader.token, '', { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Patient/1' } }] } });
    assert.equal(bad.status, 400);
  });
});

describe('_elements and _typeFilter (26)', () => {
  test('_elements keeps the named and the mandatory elements and tags SUBSETTED', async () => {
    const { manifest } = await runExport(srv.base, reader.token, '?_type=Practitioner,Location&_elements=Practitioner.name,telecom');
    const prac = await download(manifest.output.find((o) => o.type === 'Practitioner')!.url);
    for (const r of prac.lines) {
      assert.ok(Object.keys(r).every((k) => ['resourceType', 'id', 'meta', 'name', 'telecom', 'identifier', 'active'].includes(k)), Object.keys(r).join());
      assert.ok(r.meta.tag.some((t: any) => t.code === 'SUBSETTED'));
      assert.ok(r.name);
    }
    const loc = await download(manifest.output.find((o) => o.type === 'Location')!.url);
    assert.ok(loc.lines.every((r) => r.address === undefined && r.meta.tag.some((t: any) => t.code === 'SUBSETTED')));
    assert.equal((await kickoff(srv.base, reader.token, '?_elements=Patient.name')).status, 400);
  });
  test('_typeFilter: a Plan-Net search per type; resources matching any filter of their type; others unfiltered', async () => {
    const first = (await fhir(`${srv.base}/Practitioner?_count=2`)).body.entry.map((e: any) => e.resource.id);
    const filter = encodeURIComponent(`Practitioner?_id=${first[0]}`) + ',' + encodeURIComponent(`Practitioner?_id=${first[1]}`);
    const { manifest } = await runExport(srv.base, reader.token, `?_type=Practitioner,Endpoint&_typeFilter=${filter}`);
    const prac = await download(manifest.output.find((o) => o.type === 'Practitioner')!.url);
    assert.deepEqual(prac.lines.map((r) => r.id).sort(), [...first].sort());
    const endpoints = (await fhir(`${srv.base}/Endpoint?_summary=count&_total=accurate`)).body.total;
    assert.equal(manifest.output.filter((o) => o.type === 'Endpoint').reduce((n, o) => n + o.count, 0), endpoints);
    // an invalid search, _include and _sort are refused
    for (const f of ['Practitioner?nonsense=1', 'Practitioner?_include=Practitioner:x', 'Practitioner?_sort=name']) {
      assert.equal((await kickoff(srv.base, reader.token, `?_typeFilter=${encodeURIComponent(f)}`)).status, 400, f);
    }
  });
});

describe('limits (28)', () => {
  test('more concurrent exports than allowed per client: 429 with Retry-After and an OperationOutcome', async () => {
    const d = loadConfig({});
    const limited = await startTestServer({ export: { ...d.export, maxConcurrentPerClient: 1, maxConcurrentPerTenant: 2 } });
    try {
      const a = await clientToken(limited, limited.tenant, ['system/*.read']);
      const b = await clientToken(limited, limited.tenant, ['system/*.read']);
      const c = await clientToken(limited, limited.tenant, ['system/*.read']);
      // stop the workers so the first exports stay queued
      await limited.jobs.stop();
      await limited.jobs.start({ workers: false });
      const base = `${limited.url}/t/${limited.tenant}/fhir`;
      assert.equal((await kickoff(base, a.token)).status, 202);
      const again = await kickoff(base, a.token);
      assert.equal(again.status, 429);
      assert.match(again.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(again.body.issue[0].code, 'throttled');
      assert.equal((await kickoff(base, b.token)).status, 202);
      const tenantFull = await kickoff(base, c.token);
      assert.equal(tenantFull.status, 429, 'per-tenant limit');
    } finally { await limited.close(); }
  });
});

void tokens;
