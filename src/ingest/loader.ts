/**
 * Bulk loading of FHIR JSON files, NDJSON files and Bundles into a tenant, as the CLI and the demo seed use it.
 *
 * Streams: files are read line by line (NDJSON) or one at a time (JSON), and resources are written in batches of
 * `batchSize` per transaction through the same validation and storage path as the API (writeBatch + indexer).
 * Rejections never stop the rest: an invalid resource is reported and skipped before it reaches the database; if a
 * batch fails in the database, it is retried one resource at a time so only the offending resource is rejected.
 * Resources keep their ids (update semantics), so loading the same files twice makes new versions, not duplicates.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { Db } from '../storage/db.ts';
import { writeBatch, mapWriteError, FHIR_ID_PATTERN, type Indexer } from '../storage/resource-store.ts';
import type { ResourceValidator } from '../validation/validator.ts';
import { isPlanNetType } from '../validation/validator.ts';
import { toFhirError } from '../fhir/outcome/errors.ts';

export interface Rejection { source: string; resource?: string; reason: string }

export interface LoadSummary {
  loaded: Record<string, number>;
  rejected: Rejection[];
  warnings: number;
  files: number;
}

export interface LoaderDeps { db: Db; validator: ResourceValidator; indexer: Indexer }

export interface LoadOptions {
  tenant: string;
  batchSize?: number;
  warningsAsErrors?: boolean;
  onProgress?: (p: { processed: number; loaded: number; rejected: number; source: string }) => void;
}

interface Item { source: string; value: unknown }

/** Expands folders (recursively, .json/.ndjson/.jsonl files, sorted) into a file list. */
export function listInputFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const stat = fs.statSync(p, { throwIfNoEntry: false });
    if (!stat) throw new Error(`No such file or folder: ${p}`);
    if (stat.isDirectory()) {
      const children = fs.readdirSync(p).sort().map((c) => path.join(p, c));
      out.push(...listInputFiles(children.filter((c) => fs.statSync(c).isDirectory() || /\.(json|ndjson|jsonl)$/i.test(c))));
    } else out.push(p);
  }
  return out;
}

/** Yields resources from one file: NDJSON line by line; JSON as one resource or the entries of a Bundle. */
async function* readFile(file: string): AsyncGenerator<Item> {
  const isNdjson = /\.(ndjson|jsonl)$/i.test(file);
  if (isNdjson) {
    const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let n = 0;
    for await (const line of rl) {
      n++;
      if (!line.trim()) continue;
      try { yield* expand(`${file}:${n}`, JSON.parse(line)); } catch (e) { yield { source: `${file}:${n}`, value: new SyntaxError(`not JSON: ${(e as Error).message}`) }; }
    }
    return;
  }
  let parsed: unknown;
  try { parsed = JSON.parse(await fs.promises.readFile(file, 'utf8')); } catch (e) {
    yield { source: file, value: new SyntaxError(`not JSON: ${(e as Error).message}`) };
    return;
  }
  yield* expand(file, parsed);
}

function* expand(source: string, value: unknown): Generator<Item> {
  const b = value as Bundle;
  if (b && typeof b === 'object' && b.resourceType === 'Bundle' && Array.isArray(b.entry)) {
    for (let i = 0; i < b.entry.length; i++) yield { source: `${source}#entry[${i}]`, value: b.entry[i].resource };
  } else yield { source, value };
}

export async function loadFiles(deps: LoaderDeps, files: string[], opts: LoadOptions): Promise<LoadSummary> {
  async function* all(): AsyncGenerator<Item> { for (const f of files) yield* readFile(f); }
  const summary = await loadItems(deps, all(), opts);
  summary.files = files.length;
  return summary;
}

export async function loadResources(deps: LoaderDeps, resources: Iterable<Resource> | AsyncIterable<Resource>, opts: LoadOptions & { source?: string }): Promise<LoadSummary> {
  async function* items(): AsyncGenerator<Item> { for await (const r of resources) yield { source: opts.source ?? 'generator', value: r }; }
  return loadItems(deps, items(), opts);
}

async function loadItems(deps: LoaderDeps, items: AsyncIterable<Item>, opts: LoadOptions): Promise<LoadSummary> {
  const batchSize = opts.batchSize ?? 500;
  const summary: LoadSummary = { loaded: {}, rejected: [], warnings: 0, files: 0 };
  let batch: { source: string; resource: Resource }[] = [];
  let processed = 0;
  let lastSource = '';
  const report = () => opts.onProgress?.({ processed, loaded: Object.values(summary.loaded).reduce((a, b) => a + b, 0), rejected: summary.rejected.length, source: lastSource });

  const flush = async () => {
    if (batch.length === 0) return;
    const current = batch;
    batch = [];
    try {
      await deps.db.withTenant(opts.tenant, (tx) => writeBatch(tx, current.map((c) => ({ kind: 'update' as const, resource: c.resource })), deps.indexer));
      for (const c of current) summary.loaded[c.resource.resourceType] = (summary.loaded[c.resource.resourceType] ?? 0) + 1;
    } catch {
      // Find the offender(s): one transaction per resource, so the rest still load.
      for (const c of current) {
        try {
          await deps.db.withTenant(opts.tenant, (tx) => writeBatch(tx, [{ kind: 'update', resource: c.resource }], deps.indexer));
          summary.loaded[c.resource.resourceType] = (summary.loaded[c.resource.resourceType] ?? 0) + 1;
        } catch (err) {
          const fe = toFhirError(mapWriteError(err));
          summary.rejected.push({ source: c.source, resource: `${c.resource.resourceType}/${c.resource.id}`, reason: fe.kind === 'internal' ? `database error: ${(err as Error).message}` : fe.message });
        }
      }
    }
    report();
  };

  for await (const item of items) {
    processed++;
    lastSource = item.source;
    const reason = precheck(item.value);
    if (reason) {
      summary.rejected.push({ source: item.source, resource: describe(item.value), reason });
    } else {
      const resource = item.value as Resource;
      const issues = deps.validator.validate(resource, { warningsAsErrors: opts.warningsAsErrors });
      const errors = issues.filter((i) => i.severity === 'error');
      summary.warnings += issues.length - errors.length;
      if (errors.length > 0) {
        summary.rejected.push({ source: item.source, resource: describe(resource), reason: errors.slice(0, 3).map((e) => `${e.expression}: ${e.diagnostics}`).join('; ') + (errors.length > 3 ? ` (+${errors.length - 3} more)` : '') });
      } else {
        batch.push({ source: item.source, resource });
        if (batch.length >= batchSize) await flush();
      }
    }
    if (processed % 1000 === 0) report();
  }
  await flush();
  report();
  return summary;
}

function precheck(value: unknown): string | undefined {
  if (value instanceof SyntaxError) return value.message;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a FHIR resource (a JSON object)';
  const r = value as Resource;
  if (typeof r.resourceType !== 'string') return 'no resourceType';
  if (!isPlanNetType(r.resourceType)) return `resource type ${r.resourceType} is not a Plan-Net type served here`;
  if (typeof r.id !== 'string' || !FHIR_ID_PATTERN.test(r.id)) return `missing or invalid id ${JSON.stringify(r.id)} (loads keep ids; 1-64 of A-Z a-z 0-9 - .)`;
  return undefined;
}

function describe(value: unknown): string | undefined {
  const r = value as Resource | undefined;
  return r && typeof r === 'object' && typeof r.resourceType === 'string' ? `${r.resourceType}/${r.id ?? '?'}` : undefined;
}

export function formatSummary(s: LoadSummary): string {
  const lines: string[] = [];
  const total = Object.values(s.loaded).reduce((a, b) => a + b, 0);
  lines.push(`Loaded ${total} resource${total === 1 ? '' : 's'}${s.files ? ` from ${s.files} file${s.files === 1 ? '' : 's'}` : ''}; rejected ${s.rejected.length}; ${s.warnings} validation warning${s.warnings === 1 ? '' : 's'}.`);
  for (const [type, n] of Object.entries(s.loaded).sort()) lines.push(`  loaded   ${type.padEnd(24)} ${n}`);
  const shown = s.rejected.slice(0, 50);
  for (const r of shown) lines.push(`  rejected ${r.resource ?? '(unreadable)'} at ${r.source}: ${r.reason}`);
  if (s.rejected.length > shown.length) lines.push(`  ... and ${s.rejected.length - shown.length} more rejections`);
  return lines.join('\n');
}
