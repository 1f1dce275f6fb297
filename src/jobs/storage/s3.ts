/**
 * Export files in any S3-compatible object store (EXPORT_STORAGE=s3). Credentials come from the AWS SDK's default
 * chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a web identity, an instance role, ...).
 *
 * A file is a multipart upload of 8 MiB parts, buffered one part at a time (constant memory per open file); the
 * object appears only when the upload completes, and an aborted writer aborts the upload. Downloads are streamed
 * through the service (so signed-URL checks and auditing stay in one place).
 *
 * Objects are sent without per-request SSE headers (ADR 0009): buckets encrypt at rest themselves (AWS S3 applies
 * SSE-S3 to every new object; set SSE-KMS on the bucket for customer-managed keys), and some S3-compatible stores
 * (MinIO without a KMS) refuse SSE headers.
 *
 * Tested end to end against s3rver, an S3 protocol server (test/api/export-s3.test.ts): multipart and single PUT
 * uploads, streamed downloads, listing and batch deletes. Not run against AWS itself from CI (no network there).
 */
import type { Readable } from 'node:stream';
import {
  S3Client, CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, AbortMultipartUploadCommand,
  PutObjectCommand, GetObjectCommand, ListObjectsV2Command, DeleteObjectsCommand,
} from '@aws-sdk/client-s3';
import { assertSafeKey, storageId, type FileStorage, type FileWriter, type StoredFile } from './storage.ts';

const PART_SIZE = 8 * 1024 * 1024;

export interface S3Settings { bucket: string; region?: string; endpoint?: string; forcePathStyle: boolean; prefix: string }

export class S3FileStorage implements FileStorage {
  readonly kind = 's3' as const;
  readonly id: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(s: S3Settings) {
    this.#client = new S3Client({ region: s.region ?? 'us-east-1', endpoint: s.endpoint, forcePathStyle: s.forcePathStyle });
    this.#bucket = s.bucket;
    this.#prefix = s.prefix ? `${s.prefix}/` : '';
    this.id = storageId('s3', `${s.endpoint ?? 'aws'}|${s.bucket}|${s.prefix}`);
  }

  #key(key: string): string { assertSafeKey(key); return this.#prefix + key; }

  async createWriter(key: string): Promise<FileWriter> {
    const Key = this.#key(key);
    const Bucket = this.#bucket;
    let uploadId: string | undefined;
    const parts: { ETag: string; PartNumber: number }[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let bytes = 0;
    const flushPart = async () => {
      const body = Buffer.concat(pending, pendingBytes);
      pending = []; pendingBytes = 0;
      if (!uploadId) uploadId = (await this.#client.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'application/fhir+ndjson' }))).UploadId!;
      const PartNumber = parts.length + 1;
      const r = await this.#client.send(new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: body }));
      parts.push({ ETag: r.ETag!, PartNumber });
    };
    return {
      write: async (chunk) => {
        pending.push(Buffer.from(chunk)); pendingBytes += chunk.length; bytes += chunk.length; // a copy: the caller reuses its buffer
        if (pendingBytes >= PART_SIZE) await flushPart();
      },
      close: async () => {
        if (!uploadId) {
          // small file: one PUT
          await this.#client.send(new PutObjectCommand({ Bucket, Key, Body: Buffer.concat(pending, pendingBytes), ContentType: 'application/fhir+ndjson' }));
          return bytes;
        }
        if (pendingBytes > 0) await flushPart();
        await this.#client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
        return bytes;
      },
      abort: async () => {
        pending = [];
        if (uploadId) await this.#client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => {});
      },
    };
  }

  async open(key: string): Promise<StoredFile | undefined> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      return { stream: r.Body as Readable, size: Number(r.ContentLength ?? 0) };
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
      throw e;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const Prefix = this.#key(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix) + '/';
    let ContinuationToken: string | undefined;
    do {
      const page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix, ContinuationToken }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) await this.#client.send(new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: keys, Quiet: true } }));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }
}
