/**
 * Each tenant's SP keys: one RSA key signs our AuthnRequests (and the SP metadata), another receives encrypted
 * assertions. Both are generated on first use and stored in the database (`saml_sp_keys`), never in files or the
 * repository; the certificates are self-signed and published in the tenant's SP metadata.
 */
import type { Db } from '../../storage/db.ts';
import { bookkeepingTx } from '../sessions/tx.ts';
import { newRsaKeyWithCertificate } from './certificate.ts';
import { Keyring } from '../../security/envelope.ts';

/** Additional data binding an encrypted SP private key to its row (private keys are encrypted at rest, src/security). */
export function spKeyContext(tenant: string, purpose: string): string { return `saml_sp_keys:${tenant}:${purpose}`; }

export interface SpKey { privateKeyPem: string; certificatePem: string }
export interface SpKeyPair { signing: SpKey; encryption: SpKey }

export class SpKeys {
  readonly #db: Db;
  readonly #cache = new Map<string, Promise<SpKeyPair>>();
  constructor(db: Db) { this.#db = db; }

  async #load(tenant: string): Promise<Partial<SpKeyPair>> {
    const ring = this.#db.keyring;
    const rows = await bookkeepingTx(this.#db, tenant, async (tx) => {
      const found = (await tx.query('SELECT purpose, private_key, certificate FROM saml_sp_keys WHERE tenant_id = $1', [tenant])).rows;
      // rows stored in clear before encryption at rest are encrypted on first read
      for (const r of found) {
        if (!Keyring.isEncrypted(r.private_key)) {
          await tx.query('UPDATE saml_sp_keys SET private_key = $3 WHERE tenant_id = $1 AND purpose = $2 AND private_key = $4',
            [tenant, r.purpose, ring.encryptText(r.private_key, spKeyContext(tenant, r.purpose)), r.private_key]);
        }
      }
      return found;
    });
    return Object.fromEntries(rows.map((r) => [r.purpose, { privateKeyPem: ring.decryptText(r.private_key, spKeyContext(tenant, r.purpose)), certificatePem: r.certificate }]));
  }

  /** The tenant's keys, generated (once, even with many instances starting at the same time) on first use. */
  get(tenant: string): Promise<SpKeyPair> {
    let p = this.#cache.get(tenant);
    if (!p) {
      p = this.#getOrCreate(tenant);
      this.#cache.set(tenant, p);
      p.catch(() => this.#cache.delete(tenant));
    }
    return p;
  }

  async #getOrCreate(tenant: string): Promise<SpKeyPair> {
    let keys = await this.#load(tenant);
    if (keys.signing && keys.encryption) return keys as SpKeyPair;
    const fresh = {
      signing: await newRsaKeyWithCertificate(`Plan-Net directory SAML SP ${tenant} (signing)`),
      encryption: await newRsaKeyWithCertificate(`Plan-Net directory SAML SP ${tenant} (encryption)`),
    };
    await bookkeepingTx(this.#db, tenant, async (tx) => {
      for (const purpose of ['signing', 'encryption'] as const) {
        await tx.query(`INSERT INTO saml_sp_keys (tenant_id, purpose, private_key, certificate) VALUES ($1, $2, $3, $4)
                        ON CONFLICT (tenant_id, purpose) DO NOTHING`,
          [tenant, purpose, this.#db.keyring.encryptText(fresh[purpose].privateKeyPem, spKeyContext(tenant, purpose)), fresh[purpose].certificatePem]);
      }
    });
    keys = await this.#load(tenant); // whoever inserted first wins
    return keys as SpKeyPair;
  }
}
