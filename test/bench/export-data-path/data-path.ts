/**
 * The export's data path alone, as the worker runs it for the unfiltered types: binary COPY of a tenant's rows →
 * NDJSON writers (one per type, split at 50,000 lines) → files sealed at rest on local storage, through the exporter's
 * own `copyToWriters`. Used by test/bench/export-data-path.ts on the main thread and in a worker thread (see
 * data-path-thread.ts).
 */
import pg from 'pg';
import { PerformanceObserver } from 'node:perf_hooks';
import { copyToWriters } from '../../../src/jobs/export/copy-rows.ts';
import { RollingNdjsonWriter } from '../../../src/jobs/export/ndjson-writer.ts';
import { EncryptedFileStorage } from '../../../src/security/file-storage.ts';
import { LocalFileStorage } from '../../../src/jobs/storage/local.ts';
import { loadKeyring } from '../../../src/security/envelope.ts';
import { loadConfig } from '../../../src/config/config.ts';

export interface DataPathRun { ms: number; rows: number; markCompacts: number; markCompactMs: number; scavenges: number; scavengeMs: number }

const MARK_COMPACT = 4; // PerformanceEntry detail.kind: NODE_PERFORMANCE_GC_MAJOR
const SCAVENGE = 1; // NODE_PERFORMANCE_GC_MINOR

export async function runDataPath(o: { url: string; tenant: string; dataDir: string; outDir: string }): Promise<DataPathRun> {
  const config = loadConfig({ ...process.env, DATA_DIR: o.dataDir });
  const storage = new EncryptedFileStorage(new LocalFileStorage(o.outDir), loadKeyring(config));
  const gc = { markCompacts: 0, markCompactMs: 0, scavenges: 0, scavengeMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === MARK_COMPACT) { gc.markCompacts++; gc.markCompactMs += e.duration; }
      if (kind === SCAVENGE) { gc.scavenges++; gc.scavengeMs += e.duration; }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const client = new pg.Client({ connectionString: o.url });
  await client.connect();
  const t0 = performance.now();
  const writers = new Map<string, RollingNdjsonWriter>();
  const writerFor = (type: string) => {
    let w = writers.get(type);
    if (!w) writers.set(type, w = new RollingNdjsonWriter({ storage, prefix: 'bench/', kind: 'output', type, baseName: type, maxLines: 50_000, gzip: false }));
    return w;
  };
  let rows = 0;
  const sql = `SELECT resource_type, content FROM resources WHERE tenant_id = ${client.escapeLiteral(o.tenant)} AND NOT deleted`;
  await copyToWriters(client, sql, undefined, writerFor, new Map(), async (n) => { rows += n; });
  for (const w of writers.values()) await w.close();
  const ms = performance.now() - t0;
  await client.end();
  await new Promise((r) => setTimeout(r, 50)); // the last GC entries
  observer.disconnect();
  return { ms, rows, ...gc };
}
