/**
 * Tamper evidence: `npm run audit:verify` passes an intact chain (last line "verified N rows, chain intact", exit 0)
 * and names the first broken row when an owner alters or deletes one; the retention purge keeps the chain verifiable
 * from a signed checkpoint, refuses to purge a broken chain, and its signed anchors catch even a rewrite that
 * recomputes every later hash.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { fhir, testDatabaseUrl } from '../helpers/server.ts';
import { startAuditServer, ownerClient, auditRows, practitioner, runCli, type AuditTestServer } from './audit-support.ts';
import { purgeAudit, ChainBrokenError } from '../../src/audit/purge.ts';
import { loadCheckpointKey } from '../../src/audit/checkpoint-key.ts';
import { chainHash, contentHash, fromDbRow, normalize, ChainCursor, genesisHash, type AuditRecord } from '../../src/audit/record.ts';
import { appendBuffered } from '../../src/audit/store.ts';

let srv: AuditTestServer;
let owner: pg.Client;
let keyDir: string;
const keyEnv = () => ({ DATA_DIR: keyDir });

before(async () => {
  srv = await startAuditServer();
  owner = await ownerClient();
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-audit-key-'));
});
after(async () => { await owner.end(); await srv.close(); fs.rmSync(keyDir, { recursive: true, force: true }); });

async function workload(tenant: string, n = 5): Promise<void> {
  const base = `${srv.url}/t/${tenant}/fhir`;
  for (let i = 0; i < n; i++) {
    const c = await fhir(`${base}/Practitioner`, { method: 'POST', json: practitioner({ family: `Chain${i}`, given: 'C', npi: '1234567893' }), headers: { authorization: await srv.writeAuth(tenant) } });
    assert.equal(c.status, 201);
    await fhir(`${base}/Practitioner/${c.body.id}`);
    await fhir(`${base}/Practitioner?_count=2`);
  }
  await srv.audit.flush();
}

const count = async (tenant: string) => Number((await owner.query('SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1', [tenant])).rows[0].n);
const verify = (tenant: string) => runCli('audit-verify', ['--tenant', tenant], keyEnv());

test('audit:verify: intact chain → exit 0 and "verified N rows, chain intact" as the last line', async () => {
  const tenant = await srv.newTenant('chain');
  await workload(tenant);
  const r = await verify(tenant);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const last = r.lines.at(-1)!;
  assert.match(last, /^verified \d+ rows, chain intact$/);
  assert.equal(Number(/(\d+) rows/.exec(last)![1]), await count(tenant));
  assert.ok(await count(tenant) >= 15);
});

test('audit:verify names the row an owner altered, and the row an owner deleted', async () => {
  const tenant = await srv.newTenant('tamper');
  await workload(tenant);
  const rows = await auditRows(owner, tenant);
  const victim = rows[6];
  await owner.query('UPDATE audit_events SET status = 299 WHERE tenant_id = $1 AND seq = $2', [tenant, victim.seq]);
  const r = await verify(tenant);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, new RegExp(`BROKEN at row ${victim.seq} \\(request ${victim.request_id}`));
  assert.match(r.stdout, /the row was altered/);
  assert.match(r.lines.at(-1)!, new RegExp(`^verified ${Number(victim.seq) - 1} rows, chain BROKEN at row ${victim.seq}$`));

  // put it back: intact again
  await owner.query('UPDATE audit_events SET status = $3 WHERE tenant_id = $1 AND seq = $2', [tenant, victim.seq, victim.status]);
  assert.equal((await verify(tenant)).code, 0);

  // an altered query value, actor or time is caught the same way
  await owner.query(`UPDATE audit_events SET recorded_at = recorded_at + interval '1 second' WHERE tenant_id = $1 AND seq = $2`, [tenant, rows[2].seq]);
  const t = await verify(tenant);
  assert.equal(t.code, 1);
  assert.match(t.stdout, new RegExp(`BROKEN at row ${rows[2].seq} `));
  await owner.query('UPDATE audit_events SET recorded_at = $3 WHERE tenant_id = $1 AND seq = $2', [tenant, rows[2].seq, rows[2].recorded_at]);

  await owner.query('DELETE FROM audit_events WHERE tenant_id = $1 AND seq = $2', [tenant, rows[4].seq]);
  const d = await verify(tenant);
  assert.equal(d.code, 1);
  assert.match(d.stdout, new RegExp(`BROKEN at row ${rows[4].seq}: row ${rows[4].seq} is missing`));

  // removing rows from the end (and rewinding the head) is not silent either: the tail check or anchors catch it
});

test('purge keeps the chain verifiable from a signed checkpoint; the checkpoint cannot be forged', async () => {
  const tenant = await srv.newTenant('purge');
  await workload(tenant, 3);
  const before = await count(tenant);
  const firstRows = await auditRows(owner, tenant);
  await new Promise((r) => setTimeout(r, 20));
  const cut = new Date();
  await new Promise((r) => setTimeout(r, 20));
  await workload(tenant, 2);
  const total = await count(tenant);
  const key = loadCheckpointKey({ dataDir: keyDir, auditCheckpointKey: undefined }, { create: true })!;
  // "now" chosen so the cutoff falls between the two workloads
  const result = await purgeAudit({ ownerUrl: testDatabaseUrl(), tenant, key, retentionDays: 1, now: new Date(cut.getTime() + 86_400_000) });
  assert.equal(result.purged, before);
  assert.equal(result.checkpointSeq, Number(firstRows.at(-1).seq));
  assert.equal(await count(tenant), total - before + 1, 'newer rows kept, plus the purge job\'s own row');
  const { rows: cps } = await owner.query('SELECT kind, seq FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY kind', [tenant]);
  assert.deepEqual(cps.map((c) => c.kind), ['anchor', 'purge']);

  const r = await verify(tenant);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`verifying from the signed purge checkpoint at row ${result.checkpointSeq}`));
  assert.match(r.lines.at(-1)!, new RegExp(`^verified ${total - before + 1} rows, chain intact$`));

  // more traffic after the purge still chains on
  await workload(tenant, 1);
  assert.equal((await verify(tenant)).code, 0);

  // forging the checkpoint (to hide rows) fails its signature
  await owner.query(`UPDATE audit_checkpoints SET hash = sha256(hash) WHERE tenant_id = $1 AND kind = 'purge'`, [tenant]);
  const f = await verify(tenant);
  assert.equal(f.code, 1);
  assert.match(f.stdout, /signature of the purge checkpoint .* is not valid/);
  assert.match(f.lines.at(-1)!, /^verified 0 rows, chain BROKEN/);
});

test('audit:purge CLI: tenant retention setting, default keeps recent rows; a broken chain is not purged', async () => {
  const tenant = await srv.newTenant('purgecli');
  await workload(tenant, 2);
  const n = await count(tenant);
  // default retention (six years): nothing to purge, the head gets anchored
  const keep = await runCli('audit-purge', ['--tenant', tenant], keyEnv());
  assert.equal(keep.code, 0, keep.stdout + keep.stderr);
  assert.match(keep.stdout, /retention 2192 days/);
  assert.match(keep.stdout, /purged 0 rows/);
  assert.equal(await count(tenant), n + 1);
  // the tenant's own setting
  await srv.services.tenants.updateSettings(tenant, { auditRetentionDays: 0 });
  const all = await runCli('audit-purge', ['--tenant', tenant], keyEnv());
  assert.equal(all.code, 0, all.stdout + all.stderr);
  assert.match(all.stdout, /retention 0 days/);
  assert.match(all.stdout, new RegExp(`purged ${n + 1} rows`));
  assert.equal((await verify(tenant)).code, 0);

  // tamper, then purge: refused, nothing deleted
  await workload(tenant, 2);
  const rows = await auditRows(owner, tenant);
  await owner.query('UPDATE audit_events SET action = $3 WHERE tenant_id = $1 AND seq = $2', [tenant, rows[1].seq, 'read']);
  const before = await count(tenant);
  const refused = await runCli('audit-purge', ['--tenant', tenant, '--retention-days', '0'], keyEnv());
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`broken at row ${rows[1].seq}`));
  assert.equal(await count(tenant), before);
});

test('a signed anchor catches a rewrite that recomputes every later hash and the chain head', async () => {
  const tenant = await srv.newTenant('anchor');
  await workload(tenant, 3);
  const key = loadCheckpointKey({ dataDir: keyDir, auditCheckpointKey: undefined }, { create: true })!;
  await purgeAudit({ ownerUrl: testDatabaseUrl(), tenant, key }); // anchors the head, purges nothing
  await workload(tenant, 1);
  assert.equal((await verify(tenant)).code, 0);

  // the owner rewrites row 3 and recomputes the whole chain after it, head included: every link is consistent again
  const rows = await auditRows(owner, tenant);
  const stored = rows.map(fromDbRow);
  stored[2].record.status = 299;
  let prev = stored[1].hash;
  for (const s of stored.slice(2)) {
    const h = chainHash(prev, s.seq, contentHash(normalize(s.record)));
    await owner.query('UPDATE audit_events SET status = $3, prev_hash = $4, hash = $5 WHERE tenant_id = $1 AND seq = $2', [tenant, s.seq, s.record.status, prev, h]);
    prev = h;
  }
  await owner.query('UPDATE audit_chain_head SET hash = $2 WHERE tenant_id = $1', [tenant, prev]);
  const r = await verify(tenant);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /differs from the signed anchor/);
});

test('rows of an unknown tenant id are verifiable under that id', async () => {
  const ghost = `ghost-${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < 3; i++) await fhir(`${srv.url}/t/${ghost}/fhir/metadata`);
  await srv.audit.flush();
  const r = await verify(ghost);
  assert.equal(r.code, 0);
  assert.equal(r.lines.at(-1), 'verified 3 rows, chain intact');
});

test('buffered rows reach the database exactly as given, whatever their text; the batch chain equals the row-by-row rule', async () => {
  const tenant = `odd-${randomBytes(4).toString('hex')}`;
  const nasty = ['a"b', 'back\\slash', 'comma,brace{}', 'NULL', 'null', ' lead and trail ', '', 'é ü 中文 🙂', '\\"\\\\', 'x'.repeat(500)];
  const records: AuditRecord[] = nasty.map((v, i) => normalize({
    tenant, recordedAt: new Date(Date.UTC(2026, 10, 23, 4, 0, i)).toISOString(), requestId: `req-${v}`, actorKind: i % 2 ? 'staff' : 'anonymous',
    actorId: i % 2 ? v : null, actorRoles: i % 2 ? [v, 'editor', v] : null, action: `act${v}`, method: 'GET', resourceType: v || null,
    resourceIds: [v, `${v}2`], searchParams: i % 3 ? [v] : null, query: i % 2 ? v : null, status: 200 + i, outcome: 0, durationMs: 1.5 + i / 1000,
    resultCount: i % 2 ? null : i, sourceIp: i % 2 ? '2001:db8::1' : null, userAgent: i % 2 ? v : null, networkHash: i % 2 ? null : 'v4:0123456789abcdef',
    inTransaction: false,
  }));
  await appendBuffered(srv.services.db.pool, tenant, records.slice(0, 4));
  await appendBuffered(srv.services.db.pool, tenant, records.slice(4));
  const rows = (await auditRows(owner, tenant)).map(fromDbRow);
  assert.equal(rows.length, records.length);
  let prev = genesisHash(tenant);
  rows.forEach((row, i) => {
    assert.deepEqual(normalize(row.record), records[i], `row ${i}`);
    assert.equal(row.seq, i + 1);
    assert.deepEqual(row.prevHash, prev);
    prev = chainHash(prev, row.seq, contentHash(records[i]));
    assert.deepEqual(row.hash, prev, `hash of row ${i}`);
  });
  const cursor = new ChainCursor(genesisHash(tenant));
  records.forEach((r, i) => assert.equal(cursor.next(i + 1, r), rows[i].hash.toString('hex')));
  const r = await verify(tenant);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines.at(-1), `verified ${records.length} rows, chain intact`);
});

test('a flush bigger than one INSERT slice (200 rows) is one chain, numbered without gaps, verified intact', async () => {
  const tenant = `slices-${randomBytes(4).toString('hex')}`;
  // Slices are rows 1–200, 201–400, 401–450. Staff rows appear only after 150 anonymous ones in the first slice, now
  // and then in the second, never in the third: columns NULL in a whole slice, and leading NULLs, both occur.
  const staff = (i: number) => (i >= 150 && i < 200) || (i >= 200 && i < 400 && i % 7 === 0);
  const records: AuditRecord[] = Array.from({ length: 450 }, (_, i) => normalize({
    tenant, recordedAt: new Date(Date.UTC(2026, 10, 23, 5, 0, 0, i)).toISOString(), requestId: `slice-${i}`, actorKind: staff(i) ? 'staff' : 'anonymous',
    actorId: staff(i) ? `user-${i}` : null, actorRoles: staff(i) ? ['editor'] : null, action: 'read', method: 'GET', resourceType: 'Practitioner',
    resourceIds: [`p${i}`], searchParams: i % 50 === 49 ? ['name'] : null, query: staff(i) ? `name=x${i}` : null,
    status: 200, outcome: 0, durationMs: i === 449 ? 1e-3 : 1 + i / 8, resultCount: i % 3 ? 1 : null, sourceIp: staff(i) ? '192.0.2.7' : null,
    userAgent: staff(i) ? 'agent' : null, networkHash: staff(i) ? null : 'v4:0123456789abcdef', inTransaction: false,
  }));
  await appendBuffered(srv.services.db.pool, tenant, records);
  const rows = (await auditRows(owner, tenant)).map(fromDbRow);
  assert.deepEqual(rows.map((r) => r.seq), records.map((_, i) => i + 1));
  assert.deepEqual(rows.map((r) => r.record.requestId), records.map((r) => r.requestId), 'in the order given');
  let prev = genesisHash(tenant);
  rows.forEach((row, i) => {
    assert.deepEqual(normalize(row.record), records[i], `row ${i}`);
    assert.deepEqual(row.prevHash, prev, `prev_hash of row ${i}`);
    prev = chainHash(prev, row.seq, contentHash(records[i]));
    assert.deepEqual(row.hash, prev, `hash of row ${i}`);
  });
  const head = (await owner.query('SELECT seq, hash FROM audit_chain_head WHERE tenant_id = $1', [tenant])).rows[0];
  assert.equal(Number(head.seq), 450);
  assert.deepEqual(head.hash, rows.at(-1)!.hash, 'the head moved to the last row');
  const r = await verify(tenant);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.lines.at(-1), 'verified 450 rows, chain intact');
});
