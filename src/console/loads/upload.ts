/**
 * Receiving an uploaded file without holding it in memory: the request body is streamed to a private temporary
 * folder (one file, named after the upload so the loader reads it by its extension), counting bytes against a limit.
 * Two shapes are accepted:
 *   - raw body (the enhancing script's POST of the File): Content-Type application/x-ndjson, application/fhir+json,
 *     application/json or application/octet-stream, the file name in `?name=` (or the X-Upload-Name header);
 *   - multipart/form-data (the plain HTML form): the first file part named `file`, streamed through a small parser
 *     that keeps at most one delimiter's length of the body in memory between chunks. Other fields are ignored
 *     (the `_csrf` field was already checked by the session resolver).
 * Over the limit → 413 (the partial file is removed); an empty or missing file → 400.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Request } from 'express';
import { FhirError } from '../../fhir/outcome/errors.ts';

export interface ReceivedFile { dir: string; path: string; name: string; bytes: number }

const RAW_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/fhir+ndjson', 'application/fhir+json', 'application/json', 'application/octet-stream', 'text/plain'];
const MAX_PART_HEADERS = 8 * 1024;

/** A safe file name that keeps the upload's extension (the loader picks NDJSON or JSON by it). */
export function safeName(name: string | undefined, contentType: string): string {
  const base = path.basename(String(name ?? '').replace(/\\/g, '/')).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(-100);
  if (/\.(json|ndjson|jsonl)$/i.test(base)) return base;
  const ext = /ndjson/i.test(contentType) ? '.ndjson' : '.json';
  return (base || 'upload') + ext;
}

export const tooLarge = (limit: number) => new FhirError('too-large', `The file is larger than the upload limit of ${formatBytes(limit)}. Split it, or load it with \`npm run load\`.`);

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

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
    if (req.is('multipart/form-data')) return await receiveMultipart(req, dir, limit, contentType);
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

async function receiveMultipart(req: Request, dir: string, limit: number, contentType: string): Promise<ReceivedFile> {
  const m = /boundary=(?:"([^"]{1,70})"|([^;\s"]{1,70}))/i.exec(contentType);
  if (!m) throw new FhirError('bad-request', 'multipart/form-data without a boundary');
  const delimiter = Buffer.from(`\r\n--${m[1] ?? m[2]}`);
  // The body starts with the delimiter without its leading CRLF; prefixing one CRLF makes every delimiter alike.
  let buf: Buffer = Buffer.from('\r\n');
  let state: 'delimiter' | 'headers' | 'body' | 'done' = 'delimiter';
  let bytes = 0;
  let fileBytes = 0;
  let part: { isFile: boolean; name: string } | undefined;
  let out: fs.WriteStream | undefined;
  let received: ReceivedFile | undefined;
  const write = async (data: Buffer) => {
    if (!out || data.length === 0) return;
    fileBytes += data.length;
    if (!out.write(data)) await new Promise<void>((r) => out!.once('drain', r));
  };
  const closeFile = async () => {
    if (!out) return;
    const o = out;
    out = undefined;
    await new Promise<void>((r) => o.end(r));
  };
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > limit) throw tooLarge(limit);
      if (state === 'done') continue;
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (state === 'delimiter') {
          // a delimiter, then CRLF (another part) or "--" (the end)
          if (buf.length < delimiter.length + 2) break;
          if (!buf.subarray(0, delimiter.length).equals(delimiter)) throw new FhirError('bad-request', 'Malformed multipart body');
          const after = buf.subarray(delimiter.length, delimiter.length + 2).toString('latin1');
          if (after === '--') { state = 'done'; buf = Buffer.alloc(0); break; }
          if (after !== '\r\n') throw new FhirError('bad-request', 'Malformed multipart body');
          buf = buf.subarray(delimiter.length + 2);
          state = 'headers';
        } else if (state === 'headers') {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) { if (buf.length > MAX_PART_HEADERS) throw new FhirError('bad-request', 'Multipart part headers too long'); break; }
          const headers = buf.subarray(0, end).toString('utf8');
          buf = buf.subarray(end + 4);
          const disposition = /^content-disposition:(.*)$/im.exec(headers)?.[1] ?? '';
          const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '';
          const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
          part = { isFile: filename !== undefined && name === 'file' && !received, name };
          if (part.isFile) {
            const partType = /^content-type:\s*(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
            const safe = safeName(filename, partType);
            const file = path.join(dir, safe);
            out = fs.createWriteStream(file, { flags: 'wx', mode: 0o600 });
            fileBytes = 0;
            received = { dir, path: file, name: safe, bytes: 0 };
          }
          state = 'body';
        } else if (state === 'body') {
          const at = buf.indexOf(delimiter);
          if (at < 0) {
            // keep what could be the start of a delimiter; the rest is part data
            const keep = Math.min(buf.length, delimiter.length - 1);
            if (part?.isFile) await write(buf.subarray(0, buf.length - keep));
            buf = Buffer.from(buf.subarray(buf.length - keep));
            break;
          }
          if (part?.isFile) { await write(buf.subarray(0, at)); await closeFile(); received!.bytes = fileBytes; }
          buf = buf.subarray(at);
          part = undefined;
          state = 'delimiter';
        } else break;
      }
    }
  } finally { await closeFile(); }
  if (state !== 'done') throw new FhirError('bad-request', 'The upload ended early (incomplete multipart body)');
  if (!received) throw new FhirError('bad-request', 'Choose a file to upload');
  if (received.bytes === 0) throw new FhirError('bad-request', 'The uploaded file is empty');
  return received;
}
