/**
 * The export's big scan in a worker thread (src/jobs/export/scan-thread.ts), against the real PostgreSQL: the thread
 * joins the caller's snapshot, writes every row to the right files (split, numbered, sealed at rest), reports its
 * rows; an abort, a failing progress callback or a bad snapshot end it with that error and leave no files behind.
 * (The export tests run every API export through the thread, including the SIGKILL durability test.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectionOf, scanInThread, type ScanRequest } from '../../src/jobs/export/scan-thread.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.close(); });

const ROWS = 30_000;
// types in runs, as the table's rows come; each line is its row number, so the files can be checked line by line
const SQL = `SELECT CASE WHEN (g / 1000) % 3 = 0 THEN 'Location' ELSE 'Practitioner' END AS resource_type,
    '{"n":' || g || ',"pad":"' || repeat('x', 200) || '"}' AS content FROM generate_series(1, ${ROWS}) AS g`;

/** A REPEATABLE READ transaction whose snapshot is exported, as the exporter opens it. */
async function withSnapshot<T>(fn: (snapshotId: string) => Promise<T>): Promise<T> {
  const client: pg.PoolClient = await srv.services.db.pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const id = (await client.query('SELECT pg_export_snapshot() AS id')).rows[0].id as string;
    return await fn(id);
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

const request = (snapshotId: string, prefix: string, sql = SQL): ScanRequest => ({
  connection: connectionOf(srv.services.db.pool), snapshotId, tenant: srv.tenant, sql, config: srv.config,
  prefix, maxLinesPerFile: 7_000, gzip: false, params: { types: ['Location', 'Practitioner'], issues: [] },
});
const newPrefix = () => `tenants/${srv.tenant}/jobs/${randomUUID()}/a1/`;
const filesUnder = (prefix: string) => {
  const dir = path.join(srv.config.dataDir, 'exports', prefix);
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

test('every row goes to its type\'s files, split at the line limit and numbered; rows are reported as they go', { timeout: 60_000 }, async () => {
  const prefix = newPrefix();
  let reported = 0;
  const files = await withSnapshot((id) => scanInThread(request(id, prefix), new AbortController().signal, async (n) => { reported += n; }));
  assert.equal(reported, ROWS);
  const storage = srv.jobs.storage;
  const seen = new Map<string, number[]>();
  for (const f of files) {
    assert.equal(f.kind, 'output');
    assert.ok(f.count <= 7_000);
    const stored = (await storage.open(f.key))!;
    const chunks: Buffer[] = [];
    for await (const c of stored.stream) chunks.push(c as Buffer);
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines.length, f.count, f.name);
    assert.equal(stored.size, Buffer.concat(chunks).length);
    const list = seen.get(f.type) ?? [];
    for (const l of lines) list.push((JSON.parse(l) as { n: number }).n);
    seen.set(f.type, list);
  }
  const expected = (type: string) => Array.from({ length: ROWS }, (_, i) => i + 1).filter((g) => ((Math.floor(g / 1000) % 3 === 0) ? 'Location' : 'Practitioner') === type);
  for (const type of ['Location', 'Practitioner']) {
    assert.deepEqual(seen.get(type), expected(type), `${type}: every row once, in order`);
    const names = files.filter((f) => f.type === type).map((f) => f.name);
    assert.deepEqual(names, names.map((_, i) => `${type}-${i + 1}.ndjson`));
  }
  assert.ok(files.filter((f) => f.type === 'Practitioner').length >= 3, 'split into several files');
  assert.deepEqual(filesUnder(prefix).filter((n) => n.endsWith('.partial')), []);
});

test('an abort stops the thread with the abort\'s reason and removes what it wrote', { timeout: 60_000 }, async () => {
  const prefix = newPrefix();
  const ac = new AbortController();
  let reported = 0;
  await assert.rejects(withSnapshot((id) => scanInThread(request(id, prefix, SQL.replace(`${ROWS}`, '2000000')), ac.signal, async (n) => {
    reported += n;
    // past the line limit twice: finished files as well as the open ones must go
    if (reported >= 20_000) ac.abort(new Error('cancelled by the test'));
  })), /cancelled by the test/);
  assert.ok(reported >= 20_000 && reported < 2_000_000, `stopped early (${reported} rows)`);
  assert.deepEqual(filesUnder(prefix), [], 'no files left, complete or partial');
});

test('a progress callback that throws (the attempt was superseded) stops the thread with that error', { timeout: 60_000 }, async () => {
  const prefix = newPrefix();
  class Superseded extends Error {}
  let reported = 0;
  await assert.rejects(withSnapshot((id) => scanInThread(request(id, prefix, SQL.replace(`${ROWS}`, '2000000')), new AbortController().signal, async (n) => {
    reported += n;
    if (reported >= 20_000) throw new Superseded('superseded');
  })), Superseded);
  assert.deepEqual(filesUnder(prefix), []);
});

test('a snapshot that does not exist fails the scan with PostgreSQL\'s error, and no files', { timeout: 60_000 }, async () => {
  const prefix = newPrefix();
  await assert.rejects(scanInThread(request('00000003-0000001B-1', prefix), new AbortController().signal, async () => {}), /snapshot/i);
  assert.deepEqual(filesUnder(prefix), []);
});
