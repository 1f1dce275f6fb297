/**
 * Server-side SAML state in PostgreSQL, so every instance sees the same:
 * - `saml_requests`: the AuthnRequest ids we sent, with where to go after sign-in. node-saml checks a response's
 *   InResponseTo through a `CacheProvider`; ours is bound to one tenant and one HTTP request, and records which
 *   outstanding request it consumed (a request id is good for one response, once, until it expires).
 * - `saml_assertion_ids`: the ids of assertions accepted, kept until they expire, so none is accepted twice.
 */
import type { CacheItem, CacheProvider } from '@node-saml/passport-saml';
import type { Db } from '../../storage/db.ts';
import { bookkeepingTx } from '../sessions/tx.ts';

/** A database failure while checking SAML state: a server error, not a refused sign-in. */
export class SamlStorageFailure extends Error {
  constructor(cause: unknown) { super('SAML state storage failed', { cause }); }
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try { return await fn(); } catch (err) { throw new SamlStorageFailure(err); }
}

const MAX_ID_LENGTH = 256;

export class RequestIdCache implements CacheProvider {
  readonly #db: Db;
  readonly #tenant: string;
  readonly #ttlS: number;
  readonly #returnTo: string | undefined;
  /** The outstanding request this HTTP request consumed (set by node-saml's removeAsync after a match). */
  consumed: { requestId: string; returnTo: string } | undefined;

  constructor(db: Db, tenant: string, ttlS: number, returnTo?: string) {
    this.#db = db; this.#tenant = tenant; this.#ttlS = ttlS; this.#returnTo = returnTo;
  }

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    if (this.#returnTo === undefined) throw new Error('this request log records no new requests');
    await guarded(() => bookkeepingTx(this.#db, this.#tenant, async (tx) => {
      await tx.query('DELETE FROM saml_requests WHERE tenant_id = $1 AND expires_at < now() - interval \'1 hour\'', [this.#tenant]);
      await tx.query(`INSERT INTO saml_requests (tenant_id, request_id, return_to, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
        [this.#tenant, key, this.#returnTo, this.#ttlS]);
    }));
    return { value, createdAt: Date.now() };
  }

  /** The request's creation time if it is outstanding (not consumed, not expired), else null. */
  async getAsync(key: string): Promise<string | null> {
    if (!key || key.length > MAX_ID_LENGTH) return null;
    const row = await guarded(() => bookkeepingTx(this.#db, this.#tenant, async (tx) => (await tx.query(
      'SELECT created_at FROM saml_requests WHERE tenant_id = $1 AND request_id = $2 AND consumed_at IS NULL AND expires_at > now()',
      [this.#tenant, key])).rows[0]));
    return row ? new Date(row.created_at).toISOString() : null;
  }

  /** Consumes the request id (atomically: of two concurrent responses to one request, one wins). */
  async removeAsync(key: string | null): Promise<string | null> {
    if (!key || key.length > MAX_ID_LENGTH) return null;
    const row = await guarded(() => bookkeepingTx(this.#db, this.#tenant, async (tx) => (await tx.query(
      `UPDATE saml_requests SET consumed_at = now() WHERE tenant_id = $1 AND request_id = $2 AND consumed_at IS NULL AND expires_at > now()
       RETURNING return_to`, [this.#tenant, key])).rows[0]));
    if (!row) return null;
    this.consumed = { requestId: key, returnTo: row.return_to };
    return key;
  }
}

export class AssertionLog {
  readonly #db: Db;
  constructor(db: Db) { this.#db = db; }

  /** Records an accepted assertion id until `expiresAt`; false if it was seen before (a replay). */
  async remember(tenant: string, issuer: string, assertionId: string, expiresAt: Date): Promise<boolean> {
    return guarded(() => bookkeepingTx(this.#db, tenant, async (tx) => {
      await tx.query('DELETE FROM saml_assertion_ids WHERE tenant_id = $1 AND expires_at < now()', [tenant]);
      const { rowCount } = await tx.query(
        `INSERT INTO saml_assertion_ids (tenant_id, issuer, assertion_id, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, issuer, assertion_id) DO NOTHING`, [tenant, issuer, assertionId, expiresAt]);
      return rowCount === 1;
    }));
  }
}
