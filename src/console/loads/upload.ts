/**
 * Receiving an uploaded file without holding it in memory: the request body is streamed to a private temporary
 * folder (one file, named after the upload so the loader reads it by its extension), counting bytes against a limit.
 * Two shapes are accepted:
 *   - raw body (the enhancing script's POST of the File): Content-Type application/x-ndjson, application/fhir+json,
 *     application/json or application/octet-stream, the file name in `?name=` (or the X-Upload-Name header);
 *   - multipart/form-data (the plain HTML form): the first file part named `file`, parsed by busboy as it streams.
 *     Other fields are ignored (the `_csrf` field was already checked by the session resolver).
 * Over the limit → 413 (the partial file is removed); an empty or missing file → 400.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request } from 'express';
import { FhirError } from '../../fhir/outcome/errors.ts';
import { formatBytes } from '../format.ts';

export interface ReceivedFile { dir: string; path: string; name: string; bytes: number }

const RAW_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/fhir+ndjson', 'application/fhir+json', 'application/json', 'application/octet-stream', 'text/plain'];

/** A safe file name that keeps the upload's extension (the loader picks NDJSON or JSON by it). */
export function safeName(name: string | undefined, contentType: string): string {
  const base = path.basename(String(name ?? '').replace(/\\/g, '/')).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(-100);
  if (/\.(json|ndjson|jsonl)$/i.test(base)) return base;
  const ext = /ndjson/i.test(contentType) ? '.ndjson' : '.json';
  return (base || 'upload') + ext;
}

export const tooLarge = (limit: number) => new FhirError('too-large', `The file is larger than the upload limit of ${formatBytes(limit)}. Split it, or load it with \`npm run load\`.`);


export function isRawUpload(req: Request): boolean {
  return !!req.is(RAW_TYPES);
}

/** Streams the body (raw or multipart) into a fresh temporary folder; the caller removes `dir` when done. */
export async function receiveUpload(req: Request, limit: number): Promise<ReceivedFile> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) { req.resume(); throw tooLarge(limit); }
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'plannet-upload-'));
  try {
    const contentType = String(req.headers['content-type'] ?? '');
    if (req.is('multipart/form-data')) return await receiveMultipart(req, dir, limit);
    if (!isRawUpload(req)) throw new FhirError('unsupported-media-type', 'Upload a file with the form (multipart/form-data) or as the body (application/x-ndjson, application/fhir+json or application/json)');
    const headerName = req.headers['x-upload-name'];
    const name = safeName(typeof req.query.name === 'string' ? req.query.name : typeof headerName === 'string' ? decodeURIComponent(headerName) : undefined, contentType);
    const file = path.join(dir, name);
    const out = fs.createWriteStream(file, { flags: 'wx', mode: 0o600 });
    let bytes = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > limit) throw tooLarge(limit);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
      }
    } finally { await new Promise<void>((r) => out.end(r)); }
    if (bytes === 0) throw new FhirError('bad-request', 'The uploaded file is empty');
    return { dir, path: file, name, bytes };
  } catch (err) {
    // drain what the client still sends (discarded, not stored), so it reads the error instead of a reset connection
    if (!req.readableEnded) req.resume();
    await fs.promises.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * multipart/form-data through busboy (a maintained streaming parser, also multer's): the first file part named `file`
 * goes to disk as it arrives, under busboy's own size limit; other fields and files are drained and ignored.
 */
function receiveMultipart(req: Request, dir: string, limit: number): Promise<ReceivedFile> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: limit, fields: 20, parts: 40, headerPairs: 50 } });
    } catch {
      return reject(new FhirError('bad-request', 'multipart/form-data without a valid boundary'));
    }
    let received: ReceivedFile | undefined;
    let writing: Promise<void> | undefined;
    let failed: Error | undefined;
    const fail = (err: Error) => { if (!failed) { failed = err; req.unpipe(bb); req.resume(); reject(err); } };
    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || received) { stream.resume(); return; }
      const safe = safeName(info.filename, info.mimeType);
      const file = path.join(dir, safe);
      const r: ReceivedFile = { dir, path: file, name: safe, bytes: 0 };
      received = r;
      stream.on('data', (c: Buffer) => { r.bytes += c.length; });
      stream.on('limit', () => fail(tooLarge(limit)));
      writing = pipeline(stream, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
      writing.catch((e: Error) => fail(e));
    });
    bb.on('error', () => fail(new FhirError('bad-request', 'Malformed multipart body')));
    bb.on('close', () => {
      void (async () => {
        await writing?.catch(() => {});
        if (failed) return;
        if (!received) return reject(new FhirError('bad-request', 'Choose a file to upload'));
        if (received.bytes === 0) return reject(new FhirError('bad-request', 'The uploaded file is empty'));
        resolve(received);
      })();
    });
    req.on('error', (e) => fail(e));
    req.pipe(bb);
  });
}
