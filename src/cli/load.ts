/**
 * npm run load -- --tenant <id> <paths...>
 * Loads FHIR JSON files, NDJSON files and Bundles (or folders of them) into a tenant, validating and indexing each
 * resource like the API does, with a progress bar and a summary of what was loaded and rejected.
 */
import cliProgress from 'cli-progress';
import { parse, runCli, withDatabase, UsageError } from './common.ts';
import { TenantRegistry } from '../tenancy/tenants.ts';
import { createValidator } from '../validation/validator.ts';
import { createSearchEngine } from '../search/index.ts';
import { formatSummary, listInputFiles, loadFiles } from '../ingest/loader.ts';

const USAGE = `Usage: npm run load -- --tenant <id> [--batch-size N] <file-or-folder>...
  Loads FHIR resources into a tenant: .json files (one resource or a Bundle), .ndjson/.jsonl files, or folders of them.
  Resources keep their ids; invalid ones are rejected with the reason, and the rest still load.
  Exit code: 0 if everything loaded, 1 if anything was rejected, 2 for usage errors.`;

runCli(async () => {
  const { values, positionals } = parse(process.argv.slice(2), { tenant: { type: 'string', short: 't' }, 'batch-size': { type: 'string' } }, USAGE);
  if (!values.tenant) throw new UsageError(`--tenant is required\n\n${USAGE}`);
  if (positionals.length === 0) throw new UsageError(`Give at least one file or folder to load\n\n${USAGE}`);
  const batchSize = values['batch-size'] ? Number(values['batch-size']) : 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError('--batch-size must be a positive integer');
  const files = listInputFiles(positionals);
  await withDatabase(async ({ db }) => {
    const tenant = await new TenantRegistry(db).get(values.tenant!);
    if (!tenant) throw new Error(`Tenant "${values.tenant}" does not exist. Create it with: npm run tenant -- create ${values.tenant}`);
    const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'loading {bar} {value} resources | {loaded} loaded, {rejected} rejected | {source}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(0, 0, { loaded: 0, rejected: 0, source: '' });
    let lastLine = Date.now();
    const summary = await loadFiles({ db, validator: createValidator(), indexer: createSearchEngine().indexer }, files, {
      tenant: tenant.id, batchSize, warningsAsErrors: tenant.settings.strictValidation === true,
      onProgress: (p) => {
        if (bar) { bar.setTotal(Math.max(p.processed, bar.getTotal())); bar.update(p.processed, { loaded: p.loaded, rejected: p.rejected, source: p.source.slice(-40) }); }
        else if (Date.now() - lastLine > 2000) { lastLine = Date.now(); process.stderr.write(`loading: ${p.processed} read, ${p.loaded} loaded, ${p.rejected} rejected\n`); }
      },
    });
    bar?.stop();
    console.log(formatSummary(summary));
    if (summary.rejected.length > 0) process.exitCode = 1;
  });
});
