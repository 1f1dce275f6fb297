/**
 * npm run backup -- --out <file>
 * An encrypted logical backup of the database (pg_dump custom format, AES-256-GCM under a data key wrapped by the
 * master key). Needs a pg_dump of the server's major version (see src/storage/backup/pg-tools.ts).
 */
import { parse, runCli, UsageError } from './common.ts';
import { loadConfig } from '../config/config.ts';
import { loadKeyring } from '../security/envelope.ts';
import { backupDatabase } from '../storage/backup/backup.ts';
import { redact } from '../storage/backup/drill.ts';

const USAGE = `Usage:
  npm run backup -- --out <file> [--database-url <url>]
      Dump the database (DATABASE_URL, or --database-url) with pg_dump --format=custom, encrypted with the master key
      (MASTER_KEY / MASTER_KEY_FILE / DATA_DIR/master.key). Restore with npm run restore.`;

runCli(async () => {
  const { values, positionals } = parse(process.argv.slice(2), { out: { type: 'string' }, 'database-url': { type: 'string' } }, USAGE);
  if (!values.out || positionals.length) throw new UsageError(USAGE);
  const config = loadConfig();
  const url = values['database-url'] ?? config.databaseUrl;
  if (!url) throw new UsageError(`Set DATABASE_URL or --database-url (the embedded PostgreSQL 18 ships no pg_dump; npm run drill starts its own server).\n\n${USAGE}`);
  const r = await backupDatabase(url, values.out, loadKeyring(config));
  console.log(`backed up ${redact(url)} to ${r.file}: ${r.bytes} bytes encrypted (${r.dumpBytes} bytes pg_dump ${r.serverMajor} custom format) in ${r.seconds.toFixed(1)} s`);
});
