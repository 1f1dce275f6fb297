/**
 * npm run bench:export-data-path [-- --resources N --rounds R --heap-mb M]
 *
 * Where the export worker's time goes, as a measurement for the next step on the export's speed: the export's data
 * path alone (binary COPY → NDJSON writers → files sealed at rest; export-data-path/data-path.ts) over one tenant's
 * ~N resources, run alternately on the main thread and in a worker thread of one process. The main thread's heap is
 * filled to M MB in use (default 35, about what the export worker process's heap holds: modules, the profile
 * validator), as the real worker's main thread does; the worker thread starts with an almost empty heap. Prints
 * rows/s of each, their mark-compacts and scavenges, and the process's peak RSS during each run (sampled every 20 ms
 * from the main thread). Embedded PostgreSQL under a temporary DATA_DIR; data written
 * straight through the storage layer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import type { Resource } from '@medplum/fhirtypes';
import { generateDirectory, estimateResourceCount } from '../../src/seeds/synthetic/generator.ts';
import { createDb, openDatabase } from '../../src/storage/db.ts';
import { writeBatch } from '../../src/storage/resource-store.ts';
import { loadConfig } from '../../src/config/config.ts';
import { machine, flag } from './harness.ts';
import { runDataPath, type DataPathRun } from './export-data-path/data-path.ts';

const target = flag('resources', 250_000);
const rounds = flag('rounds', 3);
const heapMb = flag('heap-mb', 35);
let practitioners = Math.max(10, Math.round(target / 3.1));
for (let i = 0; i < 5; i++) practitioners = Math.max(10, Math.round(practitioners * target / estimateResourceCount({ practitioners })));

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-bench-datapath-'));
fs.chmodSync(dataDir, 0o755);
const database = await openDatabase(loadConfig({ ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
try {
  const url = database.embedded?.url ?? process.env.DATABASE_URL!;
  const tenant = `datapath-${Date.now().toString(36)}`;
  const owner = new pg.Client({ connectionString: url });
  await owner.connect();
  await owner.query(`INSERT INTO tenants (tenant_id, name) VALUES ($1, 'bench')`, [tenant]);
  const db = createDb({ appUrl: url, ownerUrl: url, appRole: 'plannet_app', setRole: true, poolMax: 2 });
  process.stderr.write(`loading ${target} resources...\n`);
  const gen = generateDirectory({ practitioners, seed: 7 })[Symbol.iterator]() as Iterator<Resource>;
  let batch: Resource[] = [];
  let loaded = 0;
  const write = async () => {
    await db.withTenant(tenant, (tx) => writeBatch(tx, batch.map((resource) => ({ kind: 'create' as const, resource, id: resource.id }))));
    loaded += batch.length;
    batch = [];
  };
  for (let r = gen.next(); !r.done; r = gen.next()) { batch.push(r.value); if (batch.length >= 5000) await write(); }
  if (batch.length) await write();
  await db.close();
  await owner.query('VACUUM ANALYZE resources');
  await owner.end();

  // the main thread's live heap, filled to about what the export worker process holds (after a full collection, so
  // the loader's garbage does not count)
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (npm run bench:export-data-path does)');
  gc();
  const heap: { i: number; s: string; a: number[] }[] = [];
  while (process.memoryUsage().heapUsed < heapMb * 1e6) for (let i = 0; i < 10_000; i++) heap.push({ i, s: `object ${heap.length}`, a: [i, i + 1] });

  const results: Record<'main' | 'thread', (DataPathRun & { peakRssMb?: number })[]> = { main: [], thread: [] };
  for (let round = 0; round < rounds; round++) {
    for (const where of ['main', 'thread'] as const) {
      const outDir = fs.mkdtempSync(path.join(dataDir, 'out-'));
      const options = { url, tenant, dataDir, outDir };
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 20);
      const run: DataPathRun & { peakRssMb?: number } = where === 'main' ? await runDataPath(options) : await new Promise<DataPathRun>((resolve, reject) => {
        const w = new Worker(new URL('./export-data-path/data-path-thread.ts', import.meta.url), { workerData: options });
        w.once('message', resolve);
        w.once('error', reject);
      });
      clearInterval(sampler);
      run.peakRssMb = Math.max(peakRss, process.memoryUsage().rss) / 2 ** 20;
      if (run.rows !== loaded) throw new Error(`${where}: ${run.rows} rows of ${loaded}`);
      results[where].push(run);
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`bench:export-data-path  machine: ${machine()}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`  settings: ${loaded} resources of one tenant, ${rounds} rounds alternating main thread / worker thread, main thread holding ${heap.length} objects, ~${heapMb} MB (${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB of heap in use), embedded PostgreSQL`);
  for (const where of ['main', 'thread'] as const) {
    const r = results[where];
    const ms = median(r.map((x) => x.ms));
    console.log(`  ${where === 'main' ? 'main thread  ' : 'worker thread'}: ${Math.round(loaded / (ms / 1000))} rows/s (median of ${r.map((x) => (x.ms / 1000).toFixed(2)).join(', ')} s); `
      + `mark-compacts ${r.map((x) => `${x.markCompacts} (${Math.round(x.markCompactMs)} ms)`).join(', ')}; scavenges ${r.map((x) => `${x.scavenges} (${Math.round(x.scavengeMs)} ms)`).join(', ')}; process RSS peaks ${r.map((x) => Math.round(x.peakRssMb!)).join(', ')} MB (with the loader's leftovers)`);
  }
  console.log(`  worker thread / main thread: ${(median(results.main.map((x) => x.ms)) / median(results.thread.map((x) => x.ms))).toFixed(2)}× the rows per second`);
} finally {
  await database.shutdown();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
