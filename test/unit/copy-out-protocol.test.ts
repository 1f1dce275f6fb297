/**
 * The COPY reader's own protocol handling (CopyOut in src/jobs/export/copy-rows.ts), without a database: the backend's
 * byte stream — CopyOutResponse, one CopyData per row (binary COPY format), a NoticeResponse in between, CopyDone,
 * then CommandComplete and ReadyForQuery for pg — cut into socket reads at every possible place. Rows must come out
 * exactly, and pg's parser must get back exactly the bytes after CopyDone (or from an ErrorResponse on).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { CopyOut, CopyTupleParser, type CopyRow } from '../../src/jobs/export/copy-rows.ts';

const msg = (type: string, payload: Buffer) => { const h = Buffer.alloc(5); h.write(type, 'latin1'); h.writeUInt32BE(payload.length + 4, 1); return Buffer.concat([h, payload]); };
const i16 = (n: number) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const i32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const tuple = (cols: (Buffer | null)[]) => Buffer.concat([i16(cols.length), ...cols.flatMap((c) => (c === null ? [i32(-1)] : [i32(c.length), c]))]);
const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), i32(0), i32(0)]);

const ROWS: (Buffer | null)[][] = Array.from({ length: 40 }, (_, i) => [
  Buffer.from(i % 3 ? 'Practitioner' : 'Location'),
  i % 7 === 3 ? null : i % 11 === 5 ? Buffer.alloc(0) : Buffer.from(JSON.stringify({ id: `r${i}`, text: 'é✓'.repeat(i * 5) })),
]);

/** The backend's bytes for one COPY: the header rides in the first row's message, the trailer in its own (as PostgreSQL sends them). */
function backend(rows: (Buffer | null)[][], notice = true): { bytes: Buffer; after: Buffer } {
  const parts = [msg('H', Buffer.from([1, 0, 2, 0, 1, 0, 1]))];
  rows.forEach((r, i) => {
    parts.push(msg('d', i === 0 ? Buffer.concat([HEADER, tuple(r)]) : tuple(r)));
    if (notice && i === 5) parts.push(msg('N', Buffer.from('SNOTICE\0\0')));
  });
  parts.push(msg('d', i16(-1)), msg('c', Buffer.alloc(0)));
  const after = Buffer.concat([msg('C', Buffer.from(`COPY ${rows.length}\0`)), msg('Z', Buffer.from('T'))]);
  return { bytes: Buffer.concat([...parts, after]), after };
}

/** A socket stand-in: pg's data listener attached, the COPY submitted, `bytes` delivered in reads of the given sizes. */
async function run(bytes: Buffer, cuts: number[]): Promise<{ rows: string[][]; handedBack: Buffer; error?: Error }> {
  const socket = new EventEmitter() as EventEmitter & { pause(): void; resume(): void; isPaused(): boolean; destroy(): void };
  let paused = false;
  socket.pause = () => { paused = true; }; socket.resume = () => { paused = false; }; socket.isPaused = () => paused; socket.destroy = () => {};
  const handed: Buffer[] = [];
  socket.on('data', (c: Buffer) => handed.push(Buffer.from(c)));
  const copy = new CopyOut('COPY x TO STDOUT (FORMAT binary)');
  copy.submit({ stream: socket as never, query: () => {} });
  const rows: string[][] = [];
  const take = (rs: CopyRow[]) => { for (const r of rs) rows.push(r.map((c) => (c === null ? '<null>' : c.toString('utf8')))); };
  for (let off = 0, i = 0; off < bytes.length; i++) {
    const n = Math.min(cuts[i % cuts.length], bytes.length - off);
    // a fresh buffer per read, as net.Socket delivers them; the rows (views of them) are taken before the next read
    socket.emit('data', Buffer.from(bytes.subarray(off, off + n)));
    off += n;
    take(copy.take());
    if (copy.error) return { rows, handedBack: Buffer.concat(handed), error: copy.error };
  }
  return { rows, handedBack: Buffer.concat(handed) };
}

const expected = ROWS.map((r) => r.map((c) => (c === null ? '<null>' : c.toString('utf8'))));

test('rows and the bytes handed back to pg are exact however the socket reads are cut', async () => {
  const { bytes, after } = backend(ROWS);
  for (const cuts of [[1], [2], [3], [5], [7, 1, 13], [64], [100, 3], [1000], [bytes.length]]) {
    const r = await run(bytes, cuts);
    assert.equal(r.error, undefined, `cuts ${cuts}`);
    assert.deepEqual(r.rows, expected, `cuts ${cuts}`);
    assert.ok(r.handedBack.equals(after), `cuts ${cuts}: pg gets CommandComplete and ReadyForQuery`);
  }
  // every single cut position
  for (let cut = 1; cut < bytes.length; cut++) {
    const r = await run(bytes, [cut, bytes.length]);
    assert.deepEqual(r.rows, expected, `cut at ${cut}`);
    assert.ok(r.handedBack.equals(after), `cut at ${cut}`);
  }
});

test('an ErrorResponse is handed to pg from its first byte, with the rows before it delivered', async () => {
  const err = Buffer.concat([msg('E', Buffer.from('SERROR\0C57014\0Mcanceling statement\0\0')), msg('Z', Buffer.from('I'))]);
  const { bytes } = backend(ROWS.slice(0, 3));
  const cutAt = bytes.indexOf(msg('d', i16(-1)));
  const stream = Buffer.concat([bytes.subarray(0, cutAt), err]);
  for (const cuts of [[1], [4], [9, 2], [stream.length]]) {
    const r = await run(stream, cuts);
    assert.deepEqual(r.rows, expected.slice(0, 3));
    assert.ok(r.handedBack.equals(err), `cuts ${cuts}`);
  }
});

test('the tuple parser gives the same rows for every piece size, and refuses a bad signature or data after the trailer', () => {
  const data = Buffer.concat([HEADER, ...ROWS.map(tuple), i16(-1)]);
  for (const size of [1, 2, 3, 19, 20, 64, 4096, data.length]) {
    const p = new CopyTupleParser();
    const rows: CopyRow[] = [];
    for (let off = 0; off < data.length; off += size) p.feed(data.subarray(off, off + size), rows);
    assert.ok(p.ended);
    assert.deepEqual(rows.map((r) => r.map((c) => (c === null ? '<null>' : c.toString('utf8')))), expected, `pieces of ${size}`);
  }
  assert.throws(() => new CopyTupleParser().feed(Buffer.concat([Buffer.from('PGCOPY\nX\r\n\0', 'latin1'), i32(0), i32(0)]), []), /bad signature/);
  assert.throws(() => new CopyTupleParser().feed(Buffer.concat([HEADER, i16(-1), i16(0)]), []), /after the trailer/);
});
