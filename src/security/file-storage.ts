/**
 * Encryption at rest for job files on local storage (export NDJSON, adequacy reports): a FileStorage that encrypts
 * on write and decrypts when a file is opened (the signed download), streaming, one AES-256-GCM operation per 64 KiB
 * chunk (src/security/stream.ts) under a per-file data key wrapped by the master key. Sizes reported to callers are
 * plaintext sizes (computed from the file size, no decryption needed), so Content-Length stays right.
 */
import type { FileStorage, FileWriter, StoredFile } from '../jobs/storage/storage.ts';
import type { Keyring } from './envelope.ts';
import { CHUNK, DecryptStream, EncryptStream, plaintextSize } from './stream.ts';

export class EncryptedFileStorage implements FileStorage {
  readonly kind: FileStorage['kind'];
  readonly id: string;
  readonly inner: FileStorage;
  readonly #ring: Keyring;
  constructor(inner: FileStorage, ring: Keyring) { this.inner = inner; this.kind = inner.kind; this.id = inner.id; this.#ring = ring; }

  async createWriter(key: string): Promise<FileWriter> {
    const w = await this.inner.createWriter(key);
    const enc = new EncryptStream(this.#ring);
    let failed: Error | undefined;
    // Ciphertext flows to the inner writer in order; waiting on it is the back-pressure.
    let chain = Promise.resolve();
    enc.on('data', (c: Buffer) => { chain = chain.then(() => w.write(c)).catch((e) => { failed = e; }); });
    const push = async (chunk: Buffer | null) => {
      if (failed) throw failed;
      if (chunk === null) { await new Promise<void>((resolve, reject) => { enc.once('end', resolve); enc.once('error', reject); enc.end(); }); }
      // No copy of the caller's bytes: the cipher consumes them synchronously and EncryptStream copies what it holds
      // back, so the caller may reuse its buffer once this resolves (the NDJSON writer does).
      else if (!enc.write(chunk)) await new Promise<void>((r) => enc.once('drain', r));
      await chain;
      if (failed) throw failed;
    };
    return {
      write: (chunk) => push(chunk),
      close: async () => { await push(null); await w.close(); return enc.bytesIn; },
      abort: async () => { enc.destroy(); await w.abort(); },
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
