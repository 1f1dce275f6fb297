/**
 * The S3 backend behind a dynamic import: the AWS SDK (tens of MB of modules) is loaded only by processes configured
 * for S3, never by the default local-folder setup.
 */
import { storageId, type FileStorage, type FileWriter, type StoredFile } from './storage.ts';
import type { S3Settings } from './s3.ts';

export class LazyS3FileStorage implements FileStorage {
  readonly kind = 's3' as const;
  readonly id: string;
  readonly #settings: S3Settings;
  #impl: Promise<FileStorage> | undefined;
  constructor(s: S3Settings) {
    this.#settings = s;
    this.id = storageId('s3', `${s.endpoint ?? 'aws'}|${s.bucket}|${s.prefix}`);
  }
  #get(): Promise<FileStorage> { return this.#impl ??= import('./s3.ts').then((m) => new m.S3FileStorage(this.#settings)); }
  async createWriter(key: string): Promise<FileWriter> { return (await this.#get()).createWriter(key); }
  async open(key: string): Promise<StoredFile | undefined> { return (await this.#get()).open(key); }
  async deletePrefix(prefix: string): Promise<void> { return (await this.#get()).deletePrefix(prefix); }
}
