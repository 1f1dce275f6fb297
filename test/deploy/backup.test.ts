/**
 * Backups and the restore drill: `npm run drill` in a fresh DATA_DIR (no DATABASE_URL) starts its own PostgreSQL,
 * loads a tenant, backs up, restores, compares and verifies the audit chains; backup/restore CLIs against a
 * Debian PostgreSQL started by the test (the embedded PostgreSQL 18 of the test run has no matching pg_dump);
 * a backup is unreadable without its master key.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDebianPackage } from '../helpers/system-packages.ts';
import { startLocalCluster, type LocalCluster } from '../../src/storage/backup/local-cluster.ts';
import { installedServerMajor, withDatabaseName } from '../../src/storage/backup/pg-tools.ts';
import { rowCounts } from '../../src/storage/backup/backup.ts';
import { createDb, migrate } from '../../src/storage/db.ts';
import { Keyring, parseMasterKey } from '../../src/security/envelope.ts';
import { SigningKeys } from '../../src/auth/smart/keys.ts';
import { TenantRegistry } from '../../src/tenancy/tenants.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const NODE = process.execPath;

function tmp(prefix: string): string { const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix)); fs.chmodSync(d, 0o777); return d; }

function cli(script: string, args: string[], env: NodeJS.ProcessEnv): { status: number; out: string } {
  const e = { ...process.env, ...env };
  for (const k of ['DATABASE_URL', 'DATABASE_READ_URL', 'MASTER_KEY', 'MASTER_KEY_FILE', 'MASTER_KEY_PREVIOUS']) if (!(k in env)) delete e[k];
  const r = spawnSync(NODE, [path.join(ROOT, 'src', 'cli', script), ...args], { env: e, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

function ensurePostgres(): number {
  ensureDebianPackage('/usr/lib/postgresql/15/bin/initdb', 'postgresql');
  return installedServerMajor()!;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}); });

test('npm run drill with only DATA_DIR set: backs up, restores, everything equal, audit chains intact', () => {
  ensurePostgres();
  const dataDir = tmp('drill-');
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const r = cli('drill.ts', ['--practitioners', '20'], { DATA_DIR: dataDir });
  const last = r.out.trim().split('\n').at(-1)!;
  assert.equal(r.status, 0, r.out);
  assert.match(last, /^drill OK: .* tables \/ \d+ rows equal across 1 tenant\(s\), 1 audit chain\(s\) intact \((\d+) rows\)/);
  assert.match(r.out, /audit: tenant drill: [1-9]\d* rows, chain intact/);
  assert.match(r.out, /0 differ/);
  assert.match(r.out, /backup: encrypted \(no pg_dump signature, the stored signing key does not appear in the file\)/);
  assert.match(r.out, /restored signing key of tenant drill decrypts/);
  // the drill cleans up after itself: no cluster left running, no folder left behind
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'drill')), []);
});

test('backup and restore CLIs: encrypted file, unreadable without the key, secrets encrypted in the table and the dump', async () => {
  const major = ensurePostgres();
  const dir = tmp('bk-');
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const cluster: LocalCluster = await startLocalCluster(path.join(dir, 'pg'), major);
  cleanups.push(() => cluster.stop());
  const masterKey = randomBytes(32).toString('base64');
  const ring = new Keyring(parseMasterKey(masterKey, 'test'));
  await migrate(cluster.url, 'plannet_app');
  const db = createDb({ appUrl: cluster.url, ownerUrl: cluster.url, appRole: 'plannet_app', setRole: true, poolMax: 2, keyring: ring });
  let d: string;
  try {
    await new TenantRegistry(db).create('bk', 'Backup test');
    const key = await new SigningKeys(db).current('bk');
    d = (key.privateKey!.export({ format: 'jwk' }) as { d: string }).d;
  } finally { await db.close(); }

  // raw table: the private key is not there in clear
  const c = new pg.Client({ connectionString: cluster.url });
  await c.connect();
  const { rows } = await c.query(`SELECT private_jwk FROM signing_keys`);
  await c.end();
  assert.equal(rows.length, 1);
  assert.ok(!String(rows[0].private_jwk).includes(d), 'private key stored in clear');
  assert.match(String(rows[0].private_jwk), /^enc:v1:/);
  const plainDump = spawnSync(`/usr/lib/postgresql/${major}/bin/pg_dump`, ['--format=plain', '-d', cluster.url], { encoding: 'utf8' });
  assert.equal(plainDump.status, 0, plainDump.stderr);
  assert.ok(plainDump.stdout.includes('signing_keys') && !plainDump.stdout.includes(d), 'private key in clear in a raw dump');

  const file = path.join(dir, 'backup.enc');
  const b = cli('backup.ts', ['--out', file], { DATABASE_URL: cluster.url, MASTER_KEY: masterKey, DATA_DIR: dir });
  assert.equal(b.status, 0, b.out);
  const bytes = fs.readFileSync(file);
  assert.notEqual(bytes.subarray(0, 5).toString('latin1'), 'PGDMP');
  assert.ok(!bytes.includes(Buffer.from(d)));
  assert.ok(!bytes.includes(Buffer.from('CREATE TABLE')), 'schema text in clear in the backup');

  const before = await rowCounts(cluster.url);
  for (const [name, key] of [['wrongkey', randomBytes(32).toString('base64')], ['restored', masterKey]] as const) {
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect(); await admin.query(`CREATE DATABASE ${name}`); await admin.end();
    const r = cli('restore.ts', ['--in', file, '--database-url', withDatabaseName(cluster.url, name)], { MASTER_KEY: key, DATA_DIR: dir });
    if (name === 'wrongkey') { assert.notEqual(r.status, 0); assert.match(r.out, /master key .* is not configured/); continue; }
    assert.equal(r.status, 0, r.out);
  }
  assert.deepEqual(await rowCounts(withDatabaseName(cluster.url, 'restored')), before);
  // the restored secret decrypts under the same master key
  const rdb = createDb({ appUrl: withDatabaseName(cluster.url, 'restored'), ownerUrl: cluster.url, appRole: 'plannet_app', setRole: true, poolMax: 2, keyring: ring });
  try {
    const k = await new SigningKeys(rdb).current('bk');
    assert.equal((k.privateKey!.export({ format: 'jwk' }) as { d: string }).d, d);
  } finally { await rdb.close(); }
});
