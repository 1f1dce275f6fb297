/**
 * Runs one export attempt end to end: transactionTime → snapshot → stream every matching resource through a
 * server-side cursor into NDJSON files (one type per file, split at `maxLines`) → close the files.
 *
 * The stored JSON text goes to the files as it is (no parse, no re-serialization) unless `_elements` asks for a subset.
 * Types without a `_typeFilter` are read in one sequential scan of the tenant's rows by binary COPY (the cheapest way
 * through a big table; see copy-rows.ts), routed to their files as they come; filtered types are read one cursor query
 * per type, restricted to the rids the search engine matches. Memory stays flat: one cursor batch and one write buffer per open file.
 */
import Cursor from 'pg-cursor';
import type pg from 'pg';
import type { Db } from '../../storage/db.ts';
import type { QueryPairs, SearchEngine } from '../../search/engine.ts';
import type { FileStorage } from '../storage/storage.ts';
import { RollingNdjsonWriter } from './ndjson-writer.ts';
import { copyToWriters } from './copy-rows.ts';
import { connectionOf, scanInThread } from './scan-thread.ts';
import type { Config } from '../../config/config.ts';
import { elementTrimmers } from './elements.ts';
import { openSnapshot, settledTransactionTime } from './snapshot.ts';
import { snapshotPool } from '../../storage/read-routing.ts';
import type { ExportFile, ExportParams } from './types.ts';

export interface ExportAttemptOptions {
  db: Db;
  search: SearchEngine;
  storage: FileStorage;
  tenant: string;
  params: ExportParams;
  /** Storage folder of this attempt (ends with `/`). */
  prefix: string;
  maxLinesPerFile: number;
  gzip: boolean;
  snapshotMarginMs: number;
  signal: AbortSignal;
  /** Called about once a second with progress; throwing aborts the attempt (cancelled, superseded). */
  onProgress(p: { exported: number; estimated: number | undefined }): Promise<void>;
  /** Rows per cursor fetch. */
  batchSize?: number;
  /**
   * Run the big scan in a worker thread (scan-thread.ts) whose file storage is built from this configuration; it
   * must be the configuration `storage` was built from. Unset: the scan runs on this thread.
   */
  scanThread?: { config: Config };
}

export interface ExportAttemptResult { files: ExportFile[]; transactionTime: Date; exported: number; deleted: number }

/** A filter's SQL (from the search engine) re-numbered to follow the parameters already bound; `$1` stays the tenant. */
function appendFilter(sql: { text: string; values: unknown[] }, values: unknown[]): string {
  const offset = values.length;
  values.push(...sql.values.slice(1));
  return sql.text.replace(/\$(\d+)\b/g, (_m, n: string) => (n === '1' ? '$1' : `$${Number(n) - 1 + offset}`));
}

export async function runExportAttempt(o: ExportAttemptOptions): Promise<ExportAttemptResult> {
  const { db, storage, tenant, params, signal } = o;
  const batchSize = o.batchSize ?? 500;
  const settled = await settledTransactionTime(db.pool, o.snapshotMarginMs, { signal });
  const tt = settled.transactionTime;
  const ttIso = tt.toISOString();
  const since = params.since;

  const writers = new Map<string, RollingNdjsonWriter>();
  /** Files the scan thread wrote: this thread's writers number theirs after them. */
  const threadFiles: ExportFile[] = [];
  const writerFor = (kind: ExportFile['kind'], type: string, baseName: string) => {
    const k = `${kind}:${type}`;
    let w = writers.get(k);
    if (!w) {
      const firstFile = 1 + threadFiles.filter((f) => f.kind === kind && f.type === type).length;
      w = new RollingNdjsonWriter({ storage, prefix: o.prefix, kind, type, baseName, maxLines: o.maxLinesPerFile, gzip: o.gzip, firstFile });
      writers.set(k, w);
    }
    return w;
  };
  const trimmers = elementTrimmers(params);
  let exported = 0;
  let deleted = 0;
  let estimated: number | undefined;
  let lastTick = Date.now();
  const tick = async () => {
    signal.throwIfAborted();
    if (Date.now() - lastTick < 1000) return;
    lastTick = Date.now();
    await o.onProgress({ exported, estimated });
  };

  // the snapshot reads from a replica (DATABASE_READ_URL) once it has replayed past this moment, else the primary
  const pool = await snapshotPool(db);
  const snap = await openSnapshot(pool, tenant);
  try {
    const client = snap.client;
    if (params.issues.length > 0) {
      await writerFor('error', 'OperationOutcome', 'errors').write(params.issues.map((i) => JSON.stringify({ resourceType: 'OperationOutcome', issue: [i] })));
    }
    const filters = params.typeFilters ?? {};
    const plain = params.types.filter((t) => !filters[t]?.length);
    const filtered = params.types.filter((t) => filters[t]?.length);

    // WHERE for one resources scan; `types` is one type or a list
    const scan = (types: string[], filterQueries: QueryPairs[] | undefined) => {
      const values: unknown[] = [tenant, types, ttIso];
      const where = ['tenant_id = $1', 'resource_type = ANY($2::text[])', 'NOT deleted', 'last_updated <= $3::timestamptz'];
      if (since) { values.push(since); where.push(`last_updated > $${values.length}::timestamptz`); }
      if (filterQueries) where.push(`(${filterQueries.map((q) => `rid IN (${filterSql(types[0], q, values)})`).join(' OR ')})`);
      return { text: `SELECT resource_type, content FROM resources WHERE ${where.join(' AND ')}`, values };
    };
    const filterSql = (type: string, q: QueryPairs, values: unknown[]): string => {
      if (o.search.matchingRidsQuery) return appendFilter(o.search.matchingRidsQuery(tenant, type, q), values);
      throw new Error('unreachable: without matchingRidsQuery, filters are resolved to ids first');
    };
    // engines without matchingRidsQuery: resolve each filter to ids inside the snapshot (bounded by the matches)
    const filterIds = new Map<string, string[]>();
    if (!o.search.matchingRidsQuery) {
      for (const t of filtered) {
        const ids = new Set<string>();
        for (const q of filters[t]) for (const id of await o.search.findIds(snapTx(client, tenant), t, q, 50_000_000)) ids.add(id);
        filterIds.set(t, [...ids]);
      }
    }
    const idFilterScan = (type: string) => {
      const s = scan([type], undefined);
      s.values.push(filterIds.get(type));
      return { text: `${s.text} AND id = ANY($${s.values.length}::text[])`, values: s.values };
    };
    const queries: { text: string; values: unknown[] }[] = [];
    if (plain.length) queries.push(scan(plain, undefined));
    for (const t of filtered) queries.push(o.search.matchingRidsQuery ? scan([t], filters[t]) : idFilterScan(t));

    estimated = 0;
    for (const q of queries) {
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${q.text}`, q.values);
      estimated += Math.round((rows[0]['QUERY PLAN'] as { Plan: { 'Plan Rows': number } }[])[0].Plan['Plan Rows']);
    }
    await o.onProgress({ exported, estimated });

    const emit = async (rows: [string, string][]) => {
      let last: RollingNdjsonWriter | undefined;
      let lastType = '';
      for (const [type, stored] of rows) {
        if (type !== lastType) { last = writerFor('output', type, type); lastType = type; }
        const trim = trimmers.get(type);
        const line = trim ? trim(stored) : stored;
        if (!last!.tryAppend(line)) await last!.append(line);
      }
      exported += rows.length;
      await tick();
    };
    // The big scan (types without filters) by binary COPY, its bytes straight to the files; filtered types keep the
    // cursor, since their filter SQL carries bind parameters and COPY takes none.
    if (plain.length) {
      const lit = (v: string) => client.escapeLiteral(v);
      const where = [`tenant_id = ${lit(tenant)}`, `resource_type = ANY(ARRAY[${plain.map(lit).join(', ')}]::text[])`, 'NOT deleted', `last_updated <= ${lit(ttIso)}::timestamptz`];
      if (since) where.push(`last_updated > ${lit(since)}::timestamptz`);
      const sql = `SELECT resource_type, content FROM resources WHERE ${where.join(' AND ')}`;
      const onRows = async (n: number) => { exported += n; await tick(); };
      if (o.scanThread) {
        const snapshotId = (await client.query('SELECT pg_export_snapshot() AS id')).rows[0].id as string;
        threadFiles.push(...await scanInThread({
          connection: connectionOf(pool), snapshotId, tenant, sql, config: o.scanThread.config,
          prefix: o.prefix, maxLinesPerFile: o.maxLinesPerFile, gzip: o.gzip, params,
        }, signal, onRows));
      } else {
        await copyToWriters(client, sql, signal, (type) => writerFor('output', type, type), trimmers, onRows);
      }
    }
    for (const q of queries.slice(plain.length ? 1 : 0)) await streamRows(client, q, batchSize, emit);

    // Resources changed between transactionTime and the snapshot: their version as of transactionTime.
    const asOf = async (types: string[], extra: (values: unknown[]) => string | undefined) => {
      const values: unknown[] = [tenant, types, ttIso];
      const cond = extra(values);
      const text = `SELECT h.resource_type, h.id, h.deleted, h.last_updated, h.content
        FROM (SELECT DISTINCT resource_type, id FROM resource_history
               WHERE tenant_id = $1 AND resource_type = ANY($2::text[]) AND last_updated > $3::timestamptz) c
        CROSS JOIN LATERAL (SELECT resource_type, id, deleted, last_updated, content FROM resource_history h
               WHERE h.tenant_id = $1 AND h.resource_type = c.resource_type AND h.id = c.id AND h.last_updated <= $3::timestamptz
               ORDER BY h.version_id DESC LIMIT 1) h
        ${cond ? `WHERE EXISTS (SELECT 1 FROM resources r WHERE r.tenant_id = $1 AND r.resource_type = c.resource_type AND r.id = c.id AND ${cond})` : ''}`;
      const { rows } = await client.query(text, values);
      const live: [string, string][] = [];
      for (const r of rows) {
        const lu = new Date(r.last_updated).getTime();
        if (since && lu <= Date.parse(since)) continue;
        if (r.deleted) { if (since) await writeDeleted([[r.resource_type, r.id]]); } else live.push([r.resource_type, r.content]);
      }
      if (live.length) await emit(live);
    };
    const writeDeleted = async (rows: [string, string][]) => {
      await writerFor('deleted', 'Bundle', 'deleted').write(rows.map(([type, id]) => JSON.stringify({
        resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `${type}/${id}` } }],
      })));
      deleted += rows.length;
    };
    if (plain.length) await asOf(plain, () => undefined);
    for (const t of filtered) {
      await asOf([t], (values) => {
        if (o.search.matchingRidsQuery) return `(${filters[t].map((q) => `r.rid IN (${filterSql(t, q, values)})`).join(' OR ')})`;
        values.push(filterIds.get(t));
        return `r.id = ANY($${values.length}::text[])`;
      });
    }

    // _since: deletions after it (and at or before transactionTime) go to the `deleted` files, as transaction Bundles
    if (since) {
      await streamRows(client, {
        text: `SELECT resource_type, id FROM resources WHERE tenant_id = $1 AND resource_type = ANY($2::text[]) AND deleted
                 AND last_updated > $4::timestamptz AND last_updated <= $3::timestamptz`,
        values: [tenant, params.types, ttIso, since],
      }, batchSize, async (rows) => { await writeDeleted(rows); await tick(); });
    }
  } catch (err) {
    await snap.close();
    for (const w of writers.values()) await w.abort().catch(() => {});
    throw err;
  }
  await snap.close();

  const files: ExportFile[] = [...threadFiles];
  for (const w of writers.values()) files.push(...await w.close());
  const order = (f: ExportFile) => (f.kind === 'output' ? 0 : f.kind === 'deleted' ? 1 : 2);
  files.sort((a, b) => order(a) - order(b) || a.type.localeCompare(b.type) || (Number(/-(\d+)\.ndjson$/.exec(a.name)?.[1]) - Number(/-(\d+)\.ndjson$/.exec(b.name)?.[1])));
  return { files, transactionTime: tt, exported, deleted };
}

/** A TenantTx over the snapshot's connection (for the search engine's own queries). */
function snapTx(client: pg.PoolClient, tenant: string) {
  return {
    tenant, client,
    query: (sql: string | pg.QueryConfig, params?: unknown[]) => client.query(sql as string, params as unknown[]),
    run: async () => { throw new Error('not available in an export snapshot'); },
  } as unknown as import('../../storage/db.ts').TenantTx;
}

/** Streams a query's rows (as arrays) through a server-side cursor, `batchSize` rows at a time. */
export async function streamRows(client: pg.PoolClient, q: { text: string; values: unknown[] }, batchSize: number, onRows: (rows: any[]) => Promise<void>): Promise<void> {
  const cursor = client.query(new Cursor(q.text, q.values, { rowMode: 'array' }));
  try {
    // the next batch is requested before this one is written, so the database works while the files are written
    let next = cursor.read(batchSize);
    for (;;) {
      const rows = await next;
      if (rows.length === 0) break;
      next = rows.length < batchSize ? Promise.resolve([]) : cursor.read(batchSize);
      next.catch(() => {}); // if onRows fails first, the read's own failure is not the one to report
      await onRows(rows);
    }
  } finally {
    await cursor.close();
  }
}
