/**
 * npm run keys -- status | rotate [--generate] [encrypted files…]
 * Master-key housekeeping for encryption at rest (src/security). `rotate` re-wraps every stored secret, every export
 * file on local storage and any backup files named, under the current master key; previous keys must still be
 * configured (MASTER_KEY_PREVIOUS) so the old data keys can be unwrapped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parse, runCli, UsageError } from './common.ts';
import { loadConfig } from '../config/config.ts';
import { openDatabase } from '../storage/db.ts';
import { clearKeyringCache, DEV_KEY_FILE, DEV_PREVIOUS_FILE, loadKeyring } from '../security/envelope.ts';
import { rewrapFolder, rewrapSecrets, secretStatus } from '../security/rotate.ts';
import { rewrapFile } from '../security/stream.ts';

const USAGE = `Usage:
  npm run keys -- status
      Which master key wraps each stored secret (and how many are still in clear).
  npm run keys -- rotate [--generate] [backup files…]
      Re-wrap every stored secret, every export file on local storage and the backup files named under the current
      master key. Production: deploy MASTER_KEY=<new> with MASTER_KEY_PREVIOUS=<old>, run this, then drop
      MASTER_KEY_PREVIOUS. Development (key in DATA_DIR/master.key): --generate makes a new key first and keeps the
      old one in DATA_DIR/master.key.previous.`;

runCli(async () => {
  const { values, positionals } = parse(process.argv.slice(2), { generate: { type: 'boolean' } }, USAGE);
  const [cmd, ...files] = positionals;
  const config = loadConfig();
  if (cmd === 'status') {
    const ring = loadKeyring(config);
    const database = await openDatabase(config, { owner: true });
    try {
      console.log(`current master key ${ring.current.id}`);
      const client = new pg.Client({ connectionString: database.db.ownerUrl });
      await client.connect();
      try { for (const [k, n] of await secretStatus((s, p) => client.query(s, p as unknown[]))) console.log(`${k}: ${n}`); } finally { await client.end(); }
    } finally { await database.shutdown(); }
    return;
  }
  if (cmd !== 'rotate') throw new UsageError(USAGE);
  let ring = loadKeyring(config);
  if (values.generate) {
    if (!ring.devKeyFile) throw new UsageError('--generate only rotates the development key in DATA_DIR; in production set MASTER_KEY (new) and MASTER_KEY_PREVIOUS (old)');
    const old = fs.readFileSync(ring.devKeyFile, 'utf8').trim();
    fs.appendFileSync(path.join(config.dataDir, DEV_PREVIOUS_FILE), `${old}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(config.dataDir, DEV_KEY_FILE), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    clearKeyringCache();
    ring = loadKeyring(config);
    console.log(`generated a new development master key ${ring.current.id}; the previous one is kept in ${DEV_PREVIOUS_FILE}`);
  }
  const database = await openDatabase(config, { owner: true });
  try {
    // as the owner (DATABASE_URL), never the app role: row-level security would hide other tenants' rows
    const client = new pg.Client({ connectionString: database.db.ownerUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      const changed = await rewrapSecrets((s, p) => client.query(s, p as unknown[]), ring);
      await client.query('COMMIT');
      for (const [t, n] of Object.entries(changed)) console.log(`${t}: ${n} secret(s) re-wrapped under ${ring.current.id}`);
    } catch (e) { await client.query('ROLLBACK').catch(() => {}); throw e; } finally { await client.end(); }
  } finally { await database.shutdown(); }
  if (config.export.storage === 'local') {
    const dir = config.export.dir ?? path.join(config.dataDir, 'exports');
    const r = await rewrapFolder(dir, ring);
    console.log(`export files: ${r.changed} of ${r.files} re-wrapped`);
  }
  for (const f of files) console.log(`${f}: ${(await rewrapFile(f, ring)) ? 're-wrapped' : 'already under the current key'}`);
  console.log(`rotation complete: everything is wrapped by master key ${ring.current.id}`);
});
