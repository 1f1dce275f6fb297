/**
 * Export files in a local folder (the default: DATA_DIR/exports). A file is written as `<name>.partial` and renamed
 * into place when complete, so it appears atomically. Deleting a file a download is reading does not cut the
 * download short (the open descriptor keeps the data until it is closed). Files are written and read with O_DIRECT
 * (direct-io.ts) unless `direct` is false (EXPORT_DIRECT_IO) or the file system refuses it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AlignedFileReader, AlignedFileWriter } from './direct-io.ts';
import { assertSafeKey, storageId, type FileStorage, type FileWriter, type StoredFile } from './storage.ts';

/** A local file's writer also takes bytes synchronously (the encrypted storage's sealer hands it each ciphertext). */
export interface LocalFileWriter extends FileWriter {
  /** Copies `data` in at once; follow with `drain()`. */
  append(data: Buffer): void;
  /** The back-pressure after appends: resolves once the device has caught up enough. */
  drain(): Promise<void>;
}

export class LocalFileStorage implements FileStorage {
  readonly kind = 'local' as const;
  readonly root: string;
  readonly id: string;
  readonly direct: boolean;
  constructor(root: string, { direct = true }: { direct?: boolean } = {}) {
    this.root = path.resolve(root); this.id = storageId('local', this.root); this.direct = direct;
  }

  #path(key: string): string {
    assertSafeKey(key);
    const p = path.resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + path.sep)) throw new Error(`storage key ${key} escapes the root`);
    return p;
  }

  async createWriter(key: string): Promise<LocalFileWriter> {
    const final = this.#path(key);
    const partial = `${final}.partial`;
    await fs.promises.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
    const file = await AlignedFileWriter.create(partial, { direct: this.direct });
    let open = true;
    return {
      write: (chunk) => file.write(chunk),
      append: (data) => file.append(data),
      drain: () => file.drain(),
      close: async () => {
        open = false;
        const bytes = await file.close();
        await fs.promises.rename(partial, final);
        return bytes;
      },
      abort: async () => {
        if (open) { open = false; await file.abort().catch(() => {}); }
        await fs.promises.rm(partial, { force: true });
      },
    };
  }

  async open(key: string): Promise<StoredFile | undefined> {
    const file = await this.openReader(key);
    if (!file) return undefined;
    // plain (unencrypted) local files are for tests and tools; each read's view is copied out before the next read
    let pos = 0;
    const stream = new Readable({
      read() {
        file.read(pos, 1 << 20).then((view) => {
          pos += view.length;
          this.push(view.length ? Buffer.from(view) : null);
        }, (e: Error) => this.destroy(e));
      },
      destroy(err, cb) { file.close().then(() => cb(err), () => cb(err)); },
    });
    return { stream, size: file.size };
  }

  /** The file opened for positional reads (the caller closes it); undefined if there is none under the key. */
  openReader(key: string): Promise<AlignedFileReader | undefined> {
    return AlignedFileReader.open(this.#path(key), { direct: this.direct });
  }

  async deletePrefix(prefix: string): Promise<void> {
    const p = this.#path(prefix.replace(/\/$/, ''));
    await fs.promises.rm(p, { recursive: true, force: true });
  }
}
