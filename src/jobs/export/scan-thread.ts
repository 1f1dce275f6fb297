/**
 * Runs the export's big scan (binary COPY → NDJSON files, `copyToWriters`) in a worker thread of its own, joined to
 * the attempt's snapshot through `pg_export_snapshot()`.
 *
 * Why a thread: every byte of an export passes through Buffers (socket reads, sealed file writes) whose memory lives
 * outside the JavaScript heap, and V8 answers that external memory with full mark-compact collections. Their cost
 * grows with the heap they mark; a worker process's main thread holds every module of the service (tens of MB), a
 * fresh thread almost nothing. Measured by `npm run bench:export-data-path` (docs/performance.md, "Bulk export"): the
 * same data path runs about 1.5× the rows per second in a thread as on a main thread holding the service's heap.
 *
 * The thread has its own connection and builds its own file storage from the same configuration (storage objects do
 * not cross threads); the main thread keeps the snapshot's transaction open until the thread is done, so the snapshot
 * it imported stays valid. Stopping: the attempt's signal sends `abort`; the thread stops reading, discards its files
 * and ends. A thread that does not end within STOP_GRACE_MS is terminated; what it left is under the attempt's own
 * folder, which a failed attempt removes anyway.
 */
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import type { Config } from '../../config/config.ts';
import type { ExportFile, ExportParams } from './types.ts';

export interface ScanRequest {
  connection: { connectionString?: string; options?: string };
  snapshotId: string;
  tenant: string;
  /** SELECT resource_type, content ... with literals inlined (COPY takes no parameters). */
  sql: string;
  config: Config;
  prefix: string;
  maxLinesPerFile: number;
  gzip: boolean;
  params: ExportParams;
}

export type ScanMessage = { rows: number } | { files: ExportFile[] } | { error: { name: string; message: string; code?: string } };

const STOP_GRACE_MS = 10_000;
// the entry's own extension: .ts when run from source (node strips the types), .js from the built image
const ENTRY = new URL(`./scan-thread-entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** How to open another connection like the pool's (the thread cannot share the pool). */
export function connectionOf(pool: pg.Pool): ScanRequest['connection'] {
  const { connectionString, options } = pool.options;
  return { ...(connectionString ? { connectionString } : {}), ...(options ? { options } : {}) };
}

/**
 * Runs the scan; resolves with the files it wrote (named `{type}-1.ndjson`, ...). `onRows` is called, one call at a
 * time, as rows are written; if it throws, the scan stops and this rejects with its error.
 */
export function scanInThread(req: ScanRequest, signal: AbortSignal, onRows: (rows: number) => Promise<void>): Promise<ExportFile[]> {
  return new Promise<ExportFile[]>((resolve, reject) => {
    // A small young generation: the thread makes few JS objects (its bytes are Buffers), and the default semi-spaces
    // would add tens of MB to the worker's RSS for nothing (bench:export at 1M: peak 285 MB with this, 293–300 without).
    const worker = new Worker(ENTRY, { workerData: req, stdout: false, stderr: false, resourceLimits: { maxYoungGenerationSizeMb: 6 } });
    let failure: unknown;
    let files: ExportFile[] | undefined;
    let reports: Promise<void> = Promise.resolve();
    let killer: NodeJS.Timeout | undefined;
    const stop = (why: unknown) => {
      failure ??= why;
      worker.postMessage('abort');
      killer ??= setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
    };
    const onAbort = () => stop(signal.reason ?? new Error('aborted'));
    if (signal.aborted) onAbort(); else signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: ScanMessage) => {
      if ('rows' in m) {
        reports = reports.then(() => (failure ? undefined : onRows(m.rows))).catch((e) => stop(e));
      } else if ('files' in m) {
        files = m.files;
      } else {
        failure ??= Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code });
      }
    });
    worker.on('error', (e) => { failure ??= e; });
    worker.on('exit', (code) => {
      if (killer) clearTimeout(killer);
      signal.removeEventListener('abort', onAbort);
      void reports.then(() => {
        if (failure) reject(failure);
        else if (!files) reject(new Error(`the export scan thread ended (exit code ${code}) without its files`));
        else resolve(files);
      });
    });
  });
}
