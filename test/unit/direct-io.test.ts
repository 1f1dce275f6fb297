/**
 * Direct I/O for local job files (src/jobs/storage/direct-io.ts): files written through the aligned staging buffers
 * are byte-exact at every size around the alignment and the stage size, however the input is cut; positional reads
 * return exactly the asked range at any offset; O_DIRECT really is in use on this file system (the kernel's own view
 * of the descriptor, /proc/self/fdinfo); and where O_DIRECT is refused (at open, or at the first write or read) the
 * same calls carry on buffered with the same result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALIGN, AlignedFileReader, AlignedFileWriter, STAGE } from '../../src/jobs/storage/direct-io.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'direct-io-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const SIZES = [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, STAGE - 1, STAGE, STAGE + 1, 3 * STAGE + 5];
const CUTS = [[7], [100_003], [STAGE], [3 * STAGE + 5], [1, ALIGN, 65_536 + 3]];

async function writeInCuts(file: string, data: Buffer, cuts: number[], direct = true): Promise<AlignedFileWriter> {
  const w = await AlignedFileWriter.create(file, { direct });
  const scratch = Buffer.alloc(Math.max(...cuts));
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = Math.min(cuts[i % cuts.length]!, data.length - off);
    data.copy(scratch, 0, off, off + n);
    await w.write(scratch.subarray(0, n));
    scratch.fill(0xee, 0, n); // the writer must have copied it
    off += n;
  }
  assert.equal(await w.close(), data.length);
  return w;
}

/** The open-file flags the kernel holds for the descriptor open on `file`, or undefined if none is open. */
function kernelFlags(file: string): number | undefined {
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target;
    try { target = fs.readlinkSync(`/proc/self/fd/${fd}`); } catch { continue; }
    if (target !== file) continue;
    const flags = /flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return flags === undefined ? undefined : parseInt(flags, 8);
  }
  return undefined;
}

test('files are byte-exact at every size around ALIGN and STAGE, however the writes are cut, direct and buffered', async () => {
  for (const direct of [true, false]) {
    for (const size of SIZES) {
      const data = randomBytes(size);
      for (const cuts of CUTS) {
        const file = path.join(dir, `w-${direct}-${size}-${cuts.join('.')}`);
        const w = await writeInCuts(file, data, cuts, direct);
        assert.equal(w.direct, direct, 'O_DIRECT in use exactly when asked for (this file system has it)');
        const back = fs.readFileSync(file);
        assert.equal(back.length, size, `${size} bytes in ${cuts}: file length`);
        assert.ok(back.equals(data), `${size} bytes in ${cuts}: contents`);
        fs.rmSync(file);
      }
    }
  }
});

test('the kernel holds the descriptors with O_DIRECT (writing and reading), and without it when not asked', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  const file = path.join(dir, 'flags');
  const w = await AlignedFileWriter.create(file);
  assert.ok((kernelFlags(file)! & fs.constants.O_DIRECT) !== 0, 'writer: O_DIRECT');
  await w.write(randomBytes(ALIGN + 3));
  await w.close();
  assert.equal(kernelFlags(file), undefined, 'closed');
  const r = (await AlignedFileReader.open(file))!;
  assert.ok((kernelFlags(file)! & fs.constants.O_DIRECT) !== 0, 'reader: O_DIRECT');
  await r.close();
  const b = (await AlignedFileReader.open(file, { direct: false }))!;
  assert.equal(kernelFlags(file)! & fs.constants.O_DIRECT, 0, 'EXPORT_DIRECT_IO=false: buffered');
  await b.close();
});

test('positional reads return exactly the range asked for, at any offset, up to the end of the file', async () => {
  const data = randomBytes(3 * STAGE + 5);
  const file = path.join(dir, 'reads');
  await writeInCuts(file, data, [STAGE]);
  for (const direct of [true, false]) {
    const r = (await AlignedFileReader.open(file, { direct }))!;
    assert.equal(r.size, data.length);
    assert.equal(r.direct, direct);
    const ranges: [number, number][] = [[0, 0], [0, 1], [0, 256], [1, ALIGN], [ALIGN - 1, 2], [ALIGN, ALIGN], [90, STAGE + 16],
      [90 + STAGE + 16, STAGE + 16], [STAGE - 5, AlignedFileReader.maxRead], [data.length - 3, 100], [data.length, 10], [data.length + 5, 10]];
    for (let i = 0; i < 40; i++) ranges.push([Math.floor(Math.random() * data.length), Math.floor(Math.random() * AlignedFileReader.maxRead)]);
    for (const [pos, len] of ranges) {
      const got = await r.read(pos, len);
      const want = data.subarray(Math.min(pos, data.length), Math.min(pos + len, data.length));
      assert.ok(got.equals(want), `read(${pos}, ${len}) direct=${direct}: ${got.length} bytes, want ${want.length}`);
    }
    assert.equal(r.direct, direct, 'every read was aligned (a misaligned one is refused, and the reader turns buffered)');
    await assert.rejects(r.read(0, AlignedFileReader.maxRead + 1), /larger than/);
    await r.close();
    await assert.rejects(r.read(0, 1), /after close/);
  }
  assert.equal(await AlignedFileReader.open(path.join(dir, 'no-such-file')), undefined);
});

test('where O_DIRECT is refused, at open or at the first write or read, the same calls carry on buffered', async () => {
  const data = randomBytes(2 * STAGE + 77);
  const realOpen = fs.promises.open;
  const isDirect = (flags: unknown) => typeof flags === 'number' && (flags & fs.constants.O_DIRECT) !== 0;
  try {
    // a file system without O_DIRECT (EINVAL at open)
    fs.promises.open = (async (p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
      if (isDirect(flags)) throw Object.assign(new Error('EINVAL: invalid argument, open'), { code: 'EINVAL' });
      return realOpen(p, flags, mode);
    }) as typeof fs.promises.open;
    let file = path.join(dir, 'refused-at-open');
    let w = await writeInCuts(file, data, [100_003]);
    assert.equal(w.direct, false);
    assert.ok(fs.readFileSync(file).equals(data));
    let r = (await AlignedFileReader.open(file))!;
    assert.equal(r.direct, false);
    assert.ok((await r.read(5, 1000)).equals(data.subarray(5, 1005)));
    await r.close();

    // one that opens with O_DIRECT but refuses the I/O (alignment stricter than ALIGN): first write, first read
    fs.promises.open = (async (p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
      const fh = await realOpen(p, flags, mode);
      if (isDirect(flags)) {
        const refuse = async () => { throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' }); };
        Object.assign(fh, { write: refuse, read: refuse });
      }
      return fh;
    }) as typeof fs.promises.open;
    file = path.join(dir, 'refused-at-io');
    w = await writeInCuts(file, data, [STAGE]);
    assert.equal(w.direct, false, 'reopened buffered after the refusal');
    assert.ok(fs.readFileSync(file).equals(data), 'nothing lost across the switch');
    r = (await AlignedFileReader.open(file))!;
    assert.equal(r.direct, true, 'opened direct');
    assert.ok((await r.read(ALIGN + 1, STAGE)).equals(data.subarray(ALIGN + 1, ALIGN + 1 + STAGE)));
    assert.equal(r.direct, false, 'reopened buffered after the refusal');
    await r.close();
  } finally { fs.promises.open = realOpen; }
});

test('a failed device write (disk full) fails the next write or the close, and the writer still closes its file', async () => {
  const realOpen = fs.promises.open;
  let writes = 0;
  try {
    fs.promises.open = (async (p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
      const fh = await realOpen(p, flags, mode);
      const write = fh.write.bind(fh) as (...a: unknown[]) => Promise<unknown>;
      Object.assign(fh, { write: async (...a: unknown[]) => {
        if (++writes > 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return write(...a);
      } });
      return fh;
    }) as typeof fs.promises.open;
    const file = path.join(dir, 'disk-full');
    const w = await AlignedFileWriter.create(file);
    await w.write(randomBytes(STAGE)); // queued: the first device write succeeds
    await assert.rejects(async () => { for (let i = 0; i < 4; i++) await w.write(randomBytes(STAGE)); }, /ENOSPC/);
    await assert.rejects(w.close(), /ENOSPC/);
    assert.equal(kernelFlags(file), undefined, 'descriptor closed');
    fs.rmSync(file);
  } finally { fs.promises.open = realOpen; }
});

test('an aborted writer closes its file; writes after close are refused', async () => {
  const file = path.join(dir, 'aborted');
  const w = await AlignedFileWriter.create(file);
  await w.write(randomBytes(STAGE + 10));
  await w.abort();
  assert.equal(kernelFlags(file), undefined, 'descriptor closed');
  await assert.rejects(w.write(Buffer.from('x')), /after close/);
  fs.rmSync(file);
});
