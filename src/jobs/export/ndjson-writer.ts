/**
 * NDJSON files for one manifest entry type (e.g. Practitioner), split after `maxLines` lines into
 * `Practitioner-1.ndjson`, `Practitioner-2.ndjson`, ... and optionally gzip-compressed on the way to storage.
 * Lines arrive in batches as the JSON text stored in the database; nothing is parsed here.
 */
import zlib from 'node:zlib';
import type { FileStorage, FileWriter } from '../storage/storage.ts';
import type { ExportFile } from './types.ts';

const NL = Buffer.from('\n');

interface OpenFile { writer: FileWriter; gz?: zlib.Gzip; drained: Promise<void>; file: ExportFile }

export class RollingNdjsonWriter {
  readonly #storage: FileStorage;
  readonly #prefix: string;
  readonly #kind: ExportFile['kind'];
  readonly #type: string;
  readonly #baseName: string;
  readonly #maxLines: number;
  readonly #gzip: boolean;
  readonly files: ExportFile[] = [];
  #out: OpenFile | undefined;
  #lines = 0;

  constructor(o: { storage: FileStorage; prefix: string; kind: ExportFile['kind']; type: string; baseName: string; maxLines: number; gzip: boolean }) {
    this.#storage = o.storage; this.#prefix = o.prefix; this.#kind = o.kind; this.#type = o.type; this.#baseName = o.baseName;
    this.#maxLines = o.maxLines; this.#gzip = o.gzip;
  }

  /** Total lines written so far. */
  get lines(): number { return this.#lines; }

  async #open(): Promise<OpenFile> {
    const name = `${this.#baseName}-${this.files.length + 1}.ndjson`;
    const key = `${this.#prefix}${name}${this.#gzip ? '.gz' : ''}`;
    const writer = await this.#storage.createWriter(key);
    const file: ExportFile = { kind: this.#kind, type: this.#type, name, key, gzip: this.#gzip, count: 0, bytes: 0 };
    this.files.push(file);
    if (!this.#gzip) return { writer, file, drained: Promise.resolve() };
    const gz = zlib.createGzip({ level: 6, chunkSize: 1 << 16 });
    // the compressor's output goes to storage in order; writes wait for it so memory stays bounded
    let chain = Promise.resolve();
    gz.on('data', (chunk: Buffer) => { gz.pause(); chain = chain.then(() => writer.write(chunk)).finally(() => gz.resume()); });
    const drained = new Promise<void>((resolve, reject) => { gz.on('end', () => { chain.then(resolve, reject); }); gz.on('error', reject); });
    drained.catch(() => {});
    return { writer, gz, file, drained };
  }

  async #writeChunk(chunk: Buffer): Promise<void> {
    const out = this.#out!;
    out.file.bytes += chunk.length;
    if (!out.gz) return out.writer.write(chunk);
    if (!out.gz.write(chunk)) await new Promise<void>((resolve) => out.gz!.once('drain', resolve));
  }

  async #closeCurrent(): Promise<void> {
    const out = this.#out;
    if (!out) return;
    this.#out = undefined;
    if (out.gz) { out.gz.end(); await out.drained; }
    await out.writer.close();
  }

  /** Appends lines (JSON texts without their newline). */
  async write(lines: string[]): Promise<void> {
    let i = 0;
    while (i < lines.length) {
      const out = this.#out ??= await this.#open();
      const room = this.#maxLines - out.file.count;
      const n = Math.min(room, lines.length - i);
      const slice = i === 0 && n === lines.length ? lines : lines.slice(i, i + n);
      const buf = Buffer.from(slice.join('\n'), 'utf8');
      await this.#writeChunk(buf.length > 0 ? Buffer.concat([buf, NL], buf.length + 1) : NL);
      out.file.count += n;
      this.#lines += n;
      i += n;
      if (out.file.count >= this.#maxLines) await this.#closeCurrent();
    }
  }

  /** Finishes the last file; returns every file written (none if there were no lines). */
  async close(): Promise<ExportFile[]> {
    await this.#closeCurrent();
    return this.files;
  }

  async abort(): Promise<void> {
    const out = this.#out;
    this.#out = undefined;
    if (out) { out.gz?.destroy(); await out.writer.abort(); }
  }
}
