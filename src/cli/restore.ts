/**
 * npm run restore -- --in <file> --database-url <url>
 * Decrypts a backup made by `npm run backup` and restores it with pg_restore into an empty database.
 */
import { parse, runCli, UsageError } from './common.ts';
import { loadConfig } from '../config/config.ts';
import { loadKeyring } from '../security/envelope.ts';
import { restoreDatabase } from '../storage/backup/backup.ts';
import { redact } from '../storage/backup/drill.ts';

const USAGE = `Usage:
  npm run restore -- --in <file> --database-url <url>
      Restore an encrypted backup into the (empty, freshly created) database at <url>. The master key that wrapped the
      backup must be configured (MASTER_KEY, or listed in MASTER_KEY_PREVIOUS).`;

runCli(async () => {
  const { values, positionals } = parse(process.argv.slice(2), { in: { type: 'string' }, 'database-url': { type: 'string' } }, USAGE);
  if (!values.in || !values['database-url'] || positionals.length) throw new UsageError(USAGE);
  const config = loadConfig();
  const r = await restoreDatabase(values.in, values['database-url'], loadKeyring(config), config.appRole);
  console.log(`restored ${values.in} into ${redact(values['database-url'])} in ${r.seconds.toFixed(1)} s`);
});
