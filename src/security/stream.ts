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
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { KEY_BYTES, WRAPPED_KEY_BYTES, type Keyring } from './envelope.ts';

const MAGIC = Buffer.from('PNENC\x01', 'latin1');
const TAG = 16;
export const CHUNK = 64 * 1024;
/**
 * Chunk size of export files on local storage: a download then decrypts and sends a MiB at a time (one cipher, one
 * socket write, one buffer per MiB instead of sixteen). The writer holds one chunk per open file.
 */
export const FILE_CHUNK = 1024 * 1024;

function headerLength(kidLen: number): number { return MAGIC.length + 1 + kidLen + WRAPPED_KEY_BYTES + 8 + 4; }

export interface Header { kid: string; wrapped: Buffer; prefix: Buffer; chunk: number; length: number }

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

/** Opens sealed chunk `i` (ciphertext ‖ tag); throws if its tag does not match, so nothing of a forged chunk is returned. */
function openChunk(key: KeyObject, prefix: Buffer, i: number, sealed: Buffer, final: boolean): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, nonce(prefix, i));
  d.setAAD(aad(i, final));
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  const plain = d.update(sealed.subarray(0, sealed.length - TAG));
  d.final(); // GCM: no output here, only the tag check
  return plain;
}

/** The header of an open encrypted file, or undefined if the file is too short to hold one. */
async function headerOf(fh: fs.promises.FileHandle): Promise<Header | undefined> {
  const buf = Buffer.alloc(256);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  return parseHeader(buf.subarray(0, bytesRead));
}

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

/**
 * Both directions copy as little as they can (an export moves gigabytes through here, and every copy is garbage to
 * collect): whole chunks are sealed or opened straight from the input's own bytes; only the bytes held back between
 * writes are copied (the writer may reuse its buffer once its write returns). The data key is imported once per file
 * as a KeyObject (a raw key buffer would be re-imported for every chunk's cipher).
 */

/**
 * The encryption as plain calls, for a writer that takes each piece of ciphertext as it is made. Ciphertext (the
 * header first, then ciphertext ‖ tag per completed chunk) goes either
 * - to `sink`, one piece at a time, each valid only during the call (the encrypted file storage copies it straight
 *   into its aligned staging buffer), or
 * - without a sink, into one buffer the sealer reuses, returned by each `update`/`final` and valid until the next
 *   call (EncryptStream), so a 256 KiB write becomes one 256 KiB buffer, not a buffer per ciphertext and per tag.
 * The caller's bytes are not kept (plaintext short of a chunk is copied into the sealer's own buffer).
 */
export class ChunkSealer {
  readonly #key: KeyObject;
  readonly #prefix: Buffer;
  readonly #chunk: number;
  readonly #sink: ((ciphertext: Buffer) => void) | undefined;
  #header: Buffer | undefined;
  /** Plaintext held back (at least one byte once there was input: only `final` knows which chunk is the last). */
  readonly #held: Buffer;
  #heldBytes = 0;
  #out: Buffer;
  #outBytes = 0;
  #i = 0;
  #finished = false;
  /** Plaintext bytes taken in. */
  bytesIn = 0;
  constructor(ring: Keyring, chunk = CHUNK, sink?: (ciphertext: Buffer) => void) {
    const h = encryptedHeader(ring, chunk);
    this.#key = createSecretKey(h.dataKey); this.#prefix = h.prefix; this.#chunk = chunk; this.#header = h.header;
    this.#sink = sink;
    this.#held = Buffer.allocUnsafe(chunk);
    this.#out = Buffer.allocUnsafe(0);
  }

  /** Room for `bytes` more output (grown only for a write larger than any before). */
  #reserve(bytes: number): void {
    if (this.#outBytes + bytes <= this.#out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#outBytes + bytes, this.#out.length * 2));
    this.#out.copy(bigger, 0, 0, this.#outBytes);
    this.#out = bigger;
  }

  #emit(piece: Buffer): void {
    if (this.#sink) this.#sink(piece);
    else this.#outBytes += piece.copy(this.#out, this.#outBytes);
  }

  #begin(maxPlain: number): void {
    this.#outBytes = 0;
    const header = this.#header;
    if (!this.#sink) this.#reserve((header?.length ?? 0) + maxPlain + (Math.ceil(maxPlain / this.#chunk) + 1) * TAG);
    if (header) { this.#header = undefined; this.#emit(header); }
  }

  #seal(plain: Buffer, final: boolean): void {
    const c = createCipheriv('aes-256-gcm', this.#key, nonce(this.#prefix, this.#i));
    c.setAAD(aad(this.#i++, final));
    this.#emit(c.update(plain));
    c.final(); // GCM: no output here
    this.#emit(c.getAuthTag());
  }

  /** Takes `data` (not kept: the caller may reuse it at once); returns the ciphertext it completes (none with a sink). */
  update(data: Buffer): Buffer {
    if (this.#finished) throw new Error('ChunkSealer: update after final');
    this.bytesIn += data.length;
    this.#begin(this.#heldBytes + data.length);
    let off = 0;
    if (this.#heldBytes > 0) {
      const need = this.#chunk - this.#heldBytes;
      if (data.length <= need) {
        data.copy(this.#held, this.#heldBytes); this.#heldBytes += data.length;
        return this.#out.subarray(0, this.#outBytes);
      }
      data.copy(this.#held, this.#heldBytes, 0, need);
      this.#seal(this.#held, false);
      this.#heldBytes = 0; off = need;
    }
    while (data.length - off > this.#chunk) { this.#seal(data.subarray(off, off + this.#chunk), false); off += this.#chunk; }
    this.#heldBytes = data.copy(this.#held, 0, off);
    return this.#out.subarray(0, this.#outBytes);
  }

  /** The last chunk (possibly empty), sealed as final (and the header, if nothing was written). */
  final(): Buffer {
    if (this.#finished) throw new Error('ChunkSealer: final twice');
    this.#finished = true;
    this.#begin(this.#heldBytes);
    this.#seal(this.#held.subarray(0, this.#heldBytes), true);
    return this.#out.subarray(0, this.#outBytes);
  }
}

/** ChunkSealer as a stream (backups): the same format from the same code. */
export class EncryptStream extends Transform {
  readonly #sealer: ChunkSealer;
  constructor(ring: Keyring, chunk = CHUNK) {
    super();
    this.#sealer = new ChunkSealer(ring, chunk);
  }
  /** Plaintext bytes taken in. */
  get bytesIn(): number { return this.#sealer.bytesIn; }
  // the sealer reuses its output buffer at the next call, so what is pushed downstream is a copy
  override _transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const out = this.#sealer.update(data);
    if (out.length) this.push(Buffer.from(out));
    cb();
  }
  override _flush(cb: TransformCallback): void {
    this.push(Buffer.from(this.#sealer.final()));
    cb();
  }
}

export class DecryptStream extends Transform {
  readonly #ring: Keyring;
  #header?: Header;
  #key?: KeyObject;
  /** Input held back: a partial chunk, or at least one whole chunk until more input shows it is not the final one. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #i = 0;
  constructor(ring: Keyring) { super(); this.#ring = ring; }
  #open(buf: Buffer, final: boolean): void {
    this.push(openChunk(this.#key!, this.#header!.prefix, this.#i++, buf, final));
  }
  override _transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      let off = 0;
      if (!this.#header) {
        const all = this.#heldBytes ? Buffer.concat([...this.#held, data]) : data;
        const h = parseHeader(all);
        if (!h) { this.#held = [Buffer.from(all)]; this.#heldBytes = all.length; return cb(); }
        this.#header = h; this.#key = createSecretKey(this.#ring.unwrap(h.kid, h.wrapped));
        this.#held = []; this.#heldBytes = 0;
        data = all; off = h.length;
      }
      const size = this.#header.chunk + TAG;
      if (this.#heldBytes > 0) {
        const need = size - this.#heldBytes;
        if (data.length - off <= need) { this.#hold(data.subarray(off)); return cb(); }
        this.#held.push(data.subarray(off, off + need));
        this.#open(Buffer.concat(this.#held, size), false);
        this.#held = []; this.#heldBytes = 0; off += need;
      }
      while (data.length - off > size) { this.#open(data.subarray(off, off + size), false); off += size; }
      if (off < data.length) this.#hold(data.subarray(off));
      cb();
    } catch (e) { cb(e as Error); }
  }
  #hold(b: Buffer): void { this.#held.push(Buffer.from(b)); this.#heldBytes += b.length; }
  override _flush(cb: TransformCallback): void {
    try {
      if (!this.#header) throw new Error('encrypted file is truncated (no header)');
      const rest = Buffer.concat(this.#held, this.#heldBytes);
      if (rest.length < TAG) throw new Error('encrypted file is truncated');
      this.#open(rest, true);
      cb();
    } catch (e) { cb(e as Error); }
  }
}

/** A file open for positional reads (local storage's AlignedFileReader): each read's view is valid until the next. */
export interface PositionalReader {
  readonly size: number;
  read(pos: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** An encrypted file opened for reading: its plaintext size, header and data key, and its plaintext as a stream. */
export interface OpenedEncryptedFile {
  size: number;
  header: Header;
  key: KeyObject;
  /** The plaintext as a stream, which closes the file however it ends (call once). */
  stream(): Readable;
}

/**
 * Opens an encrypted file for reading (a download): the plaintext size comes from the header's chunk size and the file
 * size. The stream reads one sealed chunk at a time (into the reader's buffer, reused), decrypts it and checks its
 * tag before the next read, so what it allocates is the plaintext it pushes.
 */
export async function openEncryptedFile(file: PositionalReader, ring: Keyring): Promise<OpenedEncryptedFile> {
  const h = parseHeader(Buffer.from(await file.read(0, 256)));
  if (!h) throw new Error('encrypted file is truncated (no header)');
  const key = createSecretKey(ring.unwrap(h.kid, h.wrapped));
  return { size: plaintextSize(file.size, h.length, h.chunk), header: h, key, stream: () => new DecryptedFileStream(file, h, key) };
}

/**
 * An encrypted file's sealed chunks, in order: each `next` reads one (into the reader's buffer), checks its tag and
 * returns its plaintext. Shared by the download stream below and the download thread (decrypt-thread-entry.ts).
 */
export class SealedChunks {
  readonly #file: PositionalReader;
  readonly #key: KeyObject;
  readonly #prefix: Buffer;
  readonly #chunk: number;
  #pos: number;
  #i = 0;
  /** `start`: where the first sealed chunk begins (the header's length); `chunk`: plaintext bytes per chunk. */
  constructor(file: PositionalReader, key: KeyObject, prefix: Buffer, start: number, chunk: number) {
    this.#file = file; this.#key = key; this.#prefix = prefix; this.#pos = start; this.#chunk = chunk;
  }

  /** The next chunk's plaintext (a new buffer), and whether it is the last; throws if it is forged or cut short. */
  async next(): Promise<{ plain: Buffer; final: boolean }> {
    const want = Math.min(this.#chunk + TAG, this.#file.size - this.#pos);
    if (want < TAG) throw new Error('encrypted file is truncated');
    const sealed = await this.#file.read(this.#pos, want);
    if (sealed.length !== want) throw new Error('encrypted file is truncated');
    this.#pos += want;
    const final = this.#pos === this.#file.size;
    return { plain: openChunk(this.#key, this.#prefix, this.#i++, sealed, final), final };
  }
}

class DecryptedFileStream extends Readable {
  readonly #file: PositionalReader;
  readonly #chunks: SealedChunks;
  constructor(file: PositionalReader, h: Header, key: KeyObject) {
    super({ highWaterMark: h.chunk });
    this.#file = file;
    this.#chunks = new SealedChunks(file, key, h.prefix, h.length, h.chunk);
  }

  override _read(): void {
    this.#chunks.next().then(({ plain, final }) => {
      if (plain.length) this.push(plain);
      if (final) this.push(null);
      else if (!plain.length) this._read(); // an empty chunk is only ever the final one; do not stall on it anyway
    }).catch((e: Error) => this.destroy(e));
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.#file.close().then(() => cb(err), () => cb(err));
  }
}

/** Reads an encrypted file's header (its length and master key id) without decrypting anything. */
export async function readFileHeader(file: string): Promise<{ kid: string; length: number; chunk: number }> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const h = await headerOf(fh);
    if (!h) throw new Error(`${file}: truncated header`);
    return { kid: h.kid, length: h.length, chunk: h.chunk };
  } finally { await fh.close(); }
}

/** Re-wraps an encrypted file's data key under the keyring's current master key, in place. Returns true if changed. */
export async function rewrapFile(file: string, ring: Keyring): Promise<boolean> {
  const fh = await fs.promises.open(file, 'r+');
  try {
    const h = await headerOf(fh);
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
