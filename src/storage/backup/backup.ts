/**
 * Encrypted logical backups: `pg_dump --format=custom` streamed through AES-256-GCM (src/security/stream.ts, the
 * data key wrapped by the master key, like every secret at rest) into a file, and back through pg_restore.
 * Constant memory: the dump is never held whole.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import type { Keyring } from '../../security/envelope.ts';
import { DecryptStream, EncryptStream } from '../../security/stream.ts';
import { findPgTool, libpqEnv, serverMajor } from './pg-tools.ts';

export interface BackupResult { file: string; bytes: number; dumpBytes: number; seconds: number; pgDump: string; serverMajor: number }

function collect(child: ReturnType<typeof spawn>): { stderr: () => string; exit: Promise<number> } {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => { if (err.length < 20_000) err += d.toString(); });
  const exit = new Promise<number>((resolve, reject) => { child.once('error', reject); child.once('close', (code) => resolve(code ?? 1)); });
  return { stderr: () => err.trim(), exit };
}

export async function backupDatabase(url: string, outFile: string, ring: Keyring): Promise<BackupResult> {
  const t0 = Date.now();
  const major = await serverMajor(url);
  const pgDump = findPgTool('pg_dump', major);
  const { env } = libpqEnv(url);
  const out = path.resolve(outFile);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const partial = `${out}.partial`;
  const child = spawn(pgDump, ['--format=custom', '--compress=6', '--no-password'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { stderr, exit } = collect(child);
  const enc = new EncryptStream(ring);
  try {
    await pipeline(child.stdout!, enc, fs.createWriteStream(partial, { mode: 0o600 }));
    const code = await exit;
    if (code !== 0) throw new Error(`pg_dump exited with ${code}: ${stderr()}`);
    fs.renameSync(partial, out);
  } catch (e) {
    fs.rmSync(partial, { force: true });
    child.kill();
    throw e;
  }
  return { file: out, bytes: fs.statSync(out).size, dumpBytes: enc.bytesIn, seconds: (Date.now() - t0) / 1000, pgDump, serverMajor: major };
}

/**
 * Restores an encrypted backup into `url` (an empty database). The application role is created first when the
 * server lacks it (grants and row-level-security policies name it).
 */
export async function restoreDatabase(inFile: string, url: string, ring: Keyring, appRole: string): Promise<{ seconds: number; pgRestore: string }> {
  const t0 = Date.now();
  const major = await serverMajor(url);
  const pgRestore = findPgTool('pg_restore', major);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${appRole}') THEN CREATE ROLE ${appRole} NOLOGIN; END IF; END $$`);
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')`);
    if (rows[0].n > 0) throw new Error('the target database is not empty; restore into a freshly created database');
  } finally { await c.end(); }
  const { env, dbname } = libpqEnv(url);
  const child = spawn(pgRestore, ['--no-password', '--exit-on-error', '--single-transaction', '--no-owner', `--dbname=${dbname}`], { env, stdio: ['pipe', 'ignore', 'pipe'] });
  const { stderr, exit } = collect(child);
  try {
    await pipeline(fs.createReadStream(inFile), new DecryptStream(ring), child.stdin!);
  } catch (e) {
    child.kill();
    await exit.catch(() => {});
    throw new Error(`restore failed: ${(e as Error).message}${stderr() ? `; pg_restore: ${stderr()}` : ''}`);
  }
  const code = await exit;
  if (code !== 0) throw new Error(`pg_restore exited with ${code}: ${stderr()}`);
  return { seconds: (Date.now() - t0) / 1000, pgRestore };
}

/** Rows per table (and per tenant, where the table has tenant_id), read as the owner (row-level security bypassed). */
export async function rowCounts(url: string): Promise<Map<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows: tables } = await c.query(`
      SELECT n.nspname AS schema, c.relname AS name,
             EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS tenanted
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
       ORDER BY 1, 2`);
    const out = new Map<string, number>();
    for (const t of tables) {
      const q = `"${t.schema}"."${t.name}"`;
      if (t.tenanted) {
        const { rows } = await c.query(`SELECT tenant_id::text AS t, count(*)::bigint AS n FROM ${q} GROUP BY 1 ORDER BY 1`);
        out.set(`${t.schema}.${t.name}`, rows.reduce((s, r) => s + Number(r.n), 0));
        for (const r of rows) out.set(`${t.schema}.${t.name} [tenant ${r.t}]`, Number(r.n));
      } else {
        const { rows } = await c.query(`SELECT count(*)::bigint AS n FROM ${q}`);
        out.set(`${t.schema}.${t.name}`, Number(rows[0].n));
      }
    }
    return out;
  } finally { await c.end(); }
}
