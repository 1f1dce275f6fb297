/**
 * Export files in a local folder (the default: DATA_DIR/exports). A file is written as `<name>.partial` and renamed
 * into place when complete, so it appears atomically. Deleting a file a download is reading does not cut the
 * download short (the open descriptor keeps the data until it is closed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
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
    const out = fs.createWriteStream(partial, { mode: 0o600, highWaterMark: 1 << 20 });
    let failed: Error | undefined;
    out.on('error', (e) => { failed = e; });
    await once(out, 'open');
    let bytes = 0;
    return {
      write: async (chunk) => {
        if (failed) throw failed;
        bytes += chunk.length;
        if (!out.write(chunk)) await Promise.race([once(out, 'drain'), once(out, 'error').then(([e]) => { throw e; })]);
      },
      close: async () => {
        if (failed) throw failed;
        await new Promise<void>((resolve, reject) => { out.once('error', reject); out.end(() => resolve()); });
        await fs.promises.rename(partial, final);
        return bytes;
      },
      abort: async () => {
        out.destroy();
        await fs.promises.rm(partial, { force: true });
      },
    };
  }

  async open(key: string): Promise<StoredFile | undefined> {
    const p = this.#path(key);
    let fd: fs.promises.FileHandle;
    try { fd = await fs.promises.open(p, 'r'); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const { size } = await fd.stat();
    return { stream: fd.createReadStream({ highWaterMark: 1 << 20 }), size };
  }

  async deletePrefix(prefix: string): Promise<void> {
    const p = this.#path(prefix.replace(/\/$/, ''));
    await fs.promises.rm(p, { recursive: true, force: true });
  }
}
