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
    let key;
    try { key = createPublicKey({ key: k as never, format: 'jwk' }); } catch { throw new ClientRegistrationError(`JWK ${k.kid} is not a valid public key`); }
    // RS384 needs RSA of 2048 bits or more; ES384 needs P-384
    const details = key.asymmetricKeyDetails ?? {};
    if (k.kty === 'RSA' && (details.modulusLength ?? 0) < 2048) throw new ClientRegistrationError(`JWK ${k.kid}: RSA keys must be at least 2048 bits`);
    if (k.kty === 'EC' && details.namedCurve !== 'secp384r1') throw new ClientRegistrationError(`JWK ${k.kid}: EC keys must be on P-384 (ES384)`);
  }
  return { keys: keys as Jwk[] };
}

export function validateJwksUri(uri: string, production = false): string {
  let u: URL;
  try { u = new URL(uri); } catch { throw new ClientRegistrationError(`"${uri}" is not a URL`); }
  const loopbackHttp = !production && u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !loopbackHttp) {
    throw new ClientRegistrationError(production ? 'jwks_uri must be https' : 'jwks_uri must be https (plain http only on loopback, for development)');
  }
  return u.toString();
}

/** Largest JWKS document accepted from a jwks_uri. */
const MAX_JWKS_BYTES = 64 * 1024;
/** A jwks_uri is re-fetched for an unknown kid at most this often. */
const REFETCH_INTERVAL_MS = 10_000;

export class ClientRegistry {
  readonly #db: Db;
  readonly #jwksCache = new Map<string, { jwks: { keys: Jwk[] }; at: number; maxAgeMs: number; refetchedAt?: number }>();
  readonly #fetchTimeoutMs: number;
  readonly #cacheMs: number;
  readonly #production: boolean;
  constructor(db: Db, opts: { fetchTimeoutMs?: number; cacheMs?: number; production?: boolean } = {}) {
    this.#db = db;
    this.#fetchTimeoutMs = opts.fetchTimeoutMs ?? 5_000;
    this.#cacheMs = opts.cacheMs ?? 300_000;
    this.#production = opts.production ?? false;
  }

  async register(tenant: string, input: { name: string; scopes: string[]; jwks?: unknown; jwksUri?: string }): Promise<SmartClient> {
    if (!input.name?.trim()) throw new ClientRegistrationError('A client needs a name');
    if (!isValidScopeList(input.scopes)) throw new ClientRegistrationError(`Scopes must be SMART system scopes such as "system/*.read" or "system/Practitioner.rs", got "${input.scopes.join(' ')}"`);
    if ((input.jwks === undefined) === (input.jwksUri === undefined)) throw new ClientRegistrationError('Give exactly one of a JWKS or a jwks_uri');
    const jwks = input.jwks !== undefined ? validateJwks(input.jwks) : undefined;
    const jwksUri = input.jwksUri !== undefined ? validateJwksUri(input.jwksUri, this.#production) : undefined;
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

  /**
   * The client's public key for `kid`. A jwks_uri is fetched with a timeout and a size cap, cached no longer than
   * its Cache-Control max-age (and at most cacheMs), and re-fetched (at most every 10 s) when the kid is unknown, so
   * a client's key rotation works within one request. A kid that two keys share is ambiguous and matches nothing.
   */
  async publicKey(client: SmartClient, kid: string | undefined): Promise<KeyObject | undefined> {
    const pick = (jwks: { keys: Jwk[] }) => {
      const matches = kid ? jwks.keys.filter((x) => x.kid === kid) : jwks.keys;
      return matches.length === 1 ? createPublicKey({ key: matches[0] as never, format: 'jwk' }) : undefined;
    };
    if (client.jwks) return pick(client.jwks);
    if (!client.jwksUri) return undefined;
    const cached = this.#jwksCache.get(client.jwksUri);
    if (cached && Date.now() - cached.at < cached.maxAgeMs) {
      const k = pick(cached.jwks);
      // an unknown kid may mean the client rotated: re-fetch, but at most once per interval (random kids are cheap)
      if (k || (cached.refetchedAt !== undefined && Date.now() - cached.refetchedAt < REFETCH_INTERVAL_MS)) return k;
    }
    const refetchedAt = cached ? Date.now() : undefined;
    const uri = validateJwksUri(client.jwksUri, this.#production);
    const res = await fetch(uri, { signal: AbortSignal.timeout(this.#fetchTimeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`jwks_uri answered ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_JWKS_BYTES) throw new Error('jwks_uri document too large');
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > MAX_JWKS_BYTES) throw new Error('jwks_uri document too large');
    const jwks = validateJwks(JSON.parse(body.toString('utf8')));
    const maxAge = /max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '');
    const noStore = /no-store|no-cache/.test(res.headers.get('cache-control') ?? '');
    this.#jwksCache.set(client.jwksUri, { jwks, at: Date.now(), refetchedAt, maxAgeMs: noStore ? 0 : Math.min(this.#cacheMs, maxAge ? Number(maxAge[1]) * 1000 : this.#cacheMs) });
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
