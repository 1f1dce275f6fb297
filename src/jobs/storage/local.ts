/**
 * Export files in a local folder (the default: DATA_DIR/exports). A file is written as `<name>.partial` and renamed
 * into place when complete, so it appears atomically. Deleting a file a download is reading does not cut the
 * download short (the open descriptor keeps the data until it is closed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { assertSafeKey, storageId, type FileStorage, type FileWriter, type StoredFile } from './storage.ts';

export class LocalFileStorage implements FileStorage {
  readonly kind = 'local' as const;
  readonly root: string;
  readonly id: string;
  constructor(root: string) { this.root = path.resolve(root); this.id = storageId('local', this.root); }

  #path(key: string): string {
    assertSafeKey(key);
    const p = path.resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + path.sep)) throw new Error(`storage key ${key} escapes the root`);
    return p;
  }

  async createWriter(key: string): Promise<FileWriter> {
    const final = this.#path(key);
    const partial = `${final}.partial`;
    await fs.promises.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
    const fh = await fs.promises.open(partial, 'w', 0o600);
    let bytes = 0;
    let open = true;
    return {
      write: async (chunk) => {
        for (let off = 0; off < chunk.length;) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        bytes += chunk.length;
      },
      close: async () => {
        open = false;
        await fh.close();
        await fs.promises.rename(partial, final);
        return bytes;
      },
      abort: async () => {
        if (open) { open = false; await fh.close().catch(() => {}); }
        await fs.promises.rm(partial, { force: true });
      },
    };
  }

  async open(key: string): Promise<StoredFile | undefined> {
    const fd = await this.openHandle(key);
    if (!fd) return undefined;
    const { size } = await fd.stat();
    return { stream: fd.createReadStream({ highWaterMark: 1 << 20 }), size };
  }

  /** The file opened for reading (the caller closes it); undefined if there is none under the key. */
  async openHandle(key: string): Promise<fs.promises.FileHandle | undefined> {
    try { return await fs.promises.open(this.#path(key), 'r'); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const p = this.#path(prefix.replace(/\/$/, ''));
    await fs.promises.rm(p, { recursive: true, force: true });
  }
}
