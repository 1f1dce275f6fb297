/**
 * Fail closed: when the audit store cannot be written, writes are refused with 503 and change nothing; reads are
 * served while the bounded buffer has room and refused with 503 once it is full; when the store comes back, the
 * buffer is written and the refusals are recorded. Errors are logged without user data.
 *
 * The outage is real, not simulated: the service runs as its own role (a member of plannet_app) for which a
 * restrictive row-level-security policy refuses every audit_events insert; dropping the policy ends the outage.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { fhir } from '../helpers/server.ts';
import { startAuditServer, ownerClient, rowsFor, auditRows, practitioner, uniqueId, type AuditTestServer } from './audit-support.ts';

const ROLE = `plannet_audit_outage_${process.pid}`;
const BUFFER = 6;
let srv: AuditTestServer;
let owner: pg.Client;

async function outage(on: boolean): Promise<void> {
  if (on) await owner.query(`CREATE POLICY ${ROLE}_deny ON audit_events AS RESTRICTIVE FOR INSERT TO ${ROLE} WITH CHECK (false)`);
  else await owner.query(`DROP POLICY IF EXISTS ${ROLE}_deny ON audit_events`);
}

before(async () => {
  owner = await ownerClient();
  await owner.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}') THEN CREATE ROLE ${ROLE} NOLOGIN IN ROLE plannet_app; END IF; END $$`);
  await owner.query(`GRANT ${ROLE} TO CURRENT_USER`);
  srv = await startAuditServer({ overrides: { appRole: ROLE, auditBufferMax: BUFFER, auditFlushIntervalMs: 50 } });
});
after(async () => {
  await srv.close();
  await outage(false);
  await owner.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => {});
  await owner.end();
});

test('audit store down: writes 503 and change nothing; reads served until the buffer is full, then 503; recovery writes everything', async () => {
  const name = 'Outagewick';
  const auth = await srv.writeAuth(); // (minting creates the tenant's signing key: a write, which the outage would refuse too)
  await outage(true);
  try {
    const writeId = uniqueId('w');
    const w = await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: practitioner({ family: name, given: 'Wanda', npi: '1234567893' }), headers: { authorization: auth, 'x-request-id': writeId } });
    assert.equal(w.status, 503);
    assert.equal(w.body.resourceType, 'OperationOutcome');
    assert.equal(w.headers.get('retry-after'), '5');
    const { rows: stored } = await owner.query(`SELECT 1 FROM resources WHERE tenant_id = $1 AND content LIKE $2`, [srv.tenant, `%${name}%`]);
    assert.equal(stored.length, 0, 'the change rolled back with its audit row');

    // reads: the failed write's row is buffered; reads fill the buffer, then are refused
    const statuses: number[] = [];
    for (let i = 0; i < BUFFER + 4; i++) statuses.push((await fhir(`${srv.base}/metadata`, { headers: { 'x-request-id': `outage-read-${i}` } })).status);
    assert.ok(statuses.includes(200), statuses.join(','));
    assert.ok(statuses.filter((s) => s === 200).length <= BUFFER - 1, `the failed write's row holds a slot: ${statuses.join(',')}`);
    const refused = statuses.filter((s) => s === 503).length;
    assert.ok(refused >= 4, statuses.join(','));
    assert.deepEqual(statuses.slice(statuses.indexOf(503)), new Array(refused).fill(503), 'once full, everything is refused');
    assert.ok(srv.audit.backlog <= BUFFER);
    assert.equal((await auditRows(owner, srv.tenant, `request_id LIKE 'outage-read-%'`)).length, 0);
  } finally {
    await outage(false);
  }

  // the store is back: the next flush writes the buffer and one row counting the refusals
  await srv.audit.flush();
  assert.equal(srv.audit.backlog, 0);
  const served = await auditRows(owner, srv.tenant, `request_id LIKE 'outage-read-%'`);
  assert.ok(served.length >= 1 && served.every((r) => r.status === 200));
  const [overflow] = await auditRows(owner, srv.tenant, `action = 'audit-overflow'`);
  assert.equal(overflow.status, 503);
  assert.ok(overflow.result_count >= 4);
  const failedWrite = await auditRows(owner, srv.tenant, `action = 'create'`);
  assert.equal(failedWrite.length, 1);
  assert.equal(failedWrite[0].status, 503);
  assert.equal(failedWrite[0].in_transaction, false);

  // and service resumes
  const ok = uniqueId('after');
  assert.equal((await fhir(`${srv.base}/Practitioner`, { method: 'POST', json: practitioner({ family: 'Back', given: 'B', npi: '1234567893' }), headers: { authorization: await srv.writeAuth(), 'x-request-id': ok } })).status, 201);
  assert.equal((await rowsFor(owner, srv.tenant, ok))[0].in_transaction, true);

  // errors were logged, without user data (no names, no messages that could carry values)
  const errors = srv.logs.filter((l) => JSON.parse(l).level >= 50);
  assert.ok(errors.some((l) => /audit/.test(l)), 'the outage was logged');
  for (const l of errors) assert.doesNotMatch(l, new RegExp(`${name}|Wanda|1234567893`));
});
