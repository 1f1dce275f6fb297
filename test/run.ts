/**
 * `npm test`: runs every test file with node's test runner against a real PostgreSQL.
 *
 * With DATABASE_URL set, tests use that server; otherwise an embedded PostgreSQL is started under a temporary
 * DATA_DIR. Either way each run gets a fresh database, migrated once here; each test file then creates its own
 * tenant, so files run in parallel without stepping on each other.
 *   npm test                      all tests
 *   npm test -- test/api/x.test.ts   just these files
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../src/config/config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/storage/embedded.ts';
import { migrate } from '../src/storage/db.ts';

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : findTests(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  }).sort();
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const files = args.length ? args.map((a) => path.resolve(a)) : [...findTests(path.join(PROJECT_ROOT, 'test')), ...findTests(path.join(PROJECT_ROOT, 'src'))];
  let embedded: EmbeddedServer | undefined;
  let tmp: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-test-'));
    fs.chmodSync(tmp, 0o755);
    embedded = await startEmbeddedPostgres(tmp);
    adminUrl = embedded.url;
    console.log(`# embedded PostgreSQL on port ${embedded.port}`);
  }
  const dbName = `plannet_test_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const { rows } = await admin.query('SHOW server_version');
  console.log(`# PostgreSQL ${rows[0].server_version}, database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const testUrl = url.toString();
  await migrate(testUrl, 'plannet_app');

  const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(2, os.availableParallelism()));
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
      stdio: 'inherit',
      // One master key for the run: instances and CLIs of a test share the database, so they share its key (as in production).
      env: { ...process.env, TEST_DATABASE_URL: testUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', MASTER_KEY: process.env.MASTER_KEY || crypto.getRandomValues(Buffer.alloc(32)).toString('base64') },
    });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  try {
    await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
  } catch { /* left behind for inspection */ }
  await admin.end();
  if (embedded) await embedded.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  return code;
}

main().then((c) => process.exit(c), (err) => { console.error(err); process.exit(1); });
