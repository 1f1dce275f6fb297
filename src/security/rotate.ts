/**
 * Master-key rotation: every stored secret's data key is re-wrapped under the current master key (the ciphertexts
 * stay as they are), rows still in clear are encrypted, and so are the headers of encrypted files (export files on
 * local storage, backups). Runs as the database owner, so it reaches every tenant's rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { Keyring } from './envelope.ts';
import { readFileHeader, rewrapFile } from './stream.ts';
import { secretContext } from '../auth/smart/keys.ts';
import { spKeyContext } from '../auth/saml/sp-keys.ts';

export interface SecretColumn { table: string; key: string[]; column: string; context(row: Record<string, string>): string }

/** Every column holding a secret the service stores. (SMART clients authenticate with public keys: no client secrets exist.) */
export const SECRET_COLUMNS: SecretColumn[] = [
  { table: 'signing_keys', key: ['tenant_id', 'kid'], column: 'private_jwk', context: (r) => secretContext(r.tenant_id!, r.kid!) },
  { table: 'saml_sp_keys', key: ['tenant_id', 'purpose'], column: 'private_key', context: (r) => spKeyContext(r.tenant_id!, r.purpose!) },
];

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

export async function secretStatus(query: Query): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const c of SECRET_COLUMNS) {
    const { rows } = await query(`SELECT ${c.column} AS v FROM ${c.table}`);
    for (const r of rows) {
      const k = `${c.table}: ${Keyring.keyIdOf(r.v) ?? 'PLAINTEXT'}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

/** Re-wraps every secret row; `query` must run in one transaction as the owner. Returns rows changed per table. */
export async function rewrapSecrets(query: Query, ring: Keyring): Promise<Record<string, number>> {
  const changed: Record<string, number> = {};
  for (const c of SECRET_COLUMNS) {
    const { rows } = await query(`SELECT ${c.key.join(', ')}, ${c.column} AS v FROM ${c.table} FOR UPDATE`);
    changed[c.table] = 0;
    for (const r of rows) {
      const next = ring.rewrapText(r.v, c.context(r));
      if (next === r.v) continue;
      await query(`UPDATE ${c.table} SET ${c.column} = $${c.key.length + 1} WHERE ${c.key.map((k, i) => `${k} = $${i + 1}`).join(' AND ')}`,
        [...c.key.map((k) => r[k]), next]);
      changed[c.table]!++;
    }
  }
  return changed;
}

/** Re-wraps every encrypted file under `root` (export files; .partial files are skipped). */
export async function rewrapFolder(root: string, ring: Keyring): Promise<{ files: number; changed: number }> {
  let files = 0, changed = 0;
  if (!fs.existsSync(root)) return { files, changed };
  for (const e of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || e.name.endsWith('.partial')) continue;
    const p = path.join(e.parentPath, e.name);
    try { await readFileHeader(p); } catch { continue; /* not an encrypted file */ }
    files++;
    if (await rewrapFile(p, ring)) changed++;
  }
  return { files, changed };
}
