/**
 * Direct I/O (O_DIRECT) for local job files: export NDJSON is written once, read by a download or two, and deleted,
 * so it has no business in the page cache. Written buffered, a 2 GB export dirties 2 GB of page cache: the kernel
 * spends CPU allocating and copying into it, flushing it, and it pushes PostgreSQL's working set out of memory on a
 * machine they share. With O_DIRECT the device reads straight from (and writes straight into) our buffers. Measured
 * on the bench machine: 2.14 GB written buffered took 5.5 CPU seconds, direct 0.3 (docs/adr/0013-direct-io.md).
 *
 * O_DIRECT needs buffers, file offsets and lengths aligned to the device's block size. Node has no aligned
 * allocator, so the buffers here are carved from WebAssembly.Memory, which V8 maps with its page allocator (so
 * page-aligned; malloc'd Buffers are only 16-byte aligned). ALIGN (4 KiB) covers every block device with ≤ 4 KiB
 * logical blocks. The kernel answers anything misaligned, and a file system without O_DIRECT, with EINVAL: the file
 * is then reopened buffered and the operation retried (MaybeDirectFile), so direct I/O is only ever an optimisation.
 * test/unit/direct-io.test.ts checks that O_DIRECT really is in use where the file system has it.
 *
 * Hand-written: no maintained npm package does O_DIRECT with aligned buffers for Node without a native addon.
 */
import fs from 'node:fs';

export const ALIGN = 4096;
/** A writer's staging buffer: each device write but a file's last is this size. */
export const STAGE = 1024 * 1024;
/** A reader's window: one read returns up to WINDOW − 2 × ALIGN bytes (a sealed 1 MiB chunk fits). */
export const WINDOW = 2 * 1024 * 1024;
const MEMORY_BYTES = 32 * 1024 * 1024; // per WebAssembly.Memory: address space; pages are committed only when touched

/**
 * A pool of page-aligned buffers of one size (one per JS thread: a worker thread has its own modules). Buffers are reused, never freed: memory touched once stays
 * mapped, so a pool costs at most (buffers in use at the busiest moment) × size of RSS, and no fresh pages per file.
 */
class AlignedPool {
  readonly #size: number;
  readonly #free: Buffer[] = [];
  constructor(size: number) { this.#size = size; }
  take(): Buffer {
    let buf = this.#free.pop();
    if (!buf) {
      const pages = MEMORY_BYTES / 65536;
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      for (let off = MEMORY_BYTES - this.#size; off > 0; off -= this.#size) this.#free.push(Buffer.from(memory.buffer, off, this.#size));
      buf = Buffer.from(memory.buffer, 0, this.#size);
    }
    return buf;
  }
  give(buf: Buffer): void { this.#free.push(buf); }
}
const stages = new AlignedPool(STAGE);
const windows = new AlignedPool(WINDOW);

const O_DIRECT = fs.constants.O_DIRECT ?? 0;

const roundUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const isEinval = (e: unknown) => (e as NodeJS.ErrnoException).code === 'EINVAL';

/**
 * A file descriptor opened with O_DIRECT when asked for and possible. A file system that refuses O_DIRECT says so with
 * EINVAL, at open or (one that wants larger alignment than ALIGN) at the first read or write: either way the file is
 * reopened buffered and the operation retried, so direct I/O can only ever be an optimisation.
 */
class MaybeDirectFile {
  #fh: fs.promises.FileHandle;
  #direct: boolean;
  readonly #path: string;
  readonly #reopenFlags: number;

  private constructor(fh: fs.promises.FileHandle, direct: boolean, path: string, reopenFlags: number) {
    this.#fh = fh; this.#direct = direct; this.#path = path; this.#reopenFlags = reopenFlags;
  }

  /** Opens `path` with `flags` (+ O_DIRECT if `direct`); a reopen after a refusal uses `reopenFlags`. */
  static async open(path: string, flags: number, reopenFlags: number, direct: boolean, mode?: number): Promise<MaybeDirectFile> {
    if (direct && O_DIRECT) {
      try { return new MaybeDirectFile(await fs.promises.open(path, flags | O_DIRECT, mode), true, path, reopenFlags); } catch (e) {
        if (!isEinval(e)) throw e;
      }
    }
    return new MaybeDirectFile(await fs.promises.open(path, flags, mode), false, path, reopenFlags);
  }

  get direct(): boolean { return this.#direct; }
  get fd(): number { return this.#fh.fd; }

  /** Runs `op` on the descriptor; if O_DIRECT is refused, once more on a buffered one (which is then kept). */
  async io<T>(op: (fh: fs.promises.FileHandle) => Promise<T>): Promise<T> {
    try { return await op(this.#fh); } catch (e) {
      if (!this.#direct || !isEinval(e)) throw e;
      const buffered = await fs.promises.open(this.#path, this.#reopenFlags);
      await this.#fh.close().catch(() => {});
      this.#fh = buffered; this.#direct = false;
      return op(this.#fh);
    }
  }

  close(): Promise<void> { return this.#fh.close(); }
}

/**
 * Writes a new file through an aligned staging buffer. A full stage is queued for the device and writes go on into a
 * fresh one from the pool; the written stage goes back to the pool, so the many files of an export open at once hold
 * one stage each, plus the few being written. Device writes run one after another (one descriptor operation at a
 * time). Every device write but the last is a whole STAGE; the last is padded to ALIGN and the file truncated to its
 * true length.
 */
export class AlignedFileWriter {
  readonly #file: MaybeDirectFile;
  #stage: Buffer | undefined;
  #staged = 0;
  #pos = 0;
  /** The last queued device write (each waits for the one before). */
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;
  #failed: Error | undefined;
  /** Bytes taken so far. */
  bytes = 0;

  private constructor(file: MaybeDirectFile) {
    this.#file = file;
    this.#stage = stages.take();
  }

  /** Creates (truncates) `path` for writing, with O_DIRECT unless `direct` is false or the file system refuses it. */
  static async create(path: string, { direct = true, mode = 0o600 }: { direct?: boolean; mode?: number } = {}): Promise<AlignedFileWriter> {
    const { O_WRONLY, O_CREAT, O_TRUNC } = fs.constants;
    return new AlignedFileWriter(await MaybeDirectFile.open(path, O_WRONLY | O_CREAT | O_TRUNC, O_WRONLY, direct, mode));
  }

  /** Whether the file is (still) written with O_DIRECT. */
  get direct(): boolean { return this.#file.direct; }

  /**
   * Takes `data` at once (copied: the caller may reuse it when this returns); full stages are queued for the device.
   * Follow with `drain()`, which is the back-pressure. Throws if an earlier device write failed.
   */
  append(data: Buffer): void {
    if (!this.#stage) throw new Error('AlignedFileWriter: write after close');
    if (this.#failed) throw this.#failed;
    let off = 0;
    while (off < data.length) {
      const n = data.copy(this.#stage, this.#staged, off);
      this.#staged += n; off += n; this.bytes += n;
      if (this.#staged === STAGE) this.#queueStage();
    }
  }

  /** Resolves once at most one device write is left in flight (the stage being filled meanwhile). */
  async drain(): Promise<void> {
    if (this.#queued > 1) await this.#tail;
    if (this.#failed) throw this.#failed;
  }

  /** `append` then `drain`. */
  async write(data: Buffer): Promise<void> {
    this.append(data);
    await this.drain();
  }

  #queueStage(): void {
    const full = this.#stage!, pos = this.#pos;
    this.#pos += STAGE;
    this.#stage = stages.take(); this.#staged = 0;
    this.#queued++;
    this.#tail = this.#tail.then(async () => {
      try { if (!this.#failed) await this.#writeAll(full, STAGE, pos); } catch (e) { this.#failed = e as Error; } finally {
        stages.give(full); this.#queued--;
      }
    });
  }

  async #writeAll(buf: Buffer, length: number, pos: number): Promise<void> {
    // a direct write is all or nothing in practice; a short one (disk full) continues from where it stopped
    for (let off = 0; off < length;) {
      const { bytesWritten } = await this.#file.io((fh) => fh.write(buf, off, length - off, pos + off));
      if (bytesWritten === 0) throw new Error('write made no progress');
      off += bytesWritten;
    }
  }

  /** Writes what is staged, sets the file's length, closes it; resolves with the bytes written. */
  async close(): Promise<number> {
    try {
      await this.#tail;
      if (this.#failed) throw this.#failed;
      if (this.#staged > 0) {
        const padded = this.direct ? roundUp(this.#staged) : this.#staged;
        this.#stage!.fill(0, this.#staged, padded);
        await this.#writeAll(this.#stage!, padded, this.#pos);
        if (padded !== this.#staged) await this.#file.io((fh) => fh.truncate(this.#pos + this.#staged));
      }
    } finally { await this.#release(); }
    return this.bytes;
  }

  /** Closes without finishing (the caller deletes the file). */
  async abort(): Promise<void> {
    await this.#tail;
    await this.#release();
  }

  async #release(): Promise<void> {
    if (!this.#stage) return;
    stages.give(this.#stage);
    this.#stage = undefined;
    await this.#file.close();
  }
}

/** A positional read into `buf` (at `offset`, up to `length` bytes, from file position `position`): bytes read. */
type Pread = (buf: Buffer, offset: number, length: number, position: number) => Promise<number>;

/**
 * Positional reads of a file through one aligned window: `read(pos, length)` reads the aligned blocks around the
 * range and returns a view of it, valid until the next read. Consecutive ranges share at most one block at their
 * seam, which is read twice (0.4 % more at 1 MiB reads).
 */
export class AlignedFileReader {
  readonly size: number;
  readonly #pread: Pread;
  readonly #isDirect: () => boolean;
  readonly #closeFile: () => Promise<void>;
  readonly #fd: number;
  #window: Buffer | undefined;

  private constructor(o: { pread: Pread; size: number; direct: () => boolean; close: () => Promise<void>; fd: number }) {
    this.#pread = o.pread; this.size = o.size; this.#isDirect = o.direct; this.#closeFile = o.close; this.#fd = o.fd;
    this.#window = windows.take();
  }

  /** Opens `path` for reading; undefined if it does not exist. */
  static async open(path: string, { direct = true }: { direct?: boolean } = {}): Promise<AlignedFileReader | undefined> {
    let file: MaybeDirectFile;
    try { file = await MaybeDirectFile.open(path, fs.constants.O_RDONLY, fs.constants.O_RDONLY, direct); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const { size } = await file.io((fh) => fh.stat());
      return new AlignedFileReader({
        pread: async (buf, offset, length, position) => (await file.io((fh) => fh.read(buf, offset, length, position))).bytesRead,
        size, direct: () => file.direct, close: () => file.close(), fd: file.fd,
      });
    } catch (e) { await file.close(); throw e; }
  }

  /**
   * Reads through descriptor `fd`, opened (and closed, after this reader) by another thread of this process: threads
   * share the process's descriptors, so a download thread reads the very file the request opened, even if it has been
   * deleted since. `direct`: whether the descriptor has O_DIRECT (then reads stay aligned, as always).
   */
  static onDescriptor(fd: number, size: number, direct: boolean): AlignedFileReader {
    return new AlignedFileReader({
      pread: (buf, offset, length, position) => new Promise((resolve, reject) => {
        fs.read(fd, buf, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
      }),
      size, direct: () => direct, close: async () => {}, fd,
    });
  }

  /** Whether the file is (still) read with O_DIRECT. */
  get direct(): boolean { return this.#isDirect(); }

  /** The descriptor reads go through (for `onDescriptor` in another thread; valid until this reader is closed). */
  get fd(): number { return this.#fd; }

  /** The largest range one read can return. */
  static readonly maxRead = WINDOW - 2 * ALIGN;

  /** Bytes [pos, pos + length) of the file (fewer only past its end), as a view valid until the next read. */
  async read(pos: number, length: number): Promise<Buffer> {
    const window = this.#window;
    if (!window) throw new Error('AlignedFileReader: read after close');
    if (length > AlignedFileReader.maxRead) throw new Error(`AlignedFileReader: a read of ${length} bytes is larger than ${AlignedFileReader.maxRead}`);
    const want = Math.max(0, Math.min(length, this.size - pos));
    const start = pos - (pos % ALIGN);
    const span = roundUp(pos + want) - start;
    let got = 0;
    while (got < pos + want - start) {
      const bytesRead = await this.#pread(window, got, span - got, start + got);
      if (bytesRead === 0) break; // the file shrank under us: the caller sees a short read
      got += bytesRead;
    }
    return window.subarray(pos - start, Math.min(pos - start + want, got));
  }

  /** Gives the window back and closes the file (not a descriptor another thread owns). */
  async close(): Promise<void> {
    if (!this.#window) return;
    windows.give(this.#window);
    this.#window = undefined;
    await this.#closeFile();
  }
}
