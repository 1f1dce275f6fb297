/**
 * Shared CLI plumbing: argument parsing with clear errors, exit codes (0 ok, 1 failed, 2 usage), and a database
 * connection that reuses the embedded server of a running service with the same DATA_DIR.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config/config.ts';
import { openDatabase, type Database } from '../storage/db.ts';

export class UsageError extends Error {}

export function parse<T extends ParseArgsConfig['options']>(argv: string[], options: T, usage: string) {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if ((r.values as { help?: boolean }).help) { console.log(usage); process.exit(0); }
    return r;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`);
  }
}

export async function withDatabase<T>(fn: (db: Database, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase(config);
  try { return await fn(db, config); } finally { await db.shutdown(); }
}

export function runCli(main: () => Promise<void>): void {
  main().then(() => process.exit(process.exitCode ?? 0), (err: unknown) => {
    if (err instanceof UsageError) { console.error(err.message); process.exit(2); }
    console.error(`Error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
