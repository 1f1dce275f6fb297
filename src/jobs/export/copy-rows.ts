/**
 * Reads a query's rows with `COPY (query) TO STDOUT (FORMAT binary)`: the cheapest way out of PostgreSQL for the
 * export's big scan. Compared with a server-side cursor, the database skips the per-row protocol messages and the
 * client builds no JavaScript string per resource: each row's columns arrive as byte ranges of the socket's reads,
 * which go to the NDJSON files as they are (measured on the bench: see docs/performance.md, "Bulk export").
 *
 * Hand-written because no maintained npm package parses the binary COPY format into raw column bytes (the parsers we
 * found decode every value into JS types, which is the cost this avoids). The format is small and fixed (PostgreSQL
 * docs, "COPY … Binary Format"): an 11-byte signature, a 32-bit flags field and a 32-bit header-extension length
 * (+ extension); then per tuple a 16-bit field count (−1 ends the data) and per field a 32-bit length (−1 for NULL)
 * followed by that many bytes.
 *
 * The protocol framing (CopyOutResponse, one CopyData message per row, CopyDone; "Message Flow", "COPY Operations") is
 * read here too, straight from the connection's socket, as pg-copy-streams does it: while the COPY runs, this takes the
 * socket's `data` events from pg's parser and hands the socket back at CopyDone (or at an ErrorResponse, which pg then
 * parses and reports). Doing it here instead of through pg-copy-streams saves two copies of every byte (its stream
 * read joins the socket's buffered reads, and it joins each batch of CopyData payloads into a new zero-filled buffer):
 * every copy is external memory the garbage collector has to sweep, and those collections were half of the export
 * worker's time. Only a tuple that straddles two socket reads is copied (into the carried `pending` bytes).
 *
 * COPY takes no bind parameters, so callers inline literals with `escapeLiteral` (pg's quoting). A COPY stopped before
 * its end closes the connection (see the `finally` below): release that client with `release(true)`.
 */
import type pg from 'pg';
import type { Readable } from 'node:stream';
import type { RollingNdjsonWriter } from './ndjson-writer.ts';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const INCOMPLETE = -1;
const TRAILER = -2;

// backend message types (PostgreSQL docs, "Message Formats")
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'

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
 * The binary COPY data stream (the concatenated CopyData payloads) cut into tuples, whatever the pieces it arrives in.
 * A tuple wholly inside a piece is a view of it; only the bytes of a tuple cut by a piece boundary are copied.
 */
export class CopyTupleParser {
  /** Bytes of an incomplete header or tuple carried over from earlier pieces. */
  #pending: Buffer | undefined;
  #headerDone = false;
  /** The trailer has been read: the data is complete. */
  ended = false;

  /** Parses `piece` (views of it may end up in `rows`, so it must not be overwritten while they are in use). */
  feed(piece: Buffer, rows: CopyRow[]): void {
    if (this.ended) { if (piece.length) throw new Error('COPY binary: data after the trailer'); return; }
    let buf = piece;
    let pos = 0;
    const pending = this.#pending;
    if (!this.#headerDone) {
      if (pending) { buf = Buffer.concat([pending, piece]); this.#pending = undefined; }
      if (buf.length < 19 || buf.length < 19 + buf.readUInt32BE(15)) { this.#pending = Buffer.from(buf); return; }
      if (!buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('COPY binary: bad signature');
      pos = 19 + buf.readUInt32BE(15);
      this.#headerDone = true;
    } else if (pending) {
      // The tuple that straddles the boundary: join the carried bytes with only as much of this piece as it needs
      // (copying the whole piece for every boundary would double the bytes copied).
      let take = Math.min(piece.length, 16 * 1024);
      for (;;) {
        const joined = Buffer.concat([pending, piece.subarray(0, take)]);
        const end = parseTuple(joined, 0, rows);
        if (end === TRAILER) { this.ended = true; pos = 2 - pending.length; this.#pending = undefined; break; }
        if (end !== INCOMPLETE) { pos = end - pending.length; this.#pending = undefined; break; }
        if (take === piece.length) { this.#pending = joined; return; }
        take = Math.min(piece.length, take * 4);
      }
    }
    for (;;) {
      if (this.ended) {
        if (pos < buf.length) throw new Error('COPY binary: data after the trailer');
        return;
      }
      const end = parseTuple(buf, pos, rows);
      if (end === TRAILER) { this.ended = true; pos += 2; continue; }
      if (end === INCOMPLETE) { if (pos < buf.length) this.#pending = Buffer.from(buf.subarray(pos)); return; } // copied: the piece is not kept alive
      pos = end;
    }
  }
}

/**
 * The COPY as a pg "submittable" (pg calls `submit`, then `handleError`/`handleCommandComplete`/`handleReadyForQuery`
 * with the messages it parses itself). Between submit and CopyDone it owns the socket's data: it deframes the protocol
 * messages and feeds CopyData payloads (views of the socket's reads) to the tuple parser.
 */
export class CopyOut {
  readonly text: string;
  readonly tuples = new CopyTupleParser();
  #socket: Readable | undefined;
  #pgData: ((chunk: Buffer) => void) | undefined;
  readonly #onData = (chunk: Buffer) => this.#receive(chunk);
  /** Rows parsed and not yet taken by the consumer. */
  rows: CopyRow[] = [];
  error: Error | undefined;
  /** CopyDone seen (the socket is pg's again). */
  copyDone = false;
  /** ReadyForQuery seen: the connection is free for the next query. */
  ready = false;
  #wake: (() => void) | undefined;
  // protocol deframing state
  #type = -1; // type of the message being read; -1: none (the next byte is a type)
  #lenBytes = 0; // bytes of its 4-byte length read so far
  #len = 0;
  #remaining = 0; // payload bytes still to come

  constructor(text: string) { this.text = text; }

  submit(connection: { stream: Readable; query(text: string): void }): void {
    const socket = connection.stream;
    const listeners = socket.listeners('data');
    if (listeners.length !== 1) throw new Error(`COPY: expected pg's one data listener on the socket, found ${listeners.length}`);
    this.#pgData = listeners[0] as (chunk: Buffer) => void;
    this.#socket = socket;
    socket.removeListener('data', this.#pgData);
    socket.on('data', this.#onData);
    connection.query(this.text);
  }

  /** Resolves when there are rows, an error, or the end. */
  wait(): Promise<void> {
    if (this.rows.length || this.error || this.ready) return Promise.resolve();
    return new Promise((resolve) => { this.#wake = resolve; });
  }

  #notify(): void { const w = this.#wake; this.#wake = undefined; w?.(); }

  /** Takes the parsed rows and lets the socket read on. */
  take(): CopyRow[] {
    const rows = this.rows;
    this.rows = [];
    if (!this.copyDone && this.#socket?.isPaused()) this.#socket.resume();
    return rows;
  }

  fail(err: Error): void {
    this.error ??= err;
    this.#notify();
  }

  #receive(chunk: Buffer): void {
    try {
      const n = chunk.length;
      const rowsBefore = this.rows.length;
      let pos = 0;
      while (pos < n) {
        if (this.#type === -1) {
          const t = chunk[pos]!;
          if (t === ERROR_RESPONSE) return this.#detach(chunk.subarray(pos)); // pg parses it and calls handleError
          this.#type = t; this.#lenBytes = 0; this.#len = 0; pos++;
          continue;
        }
        if (this.#lenBytes < 4) {
          while (this.#lenBytes < 4 && pos < n) { this.#len = this.#len * 256 + chunk[pos++]!; this.#lenBytes++; }
          if (this.#lenBytes < 4) break;
          this.#remaining = this.#len - 4;
        }
        const take = Math.min(this.#remaining, n - pos);
        if (this.#type === COPY_DATA && take > 0) this.tuples.feed(chunk.subarray(pos, pos + take), this.rows);
        // other messages inside COPY (CopyOutResponse, NoticeResponse, ParameterStatus, NotificationResponse) are skipped
        pos += take;
        this.#remaining -= take;
        if (this.#remaining > 0) break;
        const type = this.#type;
        this.#type = -1;
        if (type === COPY_DONE) {
          if (!this.tuples.ended) throw new Error('COPY binary: the data ended without its trailer');
          return this.#detach(chunk.subarray(pos));
        }
      }
      // back-pressure: one read ahead of the consumer, no more (its rows wait in `rows` until taken)
      if (this.rows.length > rowsBefore) { if (rowsBefore > 0) this.#socket!.pause(); this.#notify(); }
    } catch (e) {
      this.fail(e as Error);
      this.#socket?.destroy(); // the protocol state is unknown: the connection cannot be used again
    }
  }

  /** Gives the socket back to pg's parser, with the bytes after the COPY's own messages. */
  #detach(rest: Buffer): void {
    const socket = this.#socket!;
    this.copyDone = true;
    socket.removeListener('data', this.#onData);
    socket.on('data', this.#pgData!);
    if (rest.length) this.#pgData!(rest);
    if (socket.isPaused()) socket.resume();
    this.#notify();
  }

  /** Stops reading for good (the caller closes the connection). */
  stop(): void { this.#socket?.removeListener('data', this.#onData); }

  handleError(err: Error): void { this.fail(err); }
  handleCommandComplete(): void {}
  handleReadyForQuery(): void { this.ready = true; this.#notify(); }
}

/**
 * Yields the rows of `COPY (sql) TO STDOUT (FORMAT binary)` in batches (about one batch per socket read). The
 * consumer's pace is the stream's pace: the socket is read on only when the consumer asks for the next batch.
 */
export async function* copyBinaryRows(client: pg.PoolClient | pg.Client, sql: string, signal?: AbortSignal): AsyncGenerator<CopyRow[]> {
  signal?.throwIfAborted();
  const copy = new CopyOut(`COPY (${sql}) TO STDOUT (FORMAT binary)`);
  const onAbort = () => copy.fail(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  let clean = false;
  try {
    void client.query(copy as unknown as pg.QueryConfig);
    for (;;) {
      await copy.wait();
      if (copy.error) throw copy.error;
      if (copy.rows.length) { yield copy.take(); continue; }
      if (copy.ready) break;
    }
    if (!copy.tuples.ended) throw new Error('COPY binary: the data ended without its trailer');
    clean = true;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!clean) {
      // A COPY cut short (abort, a consumer that stopped or failed) leaves the protocol mid-COPY: nothing more can be
      // sent on this connection until the backend has sent every row. So the socket is closed (the backend then ends
      // the COPY and rolls back), and the caller must release the client as broken (`release(true)`); queries on it fail.
      copy.stop();
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
  }
}

/**
 * The big scan's data path: `sql` selects (resource_type, content); each row's content bytes go to its type's writer
 * as they came from the database (as a string only when `trimmers` has the type), then `onBatch` hears how many rows
 * the batch held. Rows come grouped by type in runs, so the writer is looked up once per run.
 */
export async function copyToWriters(client: pg.PoolClient | pg.Client, sql: string, signal: AbortSignal | undefined,
  writerFor: (type: string) => RollingNdjsonWriter, trimmers: ReadonlyMap<string, (stored: string) => string>,
  onBatch: (rows: number) => Promise<void>): Promise<void> {
  let lastTypeBytes: Buffer | undefined;
  let last: RollingNdjsonWriter | undefined;
  let trim: ((stored: string) => string) | undefined;
  for await (const rows of copyBinaryRows(client, sql, signal)) {
    for (const [typeBytes, content] of rows) {
      if (!lastTypeBytes || !typeBytes!.equals(lastTypeBytes)) {
        const type = typeBytes!.toString('latin1');
        lastTypeBytes = Buffer.from(typeBytes!);
        last = writerFor(type);
        trim = trimmers.get(type);
      }
      const line = trim ? trim(content!.toString('utf8')) : content!;
      if (!last!.tryAppend(line)) await last!.append(line);
    }
    await onBatch(rows.length);
  }
}
