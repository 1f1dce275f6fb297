/**
 * The streaming file encryption (src/security/stream.ts) under every way its input can be cut: writes of 1 byte, of
 * exactly a chunk, of a chunk ± 1 and of many chunks, a writer that reuses its buffer as soon as a write returns, and
 * decryption fed in equally odd pieces. Round trips must be exact; a dropped last chunk or a flipped bit must fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Keyring, parseMasterKey } from '../../src/security/envelope.ts';
import { EncryptStream } from '../../src/security/stream.ts';
import { decryptInCuts } from '../helpers/decrypt-in-cuts.ts';

const ring = new Keyring(parseMasterKey(randomBytes(32).toString('base64'), 'test'));
const CHUNK = 1024; // small chunks, so boundaries are everywhere

function encrypt(plain: Buffer, cuts: number[]): Buffer {
  const enc = new EncryptStream(ring, CHUNK);
  const out: Buffer[] = [];
  enc.on('data', (c: Buffer) => out.push(Buffer.from(c)));
  const scratch = Buffer.alloc(plain.length + 1);
  let off = 0;
  for (let i = 0; off < plain.length; i++) {
    const n = Math.min(cuts[i % cuts.length], plain.length - off);
    // a reused buffer, overwritten right after the write returns, as the NDJSON writer does
    plain.copy(scratch, 0, off, off + n);
    enc.write(scratch.subarray(0, n));
    scratch.fill(0xee, 0, n);
    off += n;
  }
  enc.end();
  return Buffer.concat(out);
}

const decrypt = (cipher: Buffer, cuts: number[]) => decryptInCuts(ring, cipher, cuts);

const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 5 * CHUNK + 17, 40_000];
const CUTS = [[1], [CHUNK], [CHUNK - 1], [CHUNK + 1], [3 * CHUNK], [7, 1500, 1, 4096, CHUNK, 300]];

test('round trips are exact for every size and every way of cutting the input and the ciphertext', async () => {
  for (const size of SIZES) {
    const plain = randomBytes(size);
    for (const wc of CUTS) {
      const cipher = encrypt(plain, wc);
      for (const rc of [[1], [CHUNK + 16], [CHUNK + 15], [CHUNK + 17], [100_000], [5, 2000, 33]]) {
        const back = await decrypt(cipher, rc);
        assert.ok(back.equals(plain), `size ${size}, write cuts ${wc}, read cuts ${rc}`);
      }
    }
  }
});

test('a dropped final chunk, a truncated tail or a flipped bit fails decryption', async () => {
  const plain = randomBytes(5 * CHUNK + 100);
  const cipher = encrypt(plain, [CHUNK]);
  const headerAndFour = cipher.subarray(0, cipher.length - (100 + 16)); // the last (final) chunk dropped
  await assert.rejects(decrypt(headerAndFour, [4096]));
  await assert.rejects(decrypt(cipher.subarray(0, cipher.length - 1), [4096]));
  const flipped = Buffer.from(cipher);
  flipped[flipped.length - 200] ^= 1;
  await assert.rejects(decrypt(flipped, [4096]));
});
