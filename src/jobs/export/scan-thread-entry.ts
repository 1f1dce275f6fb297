/**
 * The export's big scan, inside a worker thread (started by scan-thread.ts): its own connection joins the attempt's
 * snapshot (`SET TRANSACTION SNAPSHOT`), binary-COPYs the rows and writes them to the NDJSON files through its own
 * storage, built from the same configuration. Posts `{ rows }` as it goes, then `{ files }`, or `{ error }` after
 * deleting what it wrote.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { createFileStorage } from '../storage/storage.ts';
import { copyToWriters } from './copy-rows.ts';
import { elementTrimmers } from './elements.ts';
import { RollingNdjsonWriter } from './ndjson-writer.ts';
import type { ScanRequest, ScanMessage } from './scan-thread.ts';

const job = workerData as ScanRequest;
const port = parentPort!;
const post = (m: ScanMessage) => port.postMessage(m);
const abort = new AbortController();
port.on('message', (m: unknown) => { if (m === 'abort') abort.abort(new Error('export scan stopped')); });
port.unref(); // listening for `abort` must not keep the thread alive once the scan is over

const storage = createFileStorage(job.config);
const writers = new Map<string, RollingNdjsonWriter>();
const writerFor = (type: string) => {
  let w = writers.get(type);
  if (!w) writers.set(type, w = new RollingNdjsonWriter({ storage, prefix: job.prefix, kind: 'output', type, baseName: type, maxLines: job.maxLinesPerFile, gzip: job.gzip }));
  return w;
};
const client = new pg.Client(job.connection);
client.on('error', () => { /* surfaces as the failed query */ });
let unreported = 0;
let lastReport = performance.now();
try {
  await client.connect();
  // SET TRANSACTION SNAPSHOT must come first in the transaction: the rows are then exactly the attempt's snapshot's
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await client.query(`SET TRANSACTION SNAPSHOT ${client.escapeLiteral(job.snapshotId)}`);
  await client.query(`SELECT set_config('app.tenant_id', $1, true)`, [job.tenant]);
  await copyToWriters(client, job.sql, abort.signal, writerFor, elementTrimmers(job.params), async (n) => {
    unreported += n;
    // a message per batch would cost more than it tells; the main thread only reports progress once a second
    if (performance.now() - lastReport >= 100) { post({ rows: unreported }); unreported = 0; lastReport = performance.now(); }
  });
  if (unreported) post({ rows: unreported });
  const files = [];
  for (const w of writers.values()) files.push(...await w.close());
  post({ files });
} catch (err) {
  // the open files are discarded, the finished ones deleted (the attempt's folder goes too, but not only from here)
  for (const w of writers.values()) {
    await w.abort().catch(() => {});
    for (const f of w.files) await storage.deletePrefix(f.key).catch(() => {});
  }
  post({ error: { name: (err as Error).name, message: (err as Error).message, code: (err as { code?: string }).code } });
} finally {
  await client.end().catch(() => {});
}
