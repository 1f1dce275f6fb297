/**
 * npm run drill
 * Backup → restore into a fresh database → row counts per table and tenant compared → audit chains verified.
 * With DATABASE_URL it drills that database (restoring into a new database on the same server, dropped afterwards);
 * without, it starts its own PostgreSQL under DATA_DIR/drill with a loaded tenant. The last line is the summary.
 */
import { parse, runCli } from './common.ts';
import { loadConfig } from '../config/config.ts';
import { runDrill } from '../storage/backup/drill.ts';

const USAGE = `Usage:
  npm run drill [-- --practitioners <n>] [--keep]
      Back up, restore into a fresh database, compare row counts per table and tenant, verify every audit chain.
      --practitioners: size of the synthetic directory loaded when DATABASE_URL is not set (default 50).
      --keep: keep the restored database and the drill folder.`;

runCli(async () => {
  const { values } = parse(process.argv.slice(2), { practitioners: { type: 'string' }, keep: { type: 'boolean' } }, USAGE);
  const config = loadConfig();
  const r = await runDrill(config, { practitioners: Number(values.practitioners ?? 50), keep: !!values.keep, log: (l) => console.log(l) });
  console.log(r.summary);
  if (!r.ok) process.exitCode = 1;
});
