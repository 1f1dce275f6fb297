/**
 * Envelope encryption of the secrets the service stores (docs/adr/0009-backups-encryption-scale-out.md).
 *
 * A key-encryption key (the master key: MASTER_KEY, MASTER_KEY_FILE, or in development DATA_DIR/master.key) wraps a
 * fresh AES-256 data key per secret (per row, per file, per backup); the data key encrypts the secret with AES-256-GCM.
 * What is stored names the master key by its id (the first 16 hex digits of its SHA-256), so rotation re-wraps the
 * data keys under a new master key without touching the ciphertext, and previous master keys
 * (MASTER_KEY_PREVIOUS) still open rows not yet re-wrapped.
 *
 * Text secrets (database columns) are stored as
 *   enc:v1:<kid>:<wrapped data key, base64>:<iv, base64>:<ciphertext+tag, base64>
 * with the row's identity (table, tenant, key) as GCM additional data, so a ciphertext moved to another row fails.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.ts';

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** iv + wrapped 32-byte data key + tag */
export const WRAPPED_KEY_BYTES = IV_BYTES + KEY_BYTES + TAG_BYTES;
const TEXT_PREFIX = 'enc:v1:';

export interface MasterKey { id: string; key: Buffer }

export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update('plannet-master-key\0').update(key).digest('hex').slice(0, 16);
}

export function parseMasterKey(text: string, source: string): MasterKey {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`Configuration error: ${source} must be 32 bytes, base64 (e.g. \`openssl rand -base64 32\`)`);
  return { id: masterKeyId(key), key };
}

/** The current master key (wraps everything new) and previous ones (still unwrap what they wrapped). */
export class Keyring {
  readonly current: MasterKey;
  readonly #byId = new Map<string, MasterKey>();
  /** Where the development key lives, when it was generated into DATA_DIR. */
  readonly devKeyFile?: string;
  constructor(current: MasterKey, previous: MasterKey[] = [], devKeyFile?: string) {
    this.current = current;
    for (const k of [current, ...previous]) if (!this.#byId.has(k.id)) this.#byId.set(k.id, k);
    this.devKeyFile = devKeyFile;
  }

  static ephemeral(): Keyring { return new Keyring(parseMasterKey(randomBytes(KEY_BYTES).toString('base64'), 'ephemeral key')); }

  key(id: string): Buffer {
    const k = this.#byId.get(id);
    if (!k) throw new Error(`master key ${id} is not configured (set MASTER_KEY, or list it in MASTER_KEY_PREVIOUS while rotating)`);
    return k.key;
  }

  /** Wraps a data key under the current master key: iv ‖ ciphertext ‖ tag. */
  wrap(dataKey: Buffer): { kid: string; wrapped: Buffer } {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.current.key, iv);
    c.setAAD(Buffer.from(`wrap:${this.current.id}`));
    const ct = Buffer.concat([c.update(dataKey), c.final()]);
    return { kid: this.current.id, wrapped: Buffer.concat([iv, ct, c.getAuthTag()]) };
  }

  unwrap(kid: string, wrapped: Buffer): Buffer {
    if (wrapped.length !== WRAPPED_KEY_BYTES) throw new Error('wrapped data key has the wrong length');
    const d = createDecipheriv('aes-256-gcm', this.key(kid), wrapped.subarray(0, IV_BYTES));
    d.setAAD(Buffer.from(`wrap:${kid}`));
    d.setAuthTag(wrapped.subarray(IV_BYTES + KEY_BYTES));
    return Buffer.concat([d.update(wrapped.subarray(IV_BYTES, IV_BYTES + KEY_BYTES)), d.final()]);
  }

  // ---- text secrets (database columns) ----

  static isEncrypted(stored: string): boolean { return stored.startsWith(TEXT_PREFIX); }

  /** Encrypts a text secret; `context` (table/tenant/key) is bound as additional data. */
  encryptText(plaintext: string, context: string): string {
    const dataKey = randomBytes(KEY_BYTES);
    const { kid, wrapped } = this.wrap(dataKey);
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', dataKey, iv);
    c.setAAD(Buffer.from(context));
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]);
    return `${TEXT_PREFIX}${kid}:${wrapped.toString('base64')}:${iv.toString('base64')}:${ct.toString('base64')}`;
  }

  /** Decrypts a stored text secret; a plaintext value (stored before encryption at rest) is returned as it is. */
  decryptText(stored: string, context: string): string {
    if (!Keyring.isEncrypted(stored)) return stored;
    const [kid, w, ivB, ctB] = stored.slice(TEXT_PREFIX.length).split(':');
    const dataKey = this.unwrap(kid!, Buffer.from(w!, 'base64'));
    const ct = Buffer.from(ctB!, 'base64');
    const d = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(ivB!, 'base64'));
    d.setAAD(Buffer.from(context));
    d.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
    return Buffer.concat([d.update(ct.subarray(0, ct.length - TAG_BYTES)), d.final()]).toString('utf8');
  }

  /** Re-wraps a stored text secret's data key under the current master key (ciphertext unchanged); plaintext → encrypted. */
  rewrapText(stored: string, context: string): string {
    if (!Keyring.isEncrypted(stored)) return this.encryptText(stored, context);
    const [kid, w, ivB, ctB] = stored.slice(TEXT_PREFIX.length).split(':');
    if (kid === this.current.id) return stored;
    const { kid: nk, wrapped } = this.wrap(this.unwrap(kid!, Buffer.from(w!, 'base64')));
    return `${TEXT_PREFIX}${nk}:${wrapped.toString('base64')}:${ivB}:${ctB}`;
  }

  static keyIdOf(stored: string): string | undefined {
    return Keyring.isEncrypted(stored) ? stored.slice(TEXT_PREFIX.length).split(':')[0] : undefined;
  }
}

export const DEV_KEY_FILE = 'master.key';
export const DEV_PREVIOUS_FILE = 'master.key.previous';

const cache = new Map<string, Keyring>();

/**
 * The keyring from configuration: MASTER_KEY, else MASTER_KEY_FILE; in production one of them is required; in
 * development a key is generated once into DATA_DIR/master.key (mode 600, never committed: DATA_DIR is ignored).
 * MASTER_KEY_PREVIOUS (comma-separated) and DATA_DIR/master.key.previous (one a line) name previous keys.
 */
export function loadKeyring(config: Pick<Config, 'dataDir' | 'production' | 'masterKey' | 'masterKeyFile' | 'masterKeysPrevious'>): Keyring {
  const cacheKey = JSON.stringify([config.dataDir, config.production, config.masterKey, config.masterKeyFile, config.masterKeysPrevious]);
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  let current: MasterKey;
  let devKeyFile: string | undefined;
  if (config.masterKey) current = parseMasterKey(config.masterKey, 'MASTER_KEY');
  else if (config.masterKeyFile) current = parseMasterKey(fs.readFileSync(config.masterKeyFile, 'utf8'), `MASTER_KEY_FILE (${config.masterKeyFile})`);
  else if (config.production) throw new Error('Configuration error: set MASTER_KEY or MASTER_KEY_FILE in production (the key-encryption key for secrets at rest)');
  else {
    devKeyFile = path.join(config.dataDir, DEV_KEY_FILE);
    current = parseMasterKey(readOrCreateKeyFile(devKeyFile), devKeyFile);
  }
  const previous = (config.masterKeysPrevious ?? '').split(',').filter((s) => s.trim()).map((s) => parseMasterKey(s, 'MASTER_KEY_PREVIOUS'));
  const prevFile = path.join(config.dataDir, DEV_PREVIOUS_FILE);
  if (fs.existsSync(prevFile)) {
    for (const line of fs.readFileSync(prevFile, 'utf8').split('\n')) if (line.trim()) previous.push(parseMasterKey(line, prevFile));
  }
  const ring = new Keyring(current, previous, devKeyFile);
  cache.set(cacheKey, ring);
  return ring;
}

function readOrCreateKeyFile(file: string): string {
  try { return fs.readFileSync(file, 'utf8'); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    fs.writeFileSync(file, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; /* another process made it first */ }
  return fs.readFileSync(file, 'utf8');
}

/** Forgets cached keyrings (after `keys rotate` replaced the development key file). */
export function clearKeyringCache(): void { cache.clear(); }
