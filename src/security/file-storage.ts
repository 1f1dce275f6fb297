/**
 * Encryption at rest for job files on local storage (export NDJSON, adequacy reports): a FileStorage that encrypts
 * on write and decrypts when a file is opened (the signed download), streaming, one AES-256-GCM operation per 64 KiB
 * chunk (src/security/stream.ts) under a per-file data key wrapped by the master key. Sizes reported to callers are
 * plaintext sizes (computed from the file size, no decryption needed), so Content-Length stays right.
 */
import type { FileStorage, FileWriter, StoredFile } from '../jobs/storage/storage.ts';
import type { Keyring } from './envelope.ts';
import { CHUNK, ChunkSealer, DecryptStream, plaintextSize } from './stream.ts';

export class EncryptedFileStorage implements FileStorage {
  readonly kind: FileStorage['kind'];
  readonly id: string;
  readonly inner: FileStorage;
  readonly #ring: Keyring;
  constructor(inner: FileStorage, ring: Keyring) { this.inner = inner; this.kind = inner.kind; this.id = inner.id; this.#ring = ring; }

  async createWriter(key: string): Promise<FileWriter> {
    const w = await this.inner.createWriter(key);
    const sealer = new ChunkSealer(this.#ring);
    // Each write's ciphertext (header, then ciphertext ‖ tag per completed chunk) comes in one buffer the sealer
    // reuses, so it goes to the inner writer as one write, finished before the next call may seal into it again.
    // The caller's bytes are not kept (the sealer copies what it holds back): it may reuse its buffer once this
    // resolves (the NDJSON writer does). Writes are serialized, whatever the caller does.
    let chain: Promise<unknown> = Promise.resolve();
    const serial = <T>(f: () => Promise<T>): Promise<T> => {
      const p = chain.then(f);
      chain = p.catch(() => {});
      return p;
    };
    let failed: Error | undefined;
    const put = async (cipher: Buffer) => {
      if (failed) throw failed;
      try { if (cipher.length) await w.write(cipher); } catch (e) { failed = e as Error; throw e; }
    };
    return {
      write: (chunk) => serial(() => put(sealer.update(chunk))),
      close: () => serial(async () => { await put(sealer.final()); await w.close(); return sealer.bytesIn; }),
      abort: () => serial(() => w.abort()),
    };
  }

  async open(key: string): Promise<StoredFile | undefined> {
    const f = await this.inner.open(key);
    if (!f) return undefined;
    const dec = new DecryptStream(this.#ring);
    f.stream.on('error', (e) => dec.destroy(e));
    // the file closes however the download ends (done, failed, client gone)
    dec.once('close', () => { if (!f.stream.destroyed) f.stream.destroy(); });
    // header length: magic (6) + kid length (1) + kid (16) + wrapped key (60) + nonce prefix (8) + chunk size (4)
    return { stream: f.stream.pipe(dec), size: plaintextSize(f.size, 6 + 1 + this.#ring.current.id.length + 60 + 8 + 4, CHUNK) };
  }

  deletePrefix(prefix: string): Promise<void> { return this.inner.deletePrefix(prefix); }
}
