/**
 * npm run seed -- [--tenant <id>] [--examples] [--practitioners N] [--seed S] [--id-prefix P] [--out file.ndjson|-]
 *
 * Generates a deterministic synthetic Plan-Net directory (src/seeds/synthetic/) and, with --examples, the 49 IG
 * example resources (seeds/plan-net-examples/). With --out the resources are streamed as NDJSON to a file or to
 * stdout ('-'), with a progress bar on stderr when stderr is a terminal and a summary of counts per type at the end.
 * With --tenant (and no --out) the resources are loaded straight into the tenant.
 *
 * Exit codes: 0 ok, 1 failure (e.g. cannot write the output), 2 usage error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Resource } from '@medplum/fhirtypes';
import { estimateResourceCount, generateDirectory, MAX_PRACTITIONERS } from '../seeds/synthetic/generator.ts';
import type { SyntheticOptions } from '../seeds/synthetic/generator.ts';

const USAGE = `Usage: npm run seed -- [--tenant <id>] [--examples] [--practitioners N] [--seed S] [--id-prefix P] [--out <file.ndjson>|-]

Generates a deterministic synthetic Plan-Net provider directory (same options → byte-identical output).
  --practitioners N   number of practitioners; organisations, locations, roles… are sized from it
                      (about 3.1 resources per practitioner: 1000 → ~3,100 resources)
  --seed S            integer seed (default 1)
  --id-prefix P       prefix of every resource id (default "syn")
  --examples          also emit the 49 Plan-Net IG example resources (seeds/plan-net-examples/)
  --out <file>|-      write NDJSON (one resource per line) to a file, or to stdout with "-"
  --tenant <id>       load into this tenant (validated and indexed like npm run load), instead of --out
  -h, --help          show this help
Exit codes: 0 ok, 1 failure, 2 usage error.`;

const EXAMPLES_DIR = fileURLToPath(new URL('../../seeds/plan-net-examples/', import.meta.url));

class UsageError extends Error {}

export interface SeedArgs {
  tenant?: string;
  examples: boolean;
  practitioners?: number;
  seed: number;
  idPrefix: string;
  out?: string;
}

function parseInteger(name: string, raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${raw}`);
  return n;
}

export function parseSeedArgs(argv: string[]): SeedArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        tenant: { type: 'string', short: 't' },
        examples: { type: 'boolean' },
        practitioners: { type: 'string', short: 'n' },
        seed: { type: 'string' },
        'id-prefix': { type: 'string' },
        out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"`);
  const args: SeedArgs = {
    examples: values.examples === true,
    seed: values.seed === undefined ? 1 : parseInteger('seed', values.seed as string, -2147483648, 4294967295),
    idPrefix: (values['id-prefix'] as string | undefined) ?? 'syn',
  };
  if (values.tenant !== undefined) {
    const t = values.tenant as string;
    // Same pattern as TENANT_ID_PATTERN in src/storage/db.ts (not imported: --out mode needs no database code).
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(t)) throw new UsageError(`--tenant "${t}" is not a valid tenant id (lowercase letters, digits and '-')`);
    args.tenant = t;
  }
  if (values.practitioners !== undefined) args.practitioners = parseInteger('practitioners', values.practitioners as string, 0, MAX_PRACTITIONERS);
  if (!/^[A-Za-z0-9][A-Za-z0-9\-.]{0,19}$/.test(args.idPrefix)) {
    throw new UsageError(`--id-prefix "${args.idPrefix}" must be 1-20 characters of letters, digits, '-' and '.', starting with a letter or digit`);
  }
  if (values.out !== undefined) {
    if ((values.out as string) === '') throw new UsageError('--out needs a file name or "-" for stdout');
    args.out = values.out as string;
  }
  if (args.practitioners === undefined && !args.examples) {
    throw new UsageError('Nothing to seed: give --practitioners N and/or --examples');
  }
  return args;
}

/** The IG examples in file-name order (deterministic). */
export function* exampleResources(dir: string = EXAMPLES_DIR): Generator<Resource> {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  for (const f of files) yield JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Resource;
}

/** One NDJSON line (without the newline) per synthetic resource, in generation order. */
export function* syntheticNdjsonLines(opts: SyntheticOptions): Generator<string> {
  for (const r of generateDirectory(opts)) yield JSON.stringify(r);
}

function* allResources(args: SeedArgs): Generator<Resource> {
  if (args.examples) yield* exampleResources();
  if (args.practitioners !== undefined) yield* generateDirectory({ practitioners: args.practitioners, seed: args.seed, idPrefix: args.idPrefix });
}

function plannedTotal(args: SeedArgs): number {
  let total = 0;
  if (args.examples) total += fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).length;
  if (args.practitioners !== undefined) total += estimateResourceCount({ practitioners: args.practitioners, seed: args.seed, idPrefix: args.idPrefix });
  return total;
}

function write(stream: NodeJS.WritableStream, chunk: string): Promise<void> | undefined {
  if (stream.write(chunk)) return undefined;
  return new Promise((resolve, reject) => {
    const onDrain = (): void => { stream.off('error', onError); resolve(); };
    const onError = (err: Error): void => { stream.off('drain', onDrain); reject(err); };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}

async function writeNdjson(args: SeedArgs, out: string): Promise<Map<string, number>> {
  const toStdout = out === '-';
  let stream: NodeJS.WritableStream;
  let fileStream: fs.WriteStream | undefined;
  if (toStdout) {
    stream = process.stdout;
  } else {
    const dir = path.dirname(path.resolve(out));
    if (!fs.existsSync(dir)) throw new Error(`Output folder ${dir} does not exist`);
    fileStream = fs.createWriteStream(out, { encoding: 'utf8' });
    await new Promise<void>((resolve, reject) => {
      fileStream!.once('open', () => resolve());
      fileStream!.once('error', (err) => reject(new Error(`Cannot write ${out}: ${err.message}`)));
    });
    stream = fileStream;
  }
  let failure: Error | undefined;
  stream.on('error', (err: Error) => { failure ??= err; });

  const counts = new Map<string, number>();
  const total = plannedTotal(args);
  let bar: { update(n: number): void; stop(): void } | undefined;
  if (process.stderr.isTTY) {
    const { default: cliProgress } = await import('cli-progress');
    const b = new cliProgress.SingleBar(
      { format: 'seeding {bar} {percentage}% | {value}/{total} resources | {eta_formatted} left', stream: process.stderr, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    b.start(total, 0);
    bar = b;
  }

  let n = 0;
  let shown = 0;
  let buffer = '';
  try {
    for (const r of allResources(args)) {
      buffer += JSON.stringify(r) + '\n';
      counts.set(r.resourceType, (counts.get(r.resourceType) ?? 0) + 1);
      n++;
      if (buffer.length >= 1 << 16) {
        const pending = write(stream, buffer);
        buffer = '';
        if (pending) await pending;
        if (failure) throw failure;
        if (bar && n - shown >= 1000) {
          bar.update(n);
          shown = n;
        }
      }
    }
    if (buffer.length > 0) {
      const pending = write(stream, buffer);
      if (pending) await pending;
    }
    bar?.update(n);
  } finally {
    bar?.stop();
  }
  if (fileStream) {
    await new Promise<void>((resolve, reject) => fileStream!.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  if (failure) throw failure;
  return counts;
}

/** Streams the generated directory into a tenant through the same validation and storage path as `npm run load`. */
async function loadIntoTenant(args: SeedArgs, tenantId: string): Promise<number> {
  const [{ withDatabase }, { TenantRegistry }, { createValidator }, { createSearchEngine }, { loadResources, formatSummary }, cliProgress] = await Promise.all([
    import('./common.ts'), import('../tenancy/tenants.ts'), import('../validation/validator.ts'), import('../search/index.ts'), import('../ingest/loader.ts'), import('cli-progress'),
  ]);
  return withDatabase(async ({ db }) => {
    const tenant = await new TenantRegistry(db).get(tenantId);
    if (!tenant) { console.error(`Tenant "${tenantId}" does not exist. Create it with: npm run tenant -- create ${tenantId}`); return 1; }
    const total = plannedTotal(args);
    const bar = process.stderr.isTTY ? new cliProgress.default.SingleBar({ format: 'seeding {bar} {value}/{total} resources', stream: process.stderr }, cliProgress.default.Presets.shades_classic) : undefined;
    bar?.start(total, 0);
    let last = 0;
    const t0 = performance.now();
    const summary = await loadResources({ db, validator: createValidator(), indexer: createSearchEngine().indexer }, allResources(args), {
      tenant: tenant.id, batchSize: 1000, warningsAsErrors: tenant.settings.strictValidation === true, source: 'seed',
      onProgress: (p) => {
        bar?.update(p.processed);
        if (!bar && p.processed - last >= 50_000) { last = p.processed; process.stderr.write(`seeding: ${p.processed}/${total}\n`); }
      },
    });
    bar?.stop();
    console.log(formatSummary(summary));
    console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return summary.rejected.length > 0 ? 1 : 0;
  });
}

export function formatCounts(counts: Map<string, number>): string {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const parts = [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([t, c]) => `${t} ${c}`);
  return `${total} resources: ${parts.join(', ')}`;
}

async function main(argv: string[]): Promise<number> {
  let args: SeedArgs | 'help';
  try {
    args = parseSeedArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\nRun "npm run seed -- --help" for usage.`);
      return 2;
    }
    throw err;
  }
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (args.out === undefined) {
    if (!args.tenant) {
      console.error('Give --tenant <id> to load into a tenant, or --out <file.ndjson|-> to write NDJSON.\nRun "npm run seed -- --help" for usage.');
      return 2;
    }
    return loadIntoTenant(args, args.tenant);
  }
  const t0 = performance.now();
  const counts = await writeNdjson(args, args.out);
  const seconds = (performance.now() - t0) / 1000;
  const summary = `${formatCounts(counts)} (${seconds.toFixed(1)} s)`;
  if (args.out === '-') console.error(summary);
  else console.log(`${summary} → ${args.out}`);
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0); // e.g. `npm run seed -- … --out - | head`
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`Error: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
