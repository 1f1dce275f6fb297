/**
 * Streaming AES-256-GCM for files (export files on local storage, backups): constant memory, one GCM operation per
 * 64 KiB chunk. Layout:
 *
 *   header  "PNENC" 0x01 | kid length (1) | kid | wrapped data key (60) | nonce prefix (8) | chunk size (u32 BE)
 *   chunks  ciphertext ‖ tag (16), each of `chunk size` plaintext bytes except the last (0…chunk size)
 *
 * Chunk i uses nonce = prefix ‖ u32(i) and additional data = u32(i) ‖ final flag, so chunks cannot be reordered,
 * dropped or the file truncated at a chunk boundary without the last decryption failing. The header holds the only
 * key material; rotation rewrites it in place (same length) without touching the chunks.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { KEY_BYTES, WRAPPED_KEY_BYTES, type Keyring } from './envelope.ts';

const MAGIC = Buffer.from('PNENC\x01', 'latin1');
const TAG = 16;
export const CHUNK = 64 * 1024;

function headerLength(kidLen: number): number { return MAGIC.length + 1 + kidLen + WRAPPED_KEY_BYTES + 8 + 4; }

interface Header { kid: string; wrapped: Buffer; prefix: Buffer; chunk: number; length: number }

function parseHeader(buf: Buffer): Header | undefined {
  if (buf.length < MAGIC.length + 1) return undefined;
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an encrypted file (bad magic)');
  const kidLen = buf[MAGIC.length]!;
  const len = headerLength(kidLen);
  if (buf.length < len) return undefined;
  let o = MAGIC.length + 1;
  const kid = buf.subarray(o, o + kidLen).toString('latin1'); o += kidLen;
  const wrapped = Buffer.from(buf.subarray(o, o + WRAPPED_KEY_BYTES)); o += WRAPPED_KEY_BYTES;
  const prefix = Buffer.from(buf.subarray(o, o + 8)); o += 8;
  const chunk = buf.readUInt32BE(o);
  return { kid, wrapped, prefix, chunk, length: len };
}

function nonce(prefix: Buffer, i: number): Buffer { const n = Buffer.alloc(12); prefix.copy(n); n.writeUInt32BE(i, 8); return n; }
function aad(i: number, final: boolean): Buffer { const a = Buffer.alloc(5); a.writeUInt32BE(i); a[4] = final ? 1 : 0; return a; }

export function encryptedHeader(ring: Keyring, chunk = CHUNK): { header: Buffer; dataKey: Buffer; prefix: Buffer } {
  const dataKey = randomBytes(KEY_BYTES);
  const { kid, wrapped } = ring.wrap(dataKey);
  const prefix = randomBytes(8);
  const c = Buffer.alloc(4); c.writeUInt32BE(chunk);
  return { header: Buffer.concat([MAGIC, Buffer.from([kid.length]), Buffer.from(kid, 'latin1'), wrapped, prefix, c]), dataKey, prefix };
}

/** Plaintext size of an encrypted file of `size` bytes (no decryption needed). */
export function plaintextSize(size: number, headerLen: number, chunk = CHUNK): number {
  const body = size - headerLen;
  const n = Math.max(1, Math.ceil(body / (chunk + TAG)));
  return body - n * TAG;
}

export class EncryptStream extends Transform {
  readonly #key: Buffer;
  readonly #prefix: Buffer;
  readonly #chunk: number;
  #parts: Buffer[] = [];
  #buffered = 0;
  #i = 0;
  /** Plaintext bytes taken in. */
  bytesIn = 0;
  constructor(ring: Keyring, chunk = CHUNK) {
    super();
    const h = encryptedHeader(ring, chunk);
    this.#key = h.dataKey; this.#prefix = h.prefix; this.#chunk = chunk;
    this.push(h.header);
  }
  #seal(plain: Buffer, final: boolean): Buffer {
    const c = createCipheriv('aes-256-gcm', this.#key, nonce(this.#prefix, this.#i));
    c.setAAD(aad(this.#i++, final));
    return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  }
  override _transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytesIn += data.length;
    this.#parts.push(data); this.#buffered += data.length;
    if (this.#buffered > this.#chunk) {
      let all = Buffer.concat(this.#parts);
      let off = 0;
      // keep at least one byte back: only the end of input knows which chunk is final
      while (all.length - off > this.#chunk) { this.push(this.#seal(all.subarray(off, off + this.#chunk), false)); off += this.#chunk; }
      all = all.subarray(off);
      this.#parts = [Buffer.from(all)]; this.#buffered = all.length;
    }
    cb();
  }
  override _flush(cb: TransformCallback): void {
    this.push(this.#seal(Buffer.concat(this.#parts), true));
    this.#parts = []; cb();
  }
}

export class DecryptStream extends Transform {
  readonly #ring: Keyring;
  #header?: Header;
  #key?: Buffer;
  #parts: Buffer[] = [];
  #buffered = 0;
  #i = 0;
  constructor(ring: Keyring) { super(); this.#ring = ring; }
  #open(buf: Buffer, final: boolean): Buffer {
    const h = this.#header!;
    const d = createDecipheriv('aes-256-gcm', this.#key!, nonce(h.prefix, this.#i));
    d.setAAD(aad(this.#i++, final));
    d.setAuthTag(buf.subarray(buf.length - TAG));
    return Buffer.concat([d.update(buf.subarray(0, buf.length - TAG)), d.final()]);
  }
  override _transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.#parts.push(data); this.#buffered += data.length;
      let all = Buffer.concat(this.#parts);
      let off = 0;
      if (!this.#header) {
        const h = parseHeader(all);
        if (!h) { this.#parts = [all]; return cb(); }
        this.#header = h; this.#key = this.#ring.unwrap(h.kid, h.wrapped); off = h.length;
      }
      const size = this.#header.chunk + TAG;
      while (all.length - off > size) { this.push(this.#open(all.subarray(off, off + size), false)); off += size; }
      all = all.subarray(off);
      this.#parts = [Buffer.from(all)]; this.#buffered = all.length;
      cb();
    } catch (e) { cb(e as Error); }
  }
  override _flush(cb: TransformCallback): void {
    try {
      if (!this.#header) throw new Error('encrypted file is truncated (no header)');
      const rest = Buffer.concat(this.#parts);
      if (rest.length < TAG) throw new Error('encrypted file is truncated');
      this.push(this.#open(rest, true));
      cb();
    } catch (e) { cb(e as Error); }
  }
}

/** Reads an encrypted file's header (its length and master key id) without decrypting anything. */
export async function readFileHeader(file: string): Promise<{ kid: string; length: number; chunk: number }> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, 256, 0);
    const h = parseHeader(buf.subarray(0, bytesRead));
    if (!h) throw new Error(`${file}: truncated header`);
    return { kid: h.kid, length: h.length, chunk: h.chunk };
  } finally { await fh.close(); }
}

/** Re-wraps an encrypted file's data key under the keyring's current master key, in place. Returns true if changed. */
export async function rewrapFile(file: string, ring: Keyring): Promise<boolean> {
  const fh = await fs.promises.open(file, 'r+');
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, 256, 0);
    const h = parseHeader(buf.subarray(0, bytesRead));
    if (!h) throw new Error(`${file}: truncated header`);
    if (h.kid === ring.current.id) return false;
    const { kid, wrapped } = ring.wrap(ring.unwrap(h.kid, h.wrapped));
    if (kid.length !== h.kid.length) throw new Error(`${file}: key id length differs; cannot re-wrap in place`);
    const patch = Buffer.concat([Buffer.from(kid, 'latin1'), wrapped]);
    await fh.write(patch, 0, patch.length, MAGIC.length + 1);
    await fh.sync();
    return true;
  } finally { await fh.close(); }
}

/** Decrypts a whole (small) encrypted file into memory: for tests and tools, never on a request path. */
export async function decryptFile(file: string, ring: Keyring): Promise<Buffer> {
  const parts: Buffer[] = [];
  const dec = new DecryptStream(ring);
  dec.on('data', (c: Buffer) => parts.push(c));
  const { pipeline } = await import('node:stream/promises');
  await pipeline(fs.createReadStream(file), dec);
  return Buffer.concat(parts);
}
