/**
 * The encryption the encrypted file storage writes with (ChunkSealer in src/security/stream.ts): it seals into one
 * output buffer it reuses between calls and holds plaintext back in another, so these check that no byte is lost or
 * overwritten at a chunk edge: every size around the chunk size, every way of cutting the input, a writer that
 * overwrites its input and the previous output as soon as a call returns, and the files DecryptStream reads back
 * (the download path) are exact; the bytes differ from EncryptStream's only by key and nonce.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Keyring, parseMasterKey } from '../../src/security/envelope.ts';
import { ChunkSealer, decryptFile, plaintextSize } from '../../src/security/stream.ts';
import { decryptInCuts } from '../helpers/decrypt-in-cuts.ts';
import { EncryptedFileStorage } from '../../src/security/file-storage.ts';
import { LocalFileStorage } from '../../src/jobs/storage/local.ts';

const ring = new Keyring(parseMasterKey(randomBytes(32).toString('base64'), 'test'));
const CHUNK = 1024;

function seal(plain: Buffer, cuts: number[], chunk = CHUNK): Buffer {
  const s = new ChunkSealer(ring, chunk);
  const out: Buffer[] = [];
  const scratch = Buffer.alloc(plain.length + 1);
  let off = 0;
  let last: Buffer | undefined;
  for (let i = 0; off < plain.length; i++) {
    const n = Math.min(cuts[i % cuts.length], plain.length - off);
    plain.copy(scratch, 0, off, off + n);
    if (last) last.fill(0xdd); // the previous output is the sealer's own buffer: gone once the next call starts
    const c = s.update(scratch.subarray(0, n));
    out.push(Buffer.from(c));
    last = c;
    scratch.fill(0xee, 0, n); // the input is reused as soon as the call returns
    off += n;
  }
  if (last) last.fill(0xdd);
  out.push(Buffer.from(s.final()));
  assert.equal(s.bytesIn, plain.length);
  return Buffer.concat(out);
}

const decrypt = (cipher: Buffer, cuts: number[]) => decryptInCuts(ring, cipher, cuts);

const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 5 * CHUNK + 17, 40_000];
const CUTS = [[1], [CHUNK], [CHUNK - 1], [CHUNK + 1], [2 * CHUNK], [3 * CHUNK + 1], [7, 1500, 1, 4096, CHUNK, 300], [40_000]];

test('sealed output decrypts exactly for every size and every way of cutting the input, reused buffers and all', async () => {
  for (const size of SIZES) {
    const plain = randomBytes(size);
    for (const wc of CUTS) {
      const cipher = seal(plain, wc);
      assert.equal(plaintextSize(cipher.length, 6 + 1 + ring.current.id.length + 60 + 8 + 4, CHUNK), size, `size ${size}, cuts ${wc}`);
      for (const rc of [[1], [CHUNK + 16], [CHUNK + 17], [5, 2000, 33]]) {
        assert.ok((await decrypt(cipher, rc)).equals(plain), `size ${size}, write cuts ${wc}, read cuts ${rc}`);
      }
    }
  }
});

test('a sealed file missing its final chunk, cut short or with a flipped bit fails to decrypt', async () => {
  const plain = randomBytes(5 * CHUNK + 100);
  const cipher = seal(plain, [CHUNK]);
  await assert.rejects(decrypt(cipher.subarray(0, cipher.length - (100 + 16)), [4096]));
  await assert.rejects(decrypt(cipher.subarray(0, cipher.length - 1), [4096]));
  const flipped = Buffer.from(cipher);
  flipped[flipped.length - 200] ^= 1;
  await assert.rejects(decrypt(flipped, [4096]));
});

test('the encrypted file storage writes what it is given, with the caller reusing its buffer after each write', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealer-'));
  try {
    const storage = new EncryptedFileStorage(new LocalFileStorage(dir), ring);
    for (const size of [0, 1, 65_536, 65_537, 256 * 1024, 3 * 256 * 1024 + 5, 1_000_003]) {
      const plain = randomBytes(size);
      const w = await storage.createWriter(`t/f-${size}`);
      const buf = Buffer.alloc(256 * 1024);
      for (let off = 0, i = 0; off < size; i++) {
        const n = Math.min([256 * 1024, 1, 70_000, 65_536][i % 4], size - off);
        plain.copy(buf, 0, off, off + n);
        await w.write(buf.subarray(0, n));
        buf.fill(0xee);
        off += n;
      }
      assert.equal(await w.close(), size);
      assert.ok((await decryptFile(path.join(dir, `t/f-${size}`), ring)).equals(plain), `size ${size}`);
      const f = await storage.open(`t/f-${size}`);
      assert.equal(f!.size, size);
      const parts: Buffer[] = [];
      for await (const c of f!.stream) parts.push(c as Buffer);
      assert.ok(Buffer.concat(parts).equals(plain), `download of size ${size}`);
    }
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
