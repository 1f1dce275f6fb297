/**
 * Encryption at rest for job files on local storage (export NDJSON, adequacy reports): a FileStorage that encrypts
 * on write and decrypts when a file is opened (the signed download), streaming, one AES-256-GCM operation per 1 MiB
 * chunk (FILE_CHUNK; a file's header records its chunk size, so files written with other sizes read the same) under
 * a per-file data key wrapped by the master key. Sizes reported to callers are plaintext sizes (from the header and
 * the file size, no decryption needed), so Content-Length stays right.
 */
import type { FileStorage, FileWriter, StoredFile } from '../jobs/storage/storage.ts';
import type { LocalFileStorage } from '../jobs/storage/local.ts';
import type { Keyring } from './envelope.ts';
import type { Readable, Writable } from 'node:stream';
import { ChunkSealer, FILE_CHUNK, openEncryptedFile } from './stream.ts';
import { SLOT_BYTES, type DecryptThread } from './decrypt-thread.ts';

export class EncryptedFileStorage implements FileStorage {
  readonly kind: FileStorage['kind'];
  readonly id: string;
  readonly inner: LocalFileStorage;
  readonly #ring: Keyring;
  readonly #downloads: DecryptThread | undefined;
  /** `downloads`: the thread downloads are decrypted on (decrypt-thread.ts); without it, on the caller's thread. */
  constructor(inner: LocalFileStorage, ring: Keyring, { downloads }: { downloads?: DecryptThread } = {}) {
    this.inner = inner; this.kind = inner.kind; this.id = inner.id; this.#ring = ring; this.#downloads = downloads;
  }

  async createWriter(key: string): Promise<FileWriter> {
    const w = await this.inner.createWriter(key);
    // The sealer hands each piece of ciphertext (header, chunk, tag) straight to the file's aligned staging buffer,
    // which copies it at once: the caller's bytes are not kept, so it may reuse its buffer once a write resolves (the
    // NDJSON writer does). Writes are serialized, whatever the caller does.
    const sealer = new ChunkSealer(this.#ring, FILE_CHUNK, (ciphertext) => w.append(ciphertext));
    let chain: Promise<unknown> = Promise.resolve();
    const serial = <T>(f: () => Promise<T>): Promise<T> => {
      const p = chain.then(f);
      chain = p.catch(() => {});
      return p;
    };
    let failed: Error | undefined;
    const step = async (seal: () => void) => {
      if (failed) throw failed;
      try { seal(); await w.drain(); } catch (e) { failed = e as Error; throw e; }
    };
    return {
      write: (chunk) => serial(() => step(() => sealer.update(chunk))),
      close: () => serial(async () => { await step(() => sealer.final()); await w.close(); return sealer.bytesIn; }),
      abort: () => serial(() => w.abort()),
    };
  }

  async open(key: string): Promise<StoredFile | undefined> {
    const file = await this.inner.openReader(key);
    if (!file) return undefined;
    let opened;
    try { opened = await openEncryptedFile(file, this.#ring); } catch (e) { await file.close(); throw e; }
    // Either way the file is closed however the download ends (done, failed, client gone).
    let stream: Readable | undefined;
    const thread = this.#downloads;
    const { header, key: dataKey } = opened;
    return {
      size: opened.size,
      get stream() { return (stream ??= opened.stream()); },
      // the download thread reads through this request's descriptor (so a file deleted meanwhile still reads whole)
      ...(thread && header.chunk <= SLOT_BYTES ? {
        sendTo: async (out: Writable) => {
          try {
            await thread.send({ fd: file.fd, size: file.size, direct: file.direct, key: dataKey.export(), prefix: header.prefix, start: header.length, chunk: header.chunk }, out);
          } finally { await file.close(); }
        },
      } : {}),
    };
  }

  deletePrefix(prefix: string): Promise<void> { return this.inner.deletePrefix(prefix); }
}
