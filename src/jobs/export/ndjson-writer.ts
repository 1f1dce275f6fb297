/**
 * NDJSON files for one manifest entry type (e.g. Practitioner), split after `maxLines` lines into
 * `Practitioner-1.ndjson`, `Practitioner-2.ndjson`, ... and optionally gzip-compressed on the way to storage.
 *
 * Lines arrive one at a time as the JSON text stored in the database (nothing is parsed here), as a string or as the
 * bytes the database sent, and are encoded or copied straight into one of two reusable 256 KiB buffers: while one is being written, the other fills. So memory stays flat
 * however large the export, and no per-batch strings or buffers are built.
 */
import zlib from 'node:zlib';
import type { FileStorage, FileWriter } from '../storage/storage.ts';
import type { ExportFile } from './types.ts';

const BUFFER_BYTES = 256 * 1024;
const NEWLINE = 10;
const NEWLINE_BUF = Buffer.from('\n');

/** Room a line can need: its bytes, or for a string 3 bytes per UTF-16 code unit (the most UTF-8 ever takes). */
const maxBytes = (line: string | Buffer) => (typeof line === 'string' ? line.length * 3 : line.length);
const put = (buf: Buffer, line: string | Buffer, at: number) => (typeof line === 'string' ? buf.write(line, at, 'utf8') : line.copy(buf, at));

interface OpenFile { writer: FileWriter; gz?: zlib.Gzip; drained: Promise<void>; file: ExportFile }

export class RollingNdjsonWriter {
  readonly #storage: FileStorage;
  readonly #prefix: string;
  readonly #kind: ExportFile['kind'];
  readonly #type: string;
  readonly #baseName: string;
  readonly #maxLines: number;
  readonly #gzip: boolean;
  /** Number of this writer's first file (files before it were written elsewhere: the export's scan thread). */
  readonly #firstFile: number;
  readonly files: ExportFile[] = [];
  #out: OpenFile | undefined;
  #lines = 0;
  #buffers: [Buffer, Buffer] | undefined;
  #buf: Buffer | undefined;
  #used = 0;
  /** The write of the other buffer, in flight. */
  #inflight: Promise<void> = Promise.resolve();

  constructor(o: { storage: FileStorage; prefix: string; kind: ExportFile['kind']; type: string; baseName: string; maxLines: number; gzip: boolean; firstFile?: number }) {
    this.#storage = o.storage; this.#prefix = o.prefix; this.#kind = o.kind; this.#type = o.type; this.#baseName = o.baseName;
    this.#maxLines = o.maxLines; this.#gzip = o.gzip; this.#firstFile = o.firstFile ?? 1;
  }

  /** Total lines written so far. */
  get lines(): number { return this.#lines; }

  async #open(): Promise<OpenFile> {
    const name = `${this.#baseName}-${this.#firstFile + this.files.length}.ndjson`;
    const key = `${this.#prefix}${name}${this.#gzip ? '.gz' : ''}`;
    const writer = await this.#storage.createWriter(key);
    const file: ExportFile = { kind: this.#kind, type: this.#type, name, key, gzip: this.#gzip, count: 0, bytes: 0 };
    this.files.push(file);
    this.#buffers ??= [Buffer.allocUnsafe(BUFFER_BYTES), Buffer.allocUnsafe(BUFFER_BYTES)];
    this.#buf = this.#buffers[0];
    this.#used = 0;
    if (!this.#gzip) return { writer, file, drained: Promise.resolve() };
    const gz = zlib.createGzip({ level: 6, chunkSize: 1 << 16 });
    // the compressor's output goes to storage in order; the compressor waits for storage, so memory stays bounded
    let chain = Promise.resolve();
    gz.on('data', (chunk: Buffer) => { gz.pause(); chain = chain.then(() => writer.write(chunk)).finally(() => gz.resume()); });
    const drained = new Promise<void>((resolve, reject) => { gz.on('end', () => { chain.then(resolve, reject); }); gz.on('error', reject); });
    drained.catch(() => {});
    return { writer, gz, file, drained };
  }

  /** Hands the filled buffer to storage and switches to the other one (after its previous write has finished). */
  async #flush(): Promise<void> {
    const out = this.#out!;
    const full = this.#buf!;
    const len = this.#used;
    await this.#inflight;
    if (len === 0) return;
    const chunk = full.subarray(0, len);
    out.file.bytes += len;
    this.#inflight = out.gz
      ? new Promise<void>((resolve, reject) => out.gz!.write(chunk, (e) => (e ? reject(e) : resolve())))
      : out.writer.write(chunk);
    this.#inflight.catch(() => {});
    this.#buf = full === this.#buffers![0] ? this.#buffers![1] : this.#buffers![0];
    this.#used = 0;
  }

  /** Appends a line without waiting, when there is room and no file boundary is reached; false: use `append`. */
  tryAppend(line: string | Buffer): boolean {
    const out = this.#out;
    if (!out || this.#used + maxBytes(line) + 1 > BUFFER_BYTES || out.file.count + 1 >= this.#maxLines) return false;
    this.#used += put(this.#buf!, line, this.#used);
    this.#buf![this.#used++] = NEWLINE;
    out.file.count++;
    this.#lines++;
    return true;
  }

  /** Appends one line (a JSON text without its newline, as a string or as UTF-8 bytes). */
  async append(line: string | Buffer): Promise<void> {
    const out = this.#out ??= await this.#open();
    if (this.#used + maxBytes(line) + 1 > BUFFER_BYTES) {
      await this.#flush();
      if (maxBytes(line) + 1 > BUFFER_BYTES) { // a line larger than a buffer: written on its own
        await this.#inflight;
        const big = typeof line === 'string' ? Buffer.from(`${line}\n`, 'utf8') : Buffer.concat([line, NEWLINE_BUF]);
        out.file.bytes += big.length;
        if (out.gz) await new Promise<void>((resolve, reject) => out.gz!.write(big, (e) => (e ? reject(e) : resolve())));
        else await out.writer.write(big);
        return this.#counted(out);
      }
    }
    this.#used += put(this.#buf!, line, this.#used);
    this.#buf![this.#used++] = NEWLINE;
    return this.#counted(out);
  }

  async #counted(out: OpenFile): Promise<void> {
    out.file.count++;
    this.#lines++;
    if (out.file.count >= this.#maxLines) await this.#closeCurrent();
  }

  /** Appends lines in order. */
  async write(lines: string[]): Promise<void> {
    for (const l of lines) await this.append(l);
  }

  async #closeCurrent(): Promise<void> {
    const out = this.#out;
    if (!out) return;
    await this.#flush();
    await this.#inflight;
    this.#out = undefined;
    if (out.gz) { out.gz.end(); await out.drained; }
    await out.writer.close();
  }

  /** Finishes the last file; returns every file written (none if there were no lines). */
  async close(): Promise<ExportFile[]> {
    await this.#closeCurrent();
    return this.files;
  }

  async abort(): Promise<void> {
    const out = this.#out;
    this.#out = undefined;
    await this.#inflight.catch(() => {});
    if (out) { out.gz?.destroy(); await out.writer.abort(); }
  }
}
