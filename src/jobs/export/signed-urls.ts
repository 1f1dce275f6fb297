/**
 * Signed, expiring download URLs: `.../$export-file/{job}/{file}?exp={unix seconds}&sig={HMAC}` where
 * sig = base64url(HMAC-SHA256(key, "v1|tenant|job|file|exp")). The URL is a bearer capability for one file of one
 * job of one tenant until `exp`; the signature is compared in constant time. It travels in the query string, which
 * the request logger never records.
 *
 * The key comes from EXPORT_URL_SIGNING_KEY, or is generated once into DATA_DIR (mode 0600). Instances that serve
 * the same tenants must share it (set the variable, or share DATA_DIR).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/config.ts';

const KEY_FILE = 'export-url-signing.key';

export class UrlSigner {
  readonly #key: Buffer;
  constructor(key: Buffer | string) { this.#key = Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8'); }

  #mac(tenant: string, job: string, file: string, exp: number): Buffer {
    return createHmac('sha256', this.#key).update(`v1|${tenant}|${job}|${file}|${exp}`).digest();
  }

  /** Query string (`exp=…&sig=…`) for a file, valid for `ttlSeconds`. */
  sign(tenant: string, job: string, file: string, ttlSeconds: number, now = Date.now()): { query: string; expires: Date } {
    const exp = Math.floor(now / 1000) + ttlSeconds;
    return { query: `exp=${exp}&sig=${this.#mac(tenant, job, file, exp).toString('base64url')}`, expires: new Date(exp * 1000) };
  }

  /** 'ok', 'expired' (genuine but past its time) or 'invalid' (anything else: tampered, truncated, another file's). */
  verify(tenant: string, job: string, file: string, exp: string | undefined, sig: string | undefined, now = Date.now()): 'ok' | 'expired' | 'invalid' {
    if (!exp || !sig || !/^\d{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return 'invalid';
    // Compare the text, not the decoded bytes: the 43rd character of a 32-byte base64url value carries 2 unused bits, so
    // four spellings decode to the same MAC. A URL with one character changed must not still work.
    const given = Buffer.from(sig, 'latin1');
    const expected = Buffer.from(this.#mac(tenant, job, file, Number(exp)).toString('base64url'), 'latin1');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return Number(exp) * 1000 < now ? 'expired' : 'ok';
  }
}

export function loadUrlSigner(config: Config): UrlSigner {
  if (config.export.signingKey) return new UrlSigner(config.export.signingKey);
  const file = path.join(config.dataDir, KEY_FILE);
  try {
    return new UrlSigner(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32).toString('hex');
  try {
    fs.writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another process wrote it first: use theirs
    return new UrlSigner(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex'));
  }
  return new UrlSigner(Buffer.from(key, 'hex'));
}
