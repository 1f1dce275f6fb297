/**
 * The restore drill: back up, restore into a fresh database, compare row counts per table and tenant, verify every
 * tenant's audit chain on the restored copy, check a stored secret still decrypts there (and is not in the clear in
 * the backup file), and report. Without DATABASE_URL it runs on a PostgreSQL it starts itself (Debian packages,
 * loopback, under DATA_DIR/drill) with a tenant loaded through the normal loader (IG examples + synthetic directory),
 * so audit rows exist; the embedded PostgreSQL 18 is not used because no matching pg_dump is installed with it.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../../config/config.ts';
import { createDb, migrate, type Db } from '../db.ts';
import { loadKeyring, type Keyring } from '../../security/envelope.ts';
import { backupDatabase, restoreDatabase, rowCounts } from './backup.ts';
import { installedServerMajor, withDatabaseName } from './pg-tools.ts';
import { startLocalCluster, type LocalCluster } from './local-cluster.ts';
import { loadCheckpointKey } from '../../audit/checkpoint-key.ts';
import { verifyChain, type Reader } from '../../audit/verify.ts';

export interface DrillOptions { practitioners: number; keep: boolean; log: (line: string) => void }
export interface DrillResult { ok: boolean; summary: string; lines: string[] }

export async function runDrill(config: Config, opts: DrillOptions): Promise<DrillResult> {
  const lines: string[] = [];
  const say = (l: string) => { lines.push(l); opts.log(l); };
  const problems: string[] = [];
  const ring = loadKeyring(config);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const workDir = path.join(config.dataDir, 'drill', stamp);
  fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
  let cluster: LocalCluster | undefined;
  let sourceUrl = config.databaseUrl;
  let secretProbe: { tenant: string; plaintextMarker: string } | undefined;
  const t0 = Date.now();
  try {
    if (!sourceUrl) {
      const major = installedServerMajor();
      if (!major) throw new Error('no DATABASE_URL and no Debian PostgreSQL installed (apt-get install postgresql) for the drill to start');
      cluster = await startLocalCluster(path.join(workDir, 'pg'), major);
      sourceUrl = cluster.url;
      say(`source: a PostgreSQL ${major} started for the drill on 127.0.0.1:${cluster.port} (DATABASE_URL not set)`);
      secretProbe = await loadSourceData(config, sourceUrl, ring, opts.practitioners, say);
    } else {
      say(`source: DATABASE_URL (${redact(sourceUrl)})`);
    }

    const backupFile = path.join(workDir, 'backup.pgdump.enc');
    const b = await backupDatabase(sourceUrl, backupFile, ring);
    say(`backup: ${b.file}: ${fmtBytes(b.bytes)} encrypted (pg_dump ${b.serverMajor} custom format, ${fmtBytes(b.dumpBytes)}) in ${b.seconds.toFixed(1)} s, master key ${ring.current.id}`);
    const head = Buffer.alloc(16);
    const fd = fs.openSync(backupFile, 'r'); fs.readSync(fd, head, 0, 16, 0); fs.closeSync(fd);
    if (head.subarray(0, 5).toString('latin1') === 'PGDMP') problems.push('the backup file is an unencrypted pg_dump archive');
    if (secretProbe && fileContains(backupFile, secretProbe.plaintextMarker)) problems.push('a stored private key appears in clear in the backup file');
    else if (secretProbe) say('backup: encrypted (no pg_dump signature, the stored signing key does not appear in the file)');

    const restoredName = `drill_restore_${stamp.replace('-', '_')}_${process.pid}`;
    const restoredUrl = withDatabaseName(sourceUrl, restoredName);
    await adminQuery(sourceUrl, `CREATE DATABASE "${restoredName}"`);
    try {
      const r = await restoreDatabase(backupFile, restoredUrl, ring, config.appRole);
      say(`restore: into fresh database ${restoredName} in ${r.seconds.toFixed(1)} s`);

      const [before, after] = await Promise.all([rowCounts(sourceUrl), rowCounts(restoredUrl)]);
      const keys = new Set([...before.keys(), ...after.keys()]);
      let tables = 0, rows = 0, diffs = 0;
      const tenants = new Set<string>();
      for (const k of [...keys].sort()) {
        const a = before.get(k), z = after.get(k);
        const m = /\[tenant (.+)\]$/.exec(k);
        if (m) tenants.add(m[1]!); else { tables++; rows += a ?? 0; }
        if (a !== z) { diffs++; problems.push(`${k}: ${a ?? 'absent'} rows in the source, ${z ?? 'absent'} restored`); }
      }
      say(`row counts: ${tables} tables, ${rows} rows, ${keys.size - tables} table×tenant counts compared, ${diffs} differ`);

      const db = createDb({ appUrl: restoredUrl, ownerUrl: restoredUrl, appRole: config.appRole, setRole: true, poolMax: 2, keyring: ring });
      try {
        const verified = await verifyAuditChains(db, config);
        for (const v of verified.lines) say(v);
        problems.push(...verified.problems);
        if (secretProbe) {
          const ok = await secretReadable(db, secretProbe.tenant);
          if (ok) say(`secrets: the restored signing key of tenant ${secretProbe.tenant} decrypts with the master key and signs`);
          else problems.push('the restored signing key does not decrypt');
        }
        say(`audit: ${verified.tenants} tenant chain(s), ${verified.rows} rows verified on the restored copy`);
        const summary = problems.length === 0
          ? `drill OK: backup ${fmtBytes(b.bytes)} (encrypted), restored in ${r.seconds.toFixed(1)} s, ${tables} tables / ${rows} rows equal across ${tenants.size} tenant(s), ${verified.tenants} audit chain(s) intact (${verified.rows} rows), total ${((Date.now() - t0) / 1000).toFixed(1)} s`
          : `drill FAILED: ${problems.length} problem(s): ${problems.slice(0, 3).join('; ')}`;
        for (const p of problems) say(`PROBLEM: ${p}`);
        return { ok: problems.length === 0, summary, lines };
      } finally { await db.close(); }
    } finally {
      if (!opts.keep) await adminQuery(sourceUrl, `DROP DATABASE IF EXISTS "${restoredName}" WITH (FORCE)`).catch(() => {});
      else say(`kept: restored database ${restoredName}`);
    }
  } finally {
    if (cluster) await cluster.stop();
    if (!opts.keep) fs.rmSync(workDir, { recursive: true, force: true });
    else say(`kept: ${workDir}`);
  }
}

async function verifyAuditChains(db: Db, config: Config): Promise<{ tenants: number; rows: number; lines: string[]; problems: string[] }> {
  const key = loadCheckpointKey(config);
  const { rows: tenants } = await db.query<{ tenant_id: string }>('SELECT tenant_id FROM tenants ORDER BY tenant_id');
  const lines: string[] = [];
  const problems: string[] = [];
  let total = 0;
  for (const { tenant_id: t } of tenants) {
    const read: Reader = (sql, params) => db.withTenant(t, async (tx) => (await tx.query(sql, params)).rows, { readOnly: true });
    const r = await verifyChain(read, t, key);
    total += r.verified;
    if (r.ok) lines.push(`audit: tenant ${t}: ${r.verified} rows, chain intact (head ${r.head?.seq ?? 0})`);
    else problems.push(`audit chain of tenant ${t} BROKEN at row ${r.broken!.seq}: ${r.broken!.reason}`);
  }
  return { tenants: tenants.length, rows: total, lines, problems };
}

async function secretReadable(db: Db, tenant: string): Promise<boolean> {
  const { SigningKeys } = await import('../../auth/smart/keys.ts');
  const { sign, verify } = await import('node:crypto');
  const k = await new SigningKeys(db).current(tenant);
  const data = Buffer.from('drill');
  const sig = sign('sha384', data, k.privateKey!);
  return verify('sha384', data, k.publicKey, sig);
}

/** Source data for a drill without DATABASE_URL: a tenant with the IG examples and a small synthetic directory. */
async function loadSourceData(config: Config, url: string, ring: Keyring, practitioners: number, say: (l: string) => void): Promise<{ tenant: string; plaintextMarker: string }> {
  await migrate(url, config.appRole);
  const db = createDb({ appUrl: url, ownerUrl: url, appRole: config.appRole, setRole: true, poolMax: 4, keyring: ring });
  const { createLogger } = await import('../../observability/logger.ts');
  const { AuditService, runAsJob } = await import('../../audit/service.ts');
  const { TenantRegistry } = await import('../../tenancy/tenants.ts');
  const { createValidator } = await import('../../validation/validator.ts');
  const { createSearchEngine } = await import('../../search/index.ts');
  const { listInputFiles, loadFiles, loadResources } = await import('../../ingest/loader.ts');
  const { EXAMPLES_DIR } = await import('../../seeds/demo.ts');
  const { generateDirectory } = await import('../../seeds/synthetic/generator.ts');
  const { SigningKeys } = await import('../../auth/smart/keys.ts');
  const audit = new AuditService({ db, logger: createLogger('silent'), enabled: true, flushIntervalMs: 200, bufferMax: 100_000 });
  db.addBeforeCommit(audit.beforeCommit);
  const tenant = 'drill';
  try {
    await new TenantRegistry(db).create(tenant, 'Restore drill health plan');
    const deps = { db, validator: createValidator(), indexer: createSearchEngine().indexer };
    const ex = await runAsJob({ name: 'drill-load', tenant }, () => loadFiles(deps, listInputFiles([EXAMPLES_DIR]), { tenant }));
    const syn = await runAsJob({ name: 'drill-load', tenant }, () => loadResources(deps, generateDirectory({ practitioners, seed: 1 }), { tenant, source: 'synthetic' }));
    const key = await new SigningKeys(db).current(tenant);
    await audit.flush();
    const d = String((key.privateKey!.export({ format: 'jwk' }) as { d: string }).d);
    say(`source data: tenant ${tenant}: ${summaryCount(ex)} IG example and ${summaryCount(syn)} synthetic resources loaded through the loader; a token-signing key (encrypted at rest)`);
    return { tenant, plaintextMarker: d };
  } finally {
    await audit.close();
    await db.close();
  }
}

function summaryCount(s: { loaded: Record<string, number> }): number {
  return Object.values(s.loaded).reduce((a, b) => a + b, 0);
}

function fileContains(file: string, marker: string): boolean {
  const needle = Buffer.from(marker);
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return false;
      const hay = Buffer.concat([carry, buf.subarray(0, n)]);
      if (hay.includes(needle)) return true;
      carry = hay.subarray(Math.max(0, hay.length - needle.length));
    }
  } finally { fs.closeSync(fd); }
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}

export function redact(url: string): string {
  try { const u = new URL(url); if (u.password) u.password = '***'; return u.toString(); } catch { return '(unparseable url)'; }
}

function fmtBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}
