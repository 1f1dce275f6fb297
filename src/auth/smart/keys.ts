/**
 * Each tenant's access-token signing keys (ES384). The newest unretired key signs; every unretired key, and keys
 * retired less than a token lifetime ago, verify and are published in the tenant's JWKS, so rotation never breaks a
 * live token. Private keys are stored as JWK text encrypted under the master key (src/security/envelope.ts); a row
 * stored in clear before encryption at rest is encrypted on first read.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import type { Db } from '../../storage/db.ts';
import { Keyring } from '../../security/envelope.ts';

export const TOKEN_ALG = 'ES384';
export const ACCESS_TOKEN_TTL_S = 300;

export interface SigningKey { kid: string; alg: string; publicJwk: Record<string, unknown>; privateKey?: KeyObject; publicKey: KeyObject; retiredAt?: Date }

/** Additional data binding an encrypted private key to its row. */
export function secretContext(tenant: string, kid: string): string { return `signing_keys:${tenant}:${kid}`; }

export class SigningKeys {
  readonly #db: Db;
  readonly #cache = new Map<string, { keys: SigningKey[]; at: number }>();
  constructor(db: Db) { this.#db = db; }

  async #load(tenant: string): Promise<SigningKey[]> {
    const hit = this.#cache.get(tenant);
    if (hit && Date.now() - hit.at < 30_000) return hit.keys;
    const keys = await this.#db.withTenant(tenant, async (tx) => {
      const { rows } = await tx.query(
        `SELECT kid, alg, public_jwk, private_jwk, retired_at FROM signing_keys
          WHERE tenant_id = $1 AND (retired_at IS NULL OR retired_at > now() - make_interval(secs => $2))
          ORDER BY created_at DESC`, [tenant, ACCESS_TOKEN_TTL_S * 2]);
      return rows;
    });
    const ring = this.#db.keyring;
    const plaintext = keys.filter((r) => !Keyring.isEncrypted(r.private_jwk));
    if (plaintext.length) {
      await this.#db.withTenant(tenant, async (tx) => {
        for (const r of plaintext) {
          await tx.query('UPDATE signing_keys SET private_jwk = $3 WHERE tenant_id = $1 AND kid = $2 AND private_jwk = $4',
            [tenant, r.kid, ring.encryptText(r.private_jwk, secretContext(tenant, r.kid)), r.private_jwk]);
        }
      });
    }
    const parsed: SigningKey[] = keys.map((r) => ({
      kid: r.kid, alg: r.alg, publicJwk: r.public_jwk,
      privateKey: r.retired_at ? undefined : createPrivateKey({ key: JSON.parse(ring.decryptText(r.private_jwk, secretContext(tenant, r.kid))), format: 'jwk' }),
      publicKey: createPublicKey({ key: r.public_jwk, format: 'jwk' }),
      retiredAt: r.retired_at ?? undefined,
    }));
    this.#cache.set(tenant, { keys: parsed, at: Date.now() });
    return parsed;
  }

  /** The key that signs new tokens, created on first use. */
  async current(tenant: string): Promise<SigningKey> {
    const active = (await this.#load(tenant)).find((k) => !k.retiredAt && k.privateKey);
    if (active) return active;
    await this.rotate(tenant);
    return (await this.#load(tenant)).find((k) => !k.retiredAt && k.privateKey)!;
  }

  async verificationKey(tenant: string, kid: string): Promise<KeyObject | undefined> {
    let k = (await this.#load(tenant)).find((x) => x.kid === kid);
    if (!k) { this.#cache.delete(tenant); k = (await this.#load(tenant)).find((x) => x.kid === kid); }
    return k?.publicKey;
  }

  async jwks(tenant: string): Promise<{ keys: Record<string, unknown>[] }> {
    await this.current(tenant);
    return { keys: (await this.#load(tenant)).map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' })) };
  }

  /** Creates a new signing key and retires the previous ones (they keep verifying for a token lifetime). */
  async rotate(tenant: string): Promise<string> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const kid = randomUUID();
    await this.#db.withTenant(tenant, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`signing-keys:${tenant}`]);
      await tx.query('UPDATE signing_keys SET retired_at = now() WHERE tenant_id = $1 AND retired_at IS NULL', [tenant]);
      await tx.query('INSERT INTO signing_keys (tenant_id, kid, alg, public_jwk, private_jwk) VALUES ($1, $2, $3, $4, $5)',
        [tenant, kid, TOKEN_ALG, JSON.stringify(publicKey.export({ format: 'jwk' })),
          this.#db.keyring.encryptText(JSON.stringify(privateKey.export({ format: 'jwk' })), secretContext(tenant, kid))]);
    });
    this.#cache.delete(tenant);
    return kid;
  }
}
