/**
 * Encryption at rest: streaming AES-256-GCM files (round trip at chunk edges, tampering and truncation detected,
 * plaintext sizes without decryption), export storage encrypted on disk and decrypted when opened, legacy plaintext
 * secrets encrypted on first read, and `npm run keys -- rotate` re-wrapping secrets and files so everything keeps
 * working with the new key alone.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDebianPackage } from '../helpers/system-packages.ts';
import { startLocalCluster } from '../../src/storage/backup/local-cluster.ts';
import { installedServerMajor } from '../../src/storage/backup/pg-tools.ts';
import { createDb, migrate } from '../../src/storage/db.ts';
import { Keyring, parseMasterKey, loadKeyring, clearKeyringCache } from '../../src/security/envelope.ts';
import { CHUNK, ChunkSealer, FILE_CHUNK, decryptFile } from '../../src/security/stream.ts';
import { EncryptedFileStorage } from '../../src/security/file-storage.ts';
import { LocalFileStorage } from '../../src/jobs/storage/local.ts';
import { SigningKeys } from '../../src/auth/smart/keys.ts';
import { SpKeys } from '../../src/auth/saml/sp-keys.ts';
import { TenantRegistry } from '../../src/tenancy/tenants.ts';
import { loadConfig } from '../../src/config/config.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}); });
function tmp(prefix: string): string { const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix)); cleanups.push(async () => fs.rmSync(d, { recursive: true, force: true })); return d; }
const ring = () => new Keyring(parseMasterKey(randomBytes(32).toString('base64'), 'test'));

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> { const parts: Buffer[] = []; for await (const c of s) parts.push(c as Buffer); return Buffer.concat(parts); }

test('encrypted export storage: round trip at chunk edges, plaintext size, ciphertext on disk, tampering and truncation refused', async () => {
  const dir = tmp('encfs-');
  const r = ring();
  const store = new EncryptedFileStorage(new LocalFileStorage(dir), r);
  for (const size of [0, 1, FILE_CHUNK - 1, FILE_CHUNK, FILE_CHUNK + 1, 3 * FILE_CHUNK + 5]) {
    const marker = Buffer.from('{"resourceType":"Practitioner","id":"secret-marker"}\n');
    const data = Buffer.alloc(size); for (let i = 0; i < size; i++) data[i] = marker[i % marker.length]!;
    const key = `tenants/t/jobs/j/1/f${size}.ndjson`;
    const w = await store.createWriter(key);
    for (let off = 0; off < size;) { const n = Math.min(size - off, 77_777); await w.write(data.subarray(off, off + n)); off += n; }
    assert.equal(await w.close(), size);
    const raw = fs.readFileSync(path.join(dir, key));
    if (size > marker.length) assert.ok(!raw.includes(Buffer.from('secret-marker')), 'plaintext on disk');
    const f = (await store.open(key))!;
    assert.equal(f.size, size);
    assert.ok((await readAll(f.stream)).equals(data), `round trip of ${size} bytes`);
  }
  // a file sealed in 64 KiB chunks (as files were before FILE_CHUNK) reads the same: the header says its chunk size
  const legacy = Buffer.alloc(3 * CHUNK + 5, 'a');
  const sealer = new ChunkSealer(r, CHUNK);
  fs.writeFileSync(path.join(dir, 'tenants/t/jobs/j/1/legacy.ndjson'), Buffer.concat([Buffer.from(sealer.update(legacy)), sealer.final()]));
  const lf = (await store.open('tenants/t/jobs/j/1/legacy.ndjson'))!;
  assert.equal(lf.size, legacy.length);
  assert.ok((await readAll(lf.stream)).equals(legacy));
  const key = `tenants/t/jobs/j/1/f${3 * FILE_CHUNK + 5}.ndjson`;
  const file = path.join(dir, key);
  const good = fs.readFileSync(file);
  // cut inside the last chunk, the whole last chunk (the one before is not sealed as final), a flipped bit in the
  // first chunk, the last chunk, and a chunk dropped from the middle
  const sealedChunk = FILE_CHUNK + 16;
  const headerLen = good.length - 3 * sealedChunk - (5 + 16);
  const flip = (at: number) => Buffer.concat([good.subarray(0, at), Buffer.from([good[at]! ^ 1]), good.subarray(at + 1)]);
  for (const bad of [good.subarray(0, good.length - 10), good.subarray(0, good.length - (5 + 16)), flip(200), flip(good.length - 3),
    Buffer.concat([good.subarray(0, headerLen + sealedChunk), good.subarray(headerLen + 2 * sealedChunk)])]) {
    fs.writeFileSync(file, bad);
    await assert.rejects(async () => readAll((await store.open(key))!.stream));
  }
  fs.writeFileSync(file, good);
  await assert.rejects(decryptFile(file, ring()), /master key .* is not configured/);
});

test('master key configuration: production refuses to start without one; MASTER_KEY must be 32 bytes; dev key is 0600', async () => {
  const dir = tmp('mk-');
  assert.throws(() => loadKeyring(loadConfig({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://dir.example.org', DATA_DIR: dir })), /set MASTER_KEY or MASTER_KEY_FILE in production/);
  const { openDatabase } = await import('../../src/storage/db.ts');
  await assert.rejects(openDatabase(loadConfig({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://dir.example.org', DATA_DIR: dir, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })), /MASTER_KEY/);
  assert.throws(() => loadKeyring(loadConfig({ MASTER_KEY: randomBytes(16).toString('base64'), DATA_DIR: dir })), /32 bytes/);
  const file = path.join(dir, 'kek'); fs.writeFileSync(file, randomBytes(32).toString('base64'));
  assert.equal(loadKeyring(loadConfig({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://dir.example.org', MASTER_KEY_FILE: file, DATA_DIR: dir })).devKeyFile, undefined);
  const dev = loadKeyring(loadConfig({ DATA_DIR: dir }));
  assert.equal(fs.statSync(dev.devKeyFile!).mode & 0o777, 0o600);
  assert.equal(loadKeyring(loadConfig({ DATA_DIR: dir })).current.id, dev.current.id, 'generated once');
});

test('legacy plaintext secrets are encrypted on first read; keys rotate re-wraps secrets and files; the new key alone then works', async () => {
  ensureDebianPackage('/usr/lib/postgresql/15/bin/initdb', 'postgresql');
  const dir = tmp('rot-'); fs.chmodSync(dir, 0o777);
  const cluster = await startLocalCluster(path.join(dir, 'pg'), installedServerMajor()!);
  cleanups.push(() => cluster.stop());
  await migrate(cluster.url, 'plannet_app');
  const dataDir = path.join(dir, 'data');
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: cluster.url });
  const old = loadKeyring(config); // development key generated into DATA_DIR/master.key
  assert.equal(fs.statSync(path.join(dataDir, 'master.key')).mode & 0o777, 0o600);
  let db = createDb({ appUrl: cluster.url, ownerUrl: cluster.url, appRole: 'plannet_app', setRole: true, poolMax: 2, keyring: old });
  await new TenantRegistry(db).create('rot');
  // a signing key stored in clear, as before this change
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  cleanups.push(() => admin.end());
  await admin.query(`INSERT INTO signing_keys (tenant_id, kid, alg, public_jwk, private_jwk) VALUES ('rot', 'legacy', 'ES384', $1, $2)`,
    [JSON.stringify(publicKey.export({ format: 'jwk' })), JSON.stringify(privateKey.export({ format: 'jwk' }))]);
  const k = await new SigningKeys(db).current('rot');
  assert.equal(k.kid, 'legacy');
  const stored = async () => (await admin.query(`SELECT private_jwk FROM signing_keys WHERE kid = 'legacy'`)).rows[0].private_jwk as string;
  assert.equal(Keyring.keyIdOf(await stored()), old.current.id, 'encrypted on first read');
  const sp = await new SpKeys(db).get('rot');
  const { rows: spRows } = await admin.query(`SELECT private_key FROM saml_sp_keys`);
  assert.equal(spRows.length, 2);
  for (const r of spRows) { assert.match(r.private_key, /^enc:v1:/); assert.ok(!r.private_key.includes('PRIVATE KEY')); }
  await db.close();
  // an export file under the old key
  const store = new EncryptedFileStorage(new LocalFileStorage(path.join(dataDir, 'exports')), old);
  const w = await store.createWriter('tenants/rot/jobs/j/1/Practitioner.ndjson');
  await w.write(Buffer.from('{"resourceType":"Practitioner"}\n')); await w.close();

  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: cluster.url };
  delete env.MASTER_KEY; delete env.MASTER_KEY_FILE; delete env.MASTER_KEY_PREVIOUS;
  const run = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'src', 'cli', 'keys.ts'), ...args], { env, encoding: 'utf8', timeout: 120_000 });
  const rot = run(['rotate', '--generate']);
  assert.equal(rot.status, 0, rot.stdout + rot.stderr);
  assert.match(rot.stdout, /signing_keys: 1 secret\(s\) re-wrapped/);
  assert.match(rot.stdout, /saml_sp_keys: 2 secret\(s\) re-wrapped/);
  assert.match(rot.stdout, /export files: 1 of 1 re-wrapped/);
  // the old key is no longer needed anywhere
  fs.rmSync(path.join(dataDir, 'master.key.previous'));
  clearKeyringCache();
  const fresh = loadKeyring(config);
  assert.notEqual(fresh.current.id, old.current.id);
  const st = run(['status']);
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, new RegExp(`signing_keys: ${fresh.current.id}: 1`));
  assert.match(st.stdout, new RegExp(`saml_sp_keys: ${fresh.current.id}: 2`));
  assert.doesNotMatch(st.stdout, /PLAINTEXT/);
  db = createDb({ appUrl: cluster.url, ownerUrl: cluster.url, appRole: 'plannet_app', setRole: true, poolMax: 2, keyring: fresh });
  try {
    const k2 = await new SigningKeys(db).current('rot');
    assert.deepEqual(k2.privateKey!.export({ format: 'jwk' }), k.privateKey!.export({ format: 'jwk' }));
    assert.equal((await new SpKeys(db).get('rot')).signing.privateKeyPem, sp.signing.privateKeyPem);
  } finally { await db.close(); }
  const f = (await new EncryptedFileStorage(new LocalFileStorage(path.join(dataDir, 'exports')), fresh).open('tenants/rot/jobs/j/1/Practitioner.ndjson'))!;
  assert.equal((await readAll(f.stream)).toString(), '{"resourceType":"Practitioner"}\n');
  await assert.rejects(decryptFile(path.join(dataDir, 'exports', 'tenants/rot/jobs/j/1/Practitioner.ndjson'), old));
});
