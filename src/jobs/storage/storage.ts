/**
 * Where export files live. Keys are slash-separated and always start with the tenant and the job
 * (`tenants/{tenant}/jobs/{job}/{attempt}/{file}`), so one tenant's files can never be addressed through another's.
 *
 * A file becomes visible under its key only once its writer has closed successfully (local: written under a
 * temporary name and renamed; S3: a multipart upload completed), so a reader never sees half a file.
 */
import type { Readable, Writable } from 'node:stream';
import type { Config } from '../../config/config.ts';
import { LocalFileStorage } from './local.ts';
import { LazyS3FileStorage } from './s3-lazy.ts';
import { EncryptedFileStorage } from '../../security/file-storage.ts';
import { sharedDecryptThread } from '../../security/decrypt-thread.ts';
import { loadKeyring } from '../../security/envelope.ts';
import path from 'node:path';
import { createHash } from 'node:crypto';

export function storageId(kind: string, location: string): string {
  return `${kind}-${createHash('sha256').update(location).digest('hex').slice(0, 10)}`;
}

export interface FileWriter {
  /**
   * Resolves when the chunk has been taken (written, or copied): the caller may then reuse its memory. Waiting for
   * it is the back-pressure that keeps memory constant.
   */
  write(chunk: Buffer): Promise<void>;
  /** Finishes the file and makes it visible; resolves with its size in bytes. */
  close(): Promise<number>;
  /** Discards what was written. */
  abort(): Promise<void>;
}

export interface StoredFile {
  /** The file's bytes (use this or `sendTo`, not both). */
  readonly stream: Readable;
  size: number;
  /**
   * Where the storage has a faster way to send the whole file: writes it into `out` and ends it; settles once the
   * file is released (rejects, and destroys `out`, if it cannot be read; rejects if `out` closes first).
   */
  sendTo?(out: Writable): Promise<void>;
}

export interface FileStorage {
  readonly kind: 'local' | 's3';
  /**
   * Names this storage location (a hash of the folder, or of endpoint + bucket + prefix). Jobs are queued per
   * location, so a worker only ever takes jobs whose files the API processes of the same location can serve.
   */
  readonly id: string;
  createWriter(key: string): Promise<FileWriter>;
  /** Streams a file; undefined if there is none under the key. */
  open(key: string): Promise<StoredFile | undefined>;
  /** Deletes every file whose key starts with `prefix` (a folder: end it with `/`). */
  deletePrefix(prefix: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*\/?$/;

/** Keys are built from validated parts only; this refuses anything else (no `..`, no absolute paths). */
export function assertSafeKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) throw new Error(`unsafe storage key ${JSON.stringify(key)}`);
}

export function createFileStorage(config: Config): FileStorage {
  if (config.export.storage === 's3') return new LazyS3FileStorage(config.export.s3!);
  // Local files are encrypted at rest under the master key (S3: the bucket's server-side encryption, see docs/adr/0009).
  return new EncryptedFileStorage(new LocalFileStorage(config.export.dir ?? path.join(config.dataDir, 'exports'), { direct: config.export.directIo }), loadKeyring(config),
    { downloads: config.export.downloadThread ? sharedDecryptThread() : undefined });
}
