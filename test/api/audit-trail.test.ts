/**
 * Audit trail: one row per request (refused ones included), what the row says, privacy of anonymous callers,
 * writes recorded in their own transaction, correlation ids, append-only rights, shutdown flush, chain under
 * concurrency (two service instances writing one tenant).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { fhir } from '../helpers/server.ts';
import { startAuditServer, ownerClient, rowsFor, auditRows, practitioner, uniqueId, type AuditTestServer } from './audit-support.ts';
import { verifyChain, type Reader } from '../../src/audit/verify.ts';
import { mintAccessToken } from '../../src/auth/smart/token-endpoint.ts';
import { runAsJob } from '../../src/audit/service.ts';
import { runWithContext } from '../../src/http/request-context.ts';
import { ANONYMOUS } from '../../src/auth/identity.ts';

let srv: AuditTestServer;
let owner: pg.Client;
before(async () => { srv = await startAuditServer(); owner = await ownerClient(); });
after(async () => { await owner.end(); await srv.close(); });

const rid = (p: string) => uniqueId(p);

async function create(body: unknown, requestId = rid('create')): Promise<{ id: string; requestId: string; status: number }> {
  const r = await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: body, headers: { authorization: await srv.writeAuth(), 'x-request-id': requestId } });
  return { id: r.body?.id, requestId, status: r.status };
}

test('every tenant request gets exactly one row: read, search, refused write, unknown tenant; no row outside tenants', async () => {
  const { id } = await create(practitioner({ family: 'Rowe', given: 'Ada', npi: '1234567893' }));
  const ids = { read: rid('read'), search: rid('search'), refused: rid('refused'), unknown: rid('unknown'), health: rid('health'), badTenant: rid('badtenant'), notfound: rid('notfound') };
  assert.equal((await fhir(`${srv.base}/Practitioner/${id}`, { headers: { 'x-request-id': ids.read } })).status, 200);
  assert.equal((await fhir(`${srv.base}/Practitioner?_id=${id}&_count=5`, { headers: { 'x-request-id': ids.search } })).status, 200);
  assert.equal((await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: practitioner({ family: 'X', given: 'Y', npi: '1234567893' }), anonymous: true, headers: { 'x-request-id': ids.refused } })).status, 401);
  assert.equal((await fhir(`${srv.base}/Practitioner/does-not-exist`, { headers: { 'x-request-id': ids.notfound } })).status, 404);
  const unknownTenant = `nosuch-${Date.now()}`;
  assert.equal((await fhir(`${srv.url}/t/${unknownTenant}/fhir/metadata`, { headers: { 'x-request-id': ids.unknown } })).status, 404);
  await fetch(`${srv.url}/healthz`, { headers: { 'x-request-id': ids.health } });
  await fetch(`${srv.url}/t/Not_A_Tenant/fhir/metadata`, { headers: { 'x-request-id': ids.badTenant } });
  await srv.audit.flush();

  const [read] = await rowsFor(owner, srv.tenant, ids.read);
  assert.equal(read.action, 'read');
  assert.equal(read.status, 200);
  assert.equal(read.outcome, 0);
  assert.equal(read.resource_type, 'Practitioner');
  assert.deepEqual(read.resource_ids, [id]);
  assert.equal(read.result_count, 1);
  assert.equal(read.actor_kind, 'anonymous');
  assert.equal(read.actor_id, null);
  assert.equal(read.method, 'GET');
  assert.equal(read.in_transaction, false);
  assert.ok(read.duration_ms > 0);

  const [search] = await rowsFor(owner, srv.tenant, ids.search);
  assert.equal(search.action, 'search-type');
  assert.deepEqual([...search.search_params].sort(), ['_count', '_id']);
  assert.equal(search.result_count, 1);
  assert.equal(search.query, null, 'anonymous: no query values');

  const refused = await rowsFor(owner, srv.tenant, ids.refused);
  assert.equal(refused.length, 1);
  assert.equal(refused[0].status, 401);
  assert.equal(refused[0].outcome, 4);
  assert.equal(refused[0].action, 'create');

  const [nf] = await rowsFor(owner, srv.tenant, ids.notfound);
  assert.equal(nf.status, 404);
  assert.deepEqual(nf.resource_ids, ['does-not-exist']);

  // an unknown but well-formed tenant: the row lives under the id as given (FK-less; see ADR 0004)
  const unknown = await rowsFor(owner, unknownTenant, ids.unknown);
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0].status, 404);
  assert.equal(unknown[0].action, 'capabilities');

  const { rows: stray } = await owner.query('SELECT tenant_id FROM audit_events WHERE request_id = ANY($1)', [[ids.health, ids.badTenant]]);
  assert.deepEqual(stray, [], 'no row for requests outside a tenant or with an invalid tenant id');
  for (const r of [ids.read, ids.search, ids.refused, ids.notfound]) assert.equal((await rowsFor(owner, srv.tenant, r)).length, 1, r);
});

test('anonymous rows keep no IP, user agent or query values, and only recognized parameter names; authenticated rows keep full detail', async () => {
  const anon = rid('anon');
  const ua = 'AuditTestBrowser/1.0 (consumer)';
  await fhir(`${srv.base}/Practitioner?_id=secret-value-1&Ada%20Lovelace=1`, { headers: { 'x-request-id': anon, 'user-agent': ua } });
  const client = rid('client');
  await fhir(`${srv.base}/Practitioner?_id=secret-value-2`, { headers: { 'x-request-id': client, 'user-agent': ua, authorization: await srv.writeAuth() } });
  await srv.audit.flush();

  const [a] = await rowsFor(owner, srv.tenant, anon);
  assert.equal(a.source_ip, null);
  assert.equal(a.user_agent, null);
  assert.equal(a.query, null);
  assert.match(a.network_hash, /^v4:[0-9a-f]{16}$/);
  assert.deepEqual([...a.search_params].sort(), ['(unrecognized)', '_id']);
  assert.doesNotMatch(JSON.stringify(a), /secret-value-1|Lovelace|AuditTestBrowser/);

  const [c] = await rowsFor(owner, srv.tenant, client);
  assert.equal(c.actor_kind, 'client');
  assert.equal(c.actor_id, srv.clientId());
  assert.deepEqual(c.actor_roles, ['system/*.cruds']);
  assert.match(c.source_ip, /127\.0\.0\.1/);
  assert.equal(c.user_agent, ua);
  assert.equal(c.query, '_id=secret-value-2');
  assert.equal(c.network_hash, null);

  // the same network prefix hashes the same way within the day (abuse handling), and is never the address itself
  const again = rid('anon2');
  await fhir(`${srv.base}/metadata`, { headers: { 'x-request-id': again } });
  await srv.audit.flush();
  assert.equal((await rowsFor(owner, srv.tenant, again))[0].network_hash, a.network_hash);
});

test('a failed sign-in keeps the address (not a consumer browsing), as anonymous', async () => {
  const id = rid('badtoken');
  const r = await fhir(`${srv.base}/Practitioner`, { headers: { 'x-request-id': id, authorization: 'Bearer not.a.token' } });
  assert.equal(r.status, 401);
  await srv.audit.flush();
  const [row] = await rowsFor(owner, srv.tenant, id);
  assert.equal(row.status, 401);
  assert.equal(row.actor_kind, 'anonymous');
  assert.match(row.source_ip, /127\.0\.0\.1/);
  assert.equal(row.query, null);
});

test('writes commit their row in the same transaction (no flush needed), with the ids they touched', async () => {
  const c = await create(practitioner({ family: 'Tx', given: 'One', npi: '1234567893' }));
  assert.equal(c.status, 201);
  // no flush: the row committed with the change
  const rows = await rowsFor(owner, srv.tenant, c.requestId);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].in_transaction, true);
  assert.equal(rows[0].status, 201);
  assert.equal(rows[0].action, 'create');
  assert.deepEqual(rows[0].resource_ids, [c.id]);
  assert.equal(rows[0].actor_id, srv.clientId());

  const up = rid('update');
  const body = { ...practitioner({ family: 'Tx', given: 'Two', npi: '1234567893' }), id: c.id };
  assert.equal((await fhir(`${srv.base}/Practitioner/${c.id}`, { method: 'PUT', json: body, headers: { authorization: await srv.writeAuth(), 'x-request-id': up } })).status, 200);
  const del = rid('delete');
  assert.equal((await fhir(`${srv.base}/Practitioner/${c.id}`, { method: 'DELETE', headers: { authorization: await srv.writeAuth(), 'x-request-id': del } })).status, 204);
  const asCreate = rid('putcreate');
  const newId = uniqueId('put');
  assert.equal((await fhir(`${srv.base}/Practitioner/${newId}`, { method: 'PUT', json: { ...body, id: newId }, headers: { authorization: await srv.writeAuth(), 'x-request-id': asCreate } })).status, 201);
  for (const [reqId, status, action] of [[up, 200, 'update'], [del, 204, 'delete'], [asCreate, 201, 'update']] as const) {
    const r = await rowsFor(owner, srv.tenant, reqId);
    assert.equal(r.length, 1, reqId);
    assert.equal(r[0].status, status);
    assert.equal(r[0].action, action);
    assert.equal(r[0].in_transaction, true);
  }

  // a transaction Bundle: one row naming every resource it wrote
  const txId = rid('bundle');
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: [1, 2].map((n) => ({ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: practitioner({ family: `Bundle${n}`, given: 'B', npi: '1234567893' }), request: { method: 'POST', url: 'Practitioner' } })),
  };
  const tr = await fhir(srv.base, { method: 'POST', json: bundle, headers: { authorization: await srv.writeAuth(), 'x-request-id': txId } });
  assert.equal(tr.status, 200);
  const created = tr.body.entry.map((e: any) => /Practitioner\/([^/]+)/.exec(e.response.location)![1]).sort();
  const [txRow] = await rowsFor(owner, srv.tenant, txId);
  assert.equal(txRow.in_transaction, true);
  assert.deepEqual([...txRow.resource_ids].sort(), created);
  assert.equal(txRow.result_count, 2);
});

test('a write whose transaction fails is recorded as the failure it was', async () => {
  const c = await create(practitioner({ family: 'Fail', given: 'One', npi: '1234567893' }));
  const id = rid('ifmatch');
  const r = await fhir(`${srv.base}/Practitioner/${c.id}`, {
    method: 'PUT', json: { ...practitioner({ family: 'Fail', given: 'Two', npi: '1234567893' }), id: c.id },
    headers: { authorization: await srv.writeAuth(), 'x-request-id': id, 'if-match': 'W/"7"' },
  });
  assert.equal(r.status, 412);
  await srv.audit.flush();
  const rows = await rowsFor(owner, srv.tenant, id);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].status, 412);
  assert.equal(rows[0].in_transaction, false);
  assert.equal(rows[0].outcome, 4);
});

test('X-Request-Id: a valid one is echoed and recorded; an invalid one is replaced by a generated id, which is recorded', async () => {
  const r = await fhir(`${srv.base}/metadata`, { headers: { 'x-request-id': 'bad id; <x>' } });
  const generated = r.headers.get('x-request-id')!;
  assert.notEqual(generated, 'bad id; <x>');
  const good = rid('good');
  const g = await fhir(`${srv.base}/metadata`, { headers: { 'x-request-id': good } });
  assert.equal(g.headers.get('x-request-id'), good);
  await srv.audit.flush();
  assert.equal((await rowsFor(owner, srv.tenant, generated)).length, 1);
  assert.equal((await rowsFor(owner, srv.tenant, good)).length, 1);
  // request logs carry the same id, the tenant, the route, the status and the latency
  const line = srv.logs.map((l) => JSON.parse(l)).find((l) => l.req?.id === good && l.res);
  assert.ok(line, 'request log line');
  assert.equal(line.tenant, srv.tenant);
  assert.equal(line.route, 'GET /t/:tenant/fhir/metadata');
  assert.equal(line.res.statusCode, 200);
  assert.equal(typeof line.responseTime, 'number');
});

test('the service role can insert and read audit rows but not update or delete them', async () => {
  const { rows } = await owner.query(`SELECT has_table_privilege('plannet_app', 'audit_events', 'INSERT') AS i, has_table_privilege('plannet_app', 'audit_events', 'SELECT') AS s,
    has_table_privilege('plannet_app', 'audit_events', 'UPDATE') AS u, has_table_privilege('plannet_app', 'audit_events', 'DELETE') AS d,
    has_table_privilege('plannet_app', 'audit_events', 'TRUNCATE') AS t, has_table_privilege('plannet_app', 'audit_checkpoints', 'INSERT') AS ci`);
  assert.deepEqual(rows[0], { i: true, s: true, u: false, d: false, t: false, ci: false });
  const client = srv.services.db.pool;
  await assert.rejects(srv.services.db.withTenant(srv.tenant, (tx) => tx.query('UPDATE audit_events SET status = 200 WHERE tenant_id = $1', [srv.tenant])), /permission denied/);
  await assert.rejects(srv.services.db.withTenant(srv.tenant, (tx) => tx.query('DELETE FROM audit_events WHERE tenant_id = $1', [srv.tenant])), /permission denied/);
  assert.ok(client);
});

test('shutdown flushes buffered rows', async () => {
  const other = await startAuditServer({ overrides: { auditFlushIntervalMs: 600_000 } });
  const ids = [rid('sd'), rid('sd'), rid('sd')];
  for (const id of ids) await fhir(`${other.base}/metadata`, { headers: { 'x-request-id': id } });
  assert.equal((await auditRows(owner, other.tenant, 'request_id = ANY($2)', [ids])).length, 0, 'still buffered');
  await other.close();
  assert.equal((await auditRows(owner, other.tenant, 'request_id = ANY($2)', [ids])).length, 3);
});

test('the chain stays intact under concurrent writes and reads from two service instances', async () => {
  const second = await startAuditServer({ dataDir: srv.dataDir }); // same deployment: same keys
  try {
    const tenant = srv.tenant;
    const auth = await srv.writeAuth();
    // the token's audience is the FHIR base, so the second instance needs its own
    const auth2 = `Bearer ${await mintAccessToken(srv.services.auth.keys, tenant, srv.clientId(), ['system/*.cruds'], `${second.url}/t/${tenant}/fhir`)}`;
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const s = i % 2 === 0 ? srv : second;
      const base = `${s.url}/t/${tenant}/fhir`;
      jobs.push(fhir(`${base}/Practitioner`, { method: 'POST', json: practitioner({ family: `Conc${i}`, given: 'C', npi: '1234567893' }), headers: { authorization: s === srv ? auth : auth2 } }));
      jobs.push(fhir(`${base}/Practitioner?_count=1`));
      jobs.push(fhir(`${base}/metadata`));
    }
    const results = await Promise.all(jobs) as { status: number }[];
    assert.ok(results.every((r) => r.status < 300), results.map((r) => r.status).join(','));
    await srv.audit.flush();
    await second.audit.flush();
    const read: Reader = async (sql, params) => (await owner.query(sql, params)).rows;
    const v = await verifyChain(read, tenant, undefined);
    assert.equal(v.broken, undefined);
    assert.ok(v.ok);
    const { rows } = await owner.query('SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1', [tenant]);
    assert.equal(v.verified, rows[0].n);
  } finally {
    await second.close();
  }
});

test('refusals by middleware get their row too: 429 from the rate limiter, 400 for a body that is not JSON', async () => {
  const limited = await startAuditServer({ overrides: { rateLimit: { anonymousPerMinute: 2, clientPerMinute: 1e6, authPerMinute: 1e6, windowMs: 60_000 } } });
  try {
    const ids = [rid('rl'), rid('rl'), rid('rl')];
    const statuses = [];
    for (const id of ids) statuses.push((await fhir(`${limited.base}/metadata`, { headers: { 'x-request-id': id } })).status);
    assert.equal(statuses.at(-1), 429);
    const bad = rid('badjson');
    const r = await fetch(`${limited.base}/Practitioner`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: await limited.writeAuth(), 'x-request-id': bad }, body: '{"resourceType": "Pract' });
    assert.equal(r.status, 400);
    await limited.audit.flush();
    const [throttled] = await rowsFor(owner, limited.tenant, ids[2]);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.outcome, 4);
    const [parse] = await rowsFor(owner, limited.tenant, bad);
    assert.equal(parse.status, 400);
    assert.equal(parse.action, 'create');
    assert.equal(parse.actor_kind, 'client');
  } finally {
    await limited.close();
  }
});

test('background jobs: rows carry the job as actor and the request id that started them', async () => {
  const requestId = rid('job-parent');
  await runWithContext({ requestId, identity: ANONYMOUS, audit: {} }, () => runAsJob({ name: 'export', tenant: srv.tenant }, async () => {
    // work the job records itself (a file download, a finished export) ...
    srv.audit.record({ tenant: srv.tenant, action: 'export-file', resourceType: 'Practitioner', resultCount: 42 });
    // ... and a write it makes, recorded in the write's own transaction
    await srv.services.db.withTenant(srv.tenant, (tx) => tx.query(`UPDATE smart_clients SET name = name WHERE tenant_id = $1`, [srv.tenant]));
  }));
  await srv.audit.flush();
  const rows = await rowsFor(owner, srv.tenant, requestId);
  assert.equal(rows.length, 2);
  for (const r of rows) { assert.equal(r.actor_kind, 'system'); assert.equal(r.actor_id, 'export'); }
  assert.deepEqual(rows.map((r) => r.in_transaction).sort(), [false, true]);
  assert.equal(rows.find((r) => !r.in_transaction).result_count, 42);
});
