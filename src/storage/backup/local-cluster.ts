/**
 * A throwaway PostgreSQL cluster from the Debian packages (initdb, pg_ctl) on a free loopback port, with its data
 * under a folder we choose: the restore drill's server when no DATABASE_URL is given, and the primary/replica pair of
 * the replica-routing test. PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` OS user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../embedded.ts';
import { findPgTool } from './pg-tools.ts';

export interface LocalCluster { url: string; port: number; dir: string; major: number; password: string; stop(): Promise<void> }

function asPostgres(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const out = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
  const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
  return { uid: Number(out), gid: Number(gid) };
}

function run(bin: string, args: string[], owner: { uid: number; gid: number } | undefined, what: string): void {
  const r = spawnSync(bin, args, { encoding: 'utf8', uid: owner?.uid, gid: owner?.gid, env: { ...process.env, LC_ALL: 'C' }, timeout: 120_000, cwd: '/' });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' ')}`);
}

function prepareDir(dir: string, owner: { uid: number; gid: number } | undefined): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner) {
    fs.chownSync(dir, owner.uid, owner.gid);
    // the postgres user must traverse every parent
    for (let p = path.dirname(dir); p !== path.dirname(p); p = path.dirname(p)) {
      try { const m = fs.statSync(p).mode; if ((m & 0o001) === 0) fs.chmodSync(p, m | 0o711); } catch { break; }
    }
  }
}

function startArgs(data: string, port: number, extra: string[]): string[] {
  const opts = [`-p ${port}`, `-c listen_addresses=127.0.0.1`, `-c unix_socket_directories=${path.dirname(data)}`, '-c max_connections=100', '-c fsync=off', ...extra];
  return ['-D', data, '-l', path.join(path.dirname(data), 'server.log'), '-w', '-t', '60', '-o', opts.join(' '), 'start'];
}

/** initdb + start. `major` defaults to the newest Debian PostgreSQL installed. */
export async function startLocalCluster(dir: string, major: number, opts: { extraConf?: string[] } = {}): Promise<LocalCluster> {
  const owner = asPostgres();
  const root = path.resolve(dir);
  prepareDir(root, owner);
  const data = path.join(root, 'data');
  const password = randomBytes(16).toString('hex');
  const pwFile = path.join(root, 'pw');
  fs.writeFileSync(pwFile, password, { mode: 0o600 });
  if (owner) fs.chownSync(pwFile, owner.uid, owner.gid);
  run(findPgTool('initdb', major), ['-D', data, '-U', 'postgres', '--auth-local=scram-sha-256', '--auth-host=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--no-locale'], owner, 'initdb');
  fs.rmSync(pwFile, { force: true });
  // replication connections from loopback (for a streaming replica)
  fs.appendFileSync(path.join(data, 'pg_hba.conf'), '\nhost replication postgres 127.0.0.1/32 scram-sha-256\n');
  const port = await freePort();
  run(findPgTool('pg_ctl', major), startArgs(data, port, opts.extraConf ?? []), owner, 'pg_ctl start');
  return clusterHandle(root, data, port, major, password, owner);
}

function clusterHandle(root: string, data: string, port: number, major: number, password: string, owner: { uid: number; gid: number } | undefined): LocalCluster {
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port, dir: root, major, password,
    stop: async () => { try { run(findPgTool('pg_ctl', major), ['-D', data, '-m', 'fast', '-w', 'stop'], owner, 'pg_ctl stop'); } catch { /* already stopped */ } },
  };
}

/** A streaming replica of `primary` (pg_basebackup -R), started on its own port under `dir`. */
export async function startReplica(primary: LocalCluster, dir: string): Promise<LocalCluster> {
  const owner = asPostgres();
  const root = path.resolve(dir);
  prepareDir(root, owner);
  const data = path.join(root, 'data');
  const passFile = path.join(root, 'pgpass');
  fs.writeFileSync(passFile, `127.0.0.1:${primary.port}:*:postgres:${primary.password}\n`, { mode: 0o600 });
  if (owner) fs.chownSync(passFile, owner.uid, owner.gid);
  const r = spawnSync(findPgTool('pg_basebackup', primary.major), ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '--checkpoint=fast'],
    { encoding: 'utf8', uid: owner?.uid, gid: owner?.gid, env: { ...process.env, PGPASSFILE: passFile }, timeout: 120_000, cwd: '/' });
  if (r.status !== 0) throw new Error(`pg_basebackup failed: ${(r.stderr || String(r.error)).trim()}`);
  // -R wrote primary_conninfo with the password from the pgpass file? It writes passfile-less conninfo; add the password.
  fs.appendFileSync(path.join(data, 'postgresql.auto.conf'), `\nprimary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres password=${primary.password}'\n`);
  const port = await freePort();
  run(findPgTool('pg_ctl', primary.major), startArgs(data, port, ['-c hot_standby=on']), owner, 'pg_ctl start (replica)');
  return clusterHandle(root, data, port, primary.major, primary.password, owner);
}

export function tmpClusterDir(prefix: string): string { return fs.mkdtempSync(path.join(os.tmpdir(), prefix)); }
