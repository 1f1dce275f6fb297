/**
 * The key that signs checkpoints of the retention job: HMAC-SHA256 over (kind, tenant, seq, hash). It comes from
 * AUDIT_CHECKPOINT_KEY (hex or base64, at least 32 bytes); when that is unset a development key is generated once into
 * DATA_DIR/audit-checkpoint.key (mode 0600). Keys are never committed; production sets the variable from a secret
 * store. The database owner cannot forge a checkpoint without this key, so purging cannot hide an altered row.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.ts';

export const DEV_KEY_FILE = 'audit-checkpoint.key';

export interface CheckpointKey { id: string; key: Buffer; source: string }

function decodeKey(raw: string, source: string): Buffer {
  const s = raw.trim();
  const key = /^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0 ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64');
  if (key.length < 32) throw new Error(`Configuration error: the audit checkpoint key from ${source} must be at least 32 bytes (hex or base64)`);
  return key;
}

/**
 * Loads the checkpoint key. `create` (the purge job) generates the development key when neither the variable nor the
 * file exists; verification never creates one (a new key could not check old checkpoints anyway).
 */
export function loadCheckpointKey(config: Pick<Config, 'dataDir' | 'auditCheckpointKey'>, opts: { create?: boolean } = {}): CheckpointKey | undefined {
  let key: Buffer;
  let source: string;
  if (config.auditCheckpointKey) {
    key = decodeKey(config.auditCheckpointKey, 'AUDIT_CHECKPOINT_KEY');
    source = 'AUDIT_CHECKPOINT_KEY';
  } else {
    const file = path.join(config.dataDir, DEV_KEY_FILE);
    if (fs.existsSync(file)) key = decodeKey(fs.readFileSync(file, 'utf8'), file);
    else if (opts.create) {
      fs.mkdirSync(config.dataDir, { recursive: true });
      key = randomBytes(32);
      fs.writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } else return undefined;
    source = file;
  }
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 16), key, source };
}

export type CheckpointKind = 'purge' | 'anchor';

function message(kind: CheckpointKind, tenant: string, seq: number, hash: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`plannet-audit-checkpoint\0${kind}\0${tenant}\0${seq}\0`), hash]);
}

export function signCheckpoint(key: CheckpointKey, kind: CheckpointKind, tenant: string, seq: number, hash: Buffer): Buffer {
  return createHmac('sha256', key.key).update(message(kind, tenant, seq, hash)).digest();
}

export function checkCheckpoint(key: CheckpointKey, kind: CheckpointKind, tenant: string, seq: number, hash: Buffer, signature: Buffer): boolean {
  const expected = signCheckpoint(key, kind, tenant, seq, hash);
  return signature.length === expected.length && timingSafeEqual(signature, expected);
}
