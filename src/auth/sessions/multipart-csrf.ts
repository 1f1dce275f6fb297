/**
 * The CSRF token of a multipart form post (the console's file upload when JavaScript is off: an HTML form cannot set
 * a header). The form puts its `_csrf` hidden field first, and browsers send fields in document order, so the token
 * is the body's first part. This reads just far enough to see that part (at most 8 KiB), then puts every byte it read
 * back on the request stream (`unshift`), so the route's own streaming parser sees the body untouched and nothing
 * else is buffered. A body whose first part is not that field presents no token (the resolver answers 403).
 */
import type { Request } from 'express';

const PEEK_LIMIT = 8 * 1024;

/** The first part's value if it is the field `name`; null if the first part is something else; undefined: read more. */
function firstPart(buf: Buffer, delimiter: string, name: string): string | null | undefined {
  const text = buf.toString('latin1');
  const open = `${delimiter}\r\n`;
  if (text.length < open.length) return open.startsWith(text) ? undefined : null;
  if (!text.startsWith(open)) return null;
  const headerEnd = text.indexOf('\r\n\r\n', open.length);
  if (headerEnd < 0) return undefined;
  const headers = text.slice(open.length, headerEnd).split('\r\n');
  const disposition = headers.find((h) => /^content-disposition:/i.test(h)) ?? '';
  if (!new RegExp(`^content-disposition:\\s*form-data;\\s*name="${name}"\\s*$`, 'i').test(disposition)) return null;
  const end = text.indexOf(`\r\n${delimiter}`, headerEnd + 4);
  if (end < 0) return undefined;
  return text.slice(headerEnd + 4, end);
}

export function firstMultipartField(req: Request, name: string): Promise<string | undefined> {
  const m = /boundary=(?:"([^"]{1,70})"|([^;\s"]{1,70}))/i.exec(req.headers['content-type'] ?? '');
  if (!m) return Promise.resolve(undefined);
  const delimiter = `--${m[1] ?? m[2]}`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => { req.off('readable', onReadable); req.off('end', onEnd); req.off('error', onError); };
    const finish = (value: string | null | undefined, putBack: boolean) => {
      stop();
      if (putBack && size) req.unshift(Buffer.concat(chunks, size));
      resolve(value ?? undefined);
    };
    function onReadable() {
      let chunk: Buffer | null;
      while ((chunk = req.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        size += chunk.length;
        const v = firstPart(Buffer.concat(chunks, size), delimiter, name);
        // put the bytes back in this same tick, before the stream can emit 'end'
        if (v !== undefined || size >= PEEK_LIMIT) return finish(v, true);
      }
    }
    // the whole body was shorter than its first part: malformed, nothing to hand on
    function onEnd() { finish(undefined, false); }
    function onError(err: Error) { stop(); reject(err); }
    req.on('readable', onReadable);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
