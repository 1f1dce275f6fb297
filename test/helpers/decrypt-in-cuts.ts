/** Decrypts `cipher` through a DecryptStream, written in pieces of the given sizes (cycled): chunk edges in every place. */
import type { Keyring } from '../../src/security/envelope.ts';
import { DecryptStream } from '../../src/security/stream.ts';

export function decryptInCuts(ring: Keyring, cipher: Buffer, cuts: number[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const dec = new DecryptStream(ring);
    const out: Buffer[] = [];
    dec.on('data', (c: Buffer) => out.push(c));
    dec.on('error', reject);
    dec.on('end', () => resolve(Buffer.concat(out)));
    for (let off = 0, i = 0; off < cipher.length; i++) {
      const n = Math.min(cuts[i % cuts.length], cipher.length - off);
      dec.write(cipher.subarray(off, off + n));
      off += n;
    }
    dec.end();
  });
}
