/**
 * SMART Backend Services client registry: registered by tenant admins with their scopes and public keys (a JWKS
 * inline, or a `jwks_uri` fetched with a timeout and cached). Revoking a client stops its live tokens at once,
 * because every authenticated request re-checks the client.
 */
import { randomUUID, createPublicKey, type KeyObject } from 'node:crypto';
import type { Db } from '../../storage/db.ts';
import { isValidScopeList } from './scopes.ts';

export interface Jwk { kid?: string; kty: string; alg?: string; use?: string; [k: string]: unknown }
export interface SmartClient { tenant: string; clientId: string; name: string; scopes: string[]; jwks?: { keys: Jwk[] }; jwksUri?: string; createdAt: string; revokedAt?: string }

export class ClientRegistrationError extends Error {}

export function validateJwks(jwks: unknown): { keys: Jwk[] } {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new ClientRegistrationError('The JWKS must be an object with a non-empty "keys" array');
  for (const k of keys as Jwk[]) {
    if (!k || typeof k !== 'object' || (k.kty !== 'RSA' && k.kty !== 'EC')) throw new ClientRegistrationError('Each JWK must be an RSA or EC public key');
    if ('d' in k) throw new ClientRegistrationError('The JWKS holds a private key; register the public keys only');
    if (!k.kid) throw new ClientRegistrationError('Each JWK needs a "kid"');
    try { createPublicKey({ key: k as never, format: 'jwk' }); } catch { throw new ClientRegistrationError(`JWK ${k.kid} is not a valid public key`); }
  }
  return { keys: keys as Jwk[] };
}

export function validateJwksUri(uri: string): string {
  let u: URL;
  try { u = new URL(uri); } catch { throw new ClientRegistrationError(`"${uri}" is not a URL`); }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))) {
    throw new ClientRegistrationError('jwks_uri must be https (plain http only on loopback, for development)');
  }
  return u.toString();
}

export class ClientRegistry {
  readonly #db: Db;
  readonly #jwksCache = new Map<string, { jwks: { keys: Jwk[] }; at: number }>();
  readonly #fetchTimeoutMs: number;
  readonly #cacheMs: number;
  constructor(db: Db, opts: { fetchTimeoutMs?: number; cacheMs?: number } = {}) {
    this.#db = db;
    this.#fetchTimeoutMs = opts.fetchTimeoutMs ?? 5_000;
    this.#cacheMs = opts.cacheMs ?? 300_000;
  }

  async register(tenant: string, input: { name: string; scopes: string[]; jwks?: unknown; jwksUri?: string }): Promise<SmartClient> {
    if (!input.name?.trim()) throw new ClientRegistrationError('A client needs a name');
    if (!isValidScopeList(input.scopes)) throw new ClientRegistrationError(`Scopes must be SMART system scopes such as "system/*.read" or "system/Practitioner.rs", got "${input.scopes.join(' ')}"`);
    if ((input.jwks === undefined) === (input.jwksUri === undefined)) throw new ClientRegistrationError('Give exactly one of a JWKS or a jwks_uri');
    const jwks = input.jwks !== undefined ? validateJwks(input.jwks) : undefined;
    const jwksUri = input.jwksUri !== undefined ? validateJwksUri(input.jwksUri) : undefined;
    const clientId = randomUUID();
    await this.#db.withTenant(tenant, (tx) => tx.query(
      'INSERT INTO smart_clients (tenant_id, client_id, name, scopes, jwks, jwks_uri) VALUES ($1, $2, $3, $4, $5, $6)',
      [tenant, clientId, input.name.trim(), input.scopes, jwks ? JSON.stringify(jwks) : null, jwksUri ?? null]));
    return (await this.get(tenant, clientId))!;
  }

  async get(tenant: string, clientId: string): Promise<SmartClient | undefined> {
    const { rows } = await this.#db.withTenant(tenant, (tx) => tx.query(
      'SELECT client_id, name, scopes, jwks, jwks_uri, created_at, revoked_at FROM smart_clients WHERE tenant_id = $1 AND client_id = $2', [tenant, clientId]), { readOnly: true });
    return rows[0] ? toClient(tenant, rows[0]) : undefined;
  }

  async list(tenant: string): Promise<SmartClient[]> {
    const { rows } = await this.#db.withTenant(tenant, (tx) => tx.query(
      'SELECT client_id, name, scopes, jwks, jwks_uri, created_at, revoked_at FROM smart_clients WHERE tenant_id = $1 ORDER BY created_at', [tenant]), { readOnly: true });
    return rows.map((r) => toClient(tenant, r));
  }

  async revoke(tenant: string, clientId: string): Promise<boolean> {
    const { rowCount } = await this.#db.withTenant(tenant, (tx) => tx.query(
      'UPDATE smart_clients SET revoked_at = now() WHERE tenant_id = $1 AND client_id = $2 AND revoked_at IS NULL', [tenant, clientId]));
    return rowCount === 1;
  }

  /** Is the client still active? Checked on every authenticated request (revocation takes effect at once). */
  async isActive(tenant: string, clientId: string): Promise<boolean> {
    const { rows } = await this.#db.withTenant(tenant, (tx) => tx.query({
      name: 'smart-client-active',
      text: 'SELECT 1 FROM smart_clients WHERE tenant_id = $1 AND client_id = $2 AND revoked_at IS NULL',
      values: [tenant, clientId],
    }), { readOnly: true });
    return rows.length === 1;
  }

  /** The client's public key for `kid`, fetching (with timeout) and caching a jwks_uri; refetches once on a miss. */
  async publicKey(client: SmartClient, kid: string | undefined): Promise<KeyObject | undefined> {
    const pick = (jwks: { keys: Jwk[] }) => {
      const k = kid ? jwks.keys.find((x) => x.kid === kid) : (jwks.keys.length === 1 ? jwks.keys[0] : undefined);
      return k ? createPublicKey({ key: k as never, format: 'jwk' }) : undefined;
    };
    if (client.jwks) return pick(client.jwks);
    if (!client.jwksUri) return undefined;
    const cached = this.#jwksCache.get(client.jwksUri);
    if (cached && Date.now() - cached.at < this.#cacheMs) {
      const k = pick(cached.jwks);
      if (k) return k;
    }
    const res = await fetch(client.jwksUri, { signal: AbortSignal.timeout(this.#fetchTimeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`jwks_uri answered ${res.status}`);
    const jwks = validateJwks(await res.json());
    this.#jwksCache.set(client.jwksUri, { jwks, at: Date.now() });
    return pick(jwks);
  }
}

function toClient(tenant: string, r: { client_id: string; name: string; scopes: string[]; jwks: { keys: Jwk[] } | null; jwks_uri: string | null; created_at: Date; revoked_at: Date | null }): SmartClient {
  return {
    tenant, clientId: r.client_id, name: r.name, scopes: r.scopes,
    ...(r.jwks ? { jwks: r.jwks } : {}), ...(r.jwks_uri ? { jwksUri: r.jwks_uri } : {}),
    createdAt: new Date(r.created_at).toISOString(), ...(r.revoked_at ? { revokedAt: new Date(r.revoked_at).toISOString() } : {}),
  };
}
