/**
 * Reads a query's rows with `COPY (query) TO STDOUT (FORMAT binary)`: the cheapest way out of PostgreSQL for the
 * export's big scan. Compared with a server-side cursor, the database skips the per-row protocol messages and the
 * client builds no JavaScript string per resource: each row's columns arrive as byte ranges of the stream's chunks,
 * which go to the NDJSON files as they are (measured on the bench: see docs/performance.md, "Bulk export").
 *
 * Hand-written because no maintained npm package parses the binary COPY format into raw column bytes (pg-copy-streams
 * carries the bytes; the parsers we found decode every value into JS types, which is the cost this avoids). The format
 * is small and fixed (PostgreSQL docs, "COPY … Binary Format"): an 11-byte signature, a 32-bit flags field and a
 * 32-bit header-extension length (+ extension); then per tuple a 16-bit field count (−1 ends the data) and per field a
 * 32-bit length (−1 for NULL) followed by that many bytes.
 *
 * COPY takes no bind parameters, so callers inline literals with `escapeLiteral` (pg's quoting). A COPY stopped before
 * its end closes the connection (see the `finally` below): release that client with `release(true)`.
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const INCOMPLETE = -1;
const TRAILER = -2;

/** Parses the tuple at `pos` into `rows`; returns where it ends, INCOMPLETE if `buf` ends first, or TRAILER. */
function parseTuple(buf: Buffer, pos: number, rows: CopyRow[]): number {
  if (buf.length - pos < 2) return INCOMPLETE;
  const fields = buf.readInt16BE(pos);
  if (fields === -1) return TRAILER;
  let p = pos + 2;
  const row: CopyRow = new Array(fields);
  for (let f = 0; f < fields; f++) {
    if (buf.length - p < 4) return INCOMPLETE;
    const len = buf.readInt32BE(p);
    p += 4;
    if (len === -1) { row[f] = null; continue; }
    if (buf.length - p < len) return INCOMPLETE;
    row[f] = buf.subarray(p, p + len);
    p += len;
  }
  rows.push(row);
  return p;
}

/** One row: each column's bytes (null for SQL NULL). The buffers are views valid until the next batch is requested. */
export type CopyRow = (Buffer | null)[];

/**
 * Yields the rows of `COPY (sql) TO STDOUT (FORMAT binary)` in batches (one batch per stream chunk). The consumer's
 * pace is the stream's pace: the next chunk is read only when the consumer asks for the next batch.
 */
export async function* copyBinaryRows(client: pg.PoolClient, sql: string, signal?: AbortSignal): AsyncGenerator<CopyRow[]> {
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT (FORMAT binary)`));
  const onAbort = () => stream.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  let pending: Buffer | undefined; // bytes of an incomplete header or tuple carried over from the previous chunk
  let headerDone = false;
  let ended = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const rows: CopyRow[] = [];
      let buf = chunk;
      let pos = 0;
      if (!headerDone) {
        if (pending) { buf = Buffer.concat([pending, chunk]); pending = undefined; }
        if (buf.length < 19 || buf.length < 19 + buf.readUInt32BE(15)) { pending = Buffer.from(buf); continue; }
        if (!buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('COPY binary: bad signature');
        pos = 19 + buf.readUInt32BE(15);
        headerDone = true;
      } else if (pending) {
        // The tuple that straddles the boundary: join the carried bytes with only as much of this chunk as it needs
        // (copying the whole chunk for every boundary would double the bytes copied).
        let take = Math.min(chunk.length, 16 * 1024);
        for (;;) {
          const joined = Buffer.concat([pending, chunk.subarray(0, take)]);
          const end = parseTuple(joined, 0, rows);
          if (end === TRAILER) { ended = true; pos = 2 - pending.length; pending = undefined; break; }
          if (end !== INCOMPLETE) { pos = end - pending.length; pending = undefined; break; }
          if (take === chunk.length) { pending = joined; pos = chunk.length; break; }
          take = Math.min(chunk.length, take * 4);
        }
      }
      while (!ended && !pending) {
        const end = parseTuple(buf, pos, rows);
        if (end === TRAILER) { ended = true; break; }
        if (end === INCOMPLETE) { if (pos < buf.length) pending = Buffer.from(buf.subarray(pos)); break; } // copied: the chunk is not kept alive
        pos = end;
      }
      if (rows.length) yield rows;
    }
    if (!ended) throw new Error('COPY binary: the data ended without its trailer');
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!ended) {
      // A COPY cut short (abort, a consumer that stopped or failed) leaves the protocol mid-COPY: nothing more can be
      // sent on this connection until the backend has sent every row. So the socket is closed (the backend then ends
      // the COPY and rolls back), and the caller must release the client as broken (`release(true)`); queries on it fail.
      stream.destroy();
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
  }
}
