/**
 * The audit trail's pure parts: network prefixes and the daily keyed hash, the canonical content and chain hashes
 * (agreeing with the SQL side is covered by the chain tests), path description for refused requests, checkpoint keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { networkPrefix, NetworkHasher } from '../../src/audit/network.ts';
import { chainHash, clean, contentHash, genesisHash, normalize, type AuditRecord } from '../../src/audit/record.ts';
import { describePath } from '../../src/audit/paths.ts';
import { loadCheckpointKey, signCheckpoint, checkCheckpoint } from '../../src/audit/checkpoint-key.ts';

test('network prefixes: /24 for IPv4 (mapped too), /48 for IPv6 in every spelling', () => {
  assert.equal(networkPrefix('203.0.113.77'), '203.0.113.0/24');
  assert.equal(networkPrefix('::ffff:203.0.113.77'), '203.0.113.0/24');
  assert.equal(networkPrefix('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
  assert.equal(networkPrefix('2001:0db8:abcd:0012:0000:0000:0000:0001'), '2001:db8:abcd::/48');
  assert.equal(networkPrefix('2001:db8::1'), '2001:db8:0::/48');
  assert.equal(networkPrefix('::1'), '0:0:0::/48');
  assert.equal(networkPrefix('fe80::1%eth0'), 'fe80:0:0::/48');
  assert.equal(networkPrefix('64:ff9b::192.0.2.33'), '64:ff9b:0::/48');
  assert.equal(networkPrefix('not an ip'), undefined);
  assert.equal(networkPrefix(undefined), undefined);
});

test('the network hash: same prefix same hash within a day, a new unrelated key the next day, never the address', () => {
  let now = new Date('2026-03-01T10:00:00Z');
  const h = new NetworkHasher(() => now);
  const a = h.hash('198.51.100.7')!;
  assert.match(a, /^v4:[0-9a-f]{16}$/);
  assert.equal(h.hash('198.51.100.200'), a, 'same /24');
  assert.notEqual(h.hash('198.51.101.7'), a, 'another /24');
  assert.match(h.hash('2001:db8:1::5')!, /^v6:[0-9a-f]{16}$/);
  now = new Date('2026-03-02T00:00:01Z');
  assert.notEqual(h.hash('198.51.100.7'), a, 'the key rotated at midnight UTC');
  // two instances (two keys) do not agree, so hashes are not a stable pseudonym across processes either
  assert.notEqual(new NetworkHasher(() => now).hash('198.51.100.7'), h.hash('198.51.100.7'));
});

const record = (over: Partial<AuditRecord> = {}): AuditRecord => ({
  tenant: 'acme', recordedAt: '2026-03-01T10:00:00.123Z', requestId: 'r-1', actorKind: 'client', actorId: 'c-1', actorRoles: ['system/*.read'],
  action: 'read', method: 'GET', resourceType: 'Practitioner', resourceIds: ['p1'], searchParams: [], query: null, status: 200, outcome: 0,
  durationMs: 1.23456, resultCount: 1, sourceIp: '127.0.0.1', userAgent: 'ua', networkHash: null, inTransaction: false, ...over,
});

test('content hash: every field counts; normalization matches what the database hands back', () => {
  const base = contentHash(normalize(record()));
  for (const over of [{ status: 404 }, { actorId: 'c-2' }, { query: 'a=b' }, { recordedAt: '2026-03-01T10:00:00.124Z' }, { resourceIds: ['p2'] }, { inTransaction: true }, { tenant: 'other' }] as Partial<AuditRecord>[]) {
    assert.notDeepEqual(contentHash(normalize(record(over))), base, JSON.stringify(over));
  }
  // empty arrays are stored as NULL; durations at microsecond precision
  assert.deepEqual(contentHash(normalize(record({ searchParams: null, durationMs: 1.2345 }))), base);
  const g = genesisHash('acme');
  assert.notDeepEqual(chainHash(g, 1, base), chainHash(g, 2, base), 'the position is part of the hash');
  assert.notDeepEqual(genesisHash('acme'), genesisHash('acme2'));
});

test('clean: no control characters or lone surrogates reach the database; bounded length', () => {
  assert.equal(clean('a\u0000b\nc\u007f'), 'abc');
  assert.equal(clean('x\ud800y'), 'x\ufffdy');
  assert.equal(clean('y'.repeat(600), 512)!.length, 512);
  assert.equal(clean(undefined), null);
});

test('paths of refused requests: action, route template and the resource, from the URL shape alone', () => {
  assert.deepEqual(describePath('GET', '/t/acme/fhir/Practitioner/abc'), { route: 'GET /t/:tenant/fhir/:type/:id', action: 'read', resourceType: 'Practitioner', resourceIds: ['abc'] });
  assert.equal(describePath('POST', '/t/acme/fhir/Practitioner').action, 'create');
  assert.equal(describePath('POST', '/t/acme/fhir').action, 'batch-transaction');
  assert.equal(describePath('GET', '/t/acme/fhir/Practitioner/abc/_history/2').action, 'vread');
  assert.equal(describePath('POST', '/t/acme/fhir/Practitioner/$validate').action, 'operation:validate');
  assert.equal(describePath('POST', '/t/acme/auth/token').action, 'token');
  assert.equal(describePath('GET', '/t/acme/fhir/metadata').route, 'GET /t/:tenant/fhir/metadata');
  // garbage is not copied into the row
  const junk = describePath('GET', '/t/acme/fhir/John%20Smith/<script>');
  assert.equal(junk.resourceType, null);
  assert.equal(junk.resourceIds, null);
});

test('checkpoint key: from the variable, or a generated development key in DATA_DIR (0600); verification never creates one', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-key-'));
  try {
    assert.equal(loadCheckpointKey({ dataDir: dir, auditCheckpointKey: undefined }), undefined);
    const k = loadCheckpointKey({ dataDir: dir, auditCheckpointKey: undefined }, { create: true })!;
    const file = path.join(dir, 'audit-checkpoint.key');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(loadCheckpointKey({ dataDir: dir, auditCheckpointKey: undefined })!.id, k.id);
    const hash = genesisHash('acme');
    const sig = signCheckpoint(k, 'purge', 'acme', 10, hash);
    assert.ok(checkCheckpoint(k, 'purge', 'acme', 10, hash, sig));
    assert.ok(!checkCheckpoint(k, 'anchor', 'acme', 10, hash, sig));
    assert.ok(!checkCheckpoint(k, 'purge', 'acme', 11, hash, sig));
    const env = loadCheckpointKey({ dataDir: dir, auditCheckpointKey: 'ab'.repeat(32) })!;
    assert.notEqual(env.id, k.id);
    assert.throws(() => loadCheckpointKey({ dataDir: dir, auditCheckpointKey: 'short' }), /at least 32 bytes/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
