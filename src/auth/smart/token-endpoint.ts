/**
 * SMART Backend Services token endpoint (client_credentials + private_key_jwt), checking the client assertion
 * completely: algorithm allow-list (RS384, ES384; never none or HMAC), known and active client, iss = sub = client,
 * aud = this token URL, exp in the future and at most 5 minutes ahead, a jti never seen before (stored in the
 * database, so a replay fails after a restart or on another instance), the client's key by kid, and the signature.
 * Errors follow RFC 6749 §5.2.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Db } from '../../storage/db.ts';
import type { ClientRegistry } from './clients.ts';
import { grantScopes } from './scopes.ts';
import { ACCESS_TOKEN_TTL_S, TOKEN_ALG, type SigningKeys } from './keys.ts';

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const ALLOWED_ASSERTION_ALGS = ['RS384', 'ES384'] as const;
/** Assertions may live at most this long (SMART: exp no more than five minutes in the future)... */
const MAX_ASSERTION_LIFETIME_S = 300;
/** ...with this much allowance for clock skew between client and server. */
const CLOCK_SKEW_S = 30;

export class OAuthError extends Error {
  readonly error: 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'invalid_scope' | 'unsupported_grant_type' | 'unauthorized_client';
  readonly status: number;
  constructor(error: OAuthError['error'], description: string) {
    super(description);
    this.error = error;
    this.status = error === 'invalid_client' ? 401 : 400;
  }
}

export interface TokenResponse { access_token: string; token_type: 'bearer'; expires_in: number; scope: string }

export interface TokenDeps { db: Db; clients: ClientRegistry; keys: SigningKeys }

export async function issueToken(deps: TokenDeps, tenant: string, form: Record<string, unknown>, urls: { tokenUrl: string; fhirBase: string }): Promise<TokenResponse> {
  const str = (k: string) => (typeof form[k] === 'string' ? form[k] as string : undefined);
  const grantType = str('grant_type');
  if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required');
  if (grantType !== 'client_credentials') throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported; use client_credentials`);
  if (str('client_assertion_type') !== ASSERTION_TYPE) throw new OAuthError('invalid_request', `client_assertion_type must be ${ASSERTION_TYPE}`);
  const assertion = str('client_assertion');
  if (!assertion) throw new OAuthError('invalid_request', 'client_assertion is required');
  const scope = str('scope');
  if (!scope?.trim()) throw new OAuthError('invalid_scope', 'scope is required, e.g. "system/*.read"');

  const decoded = jwt.decode(assertion, { complete: true });
  if (!decoded || typeof decoded.payload !== 'object') throw new OAuthError('invalid_client', 'client_assertion is not a JWT');
  const alg = decoded.header.alg;
  if (!(ALLOWED_ASSERTION_ALGS as readonly string[]).includes(alg)) throw new OAuthError('invalid_client', `Assertion algorithm ${alg} is not accepted; use RS384 or ES384`);
  const claims = decoded.payload as jwt.JwtPayload;
  const clientId = claims.iss;
  if (typeof clientId !== 'string' || claims.sub !== clientId) throw new OAuthError('invalid_client', 'Assertion iss and sub must both be the client id');
  const formClientId = str('client_id');
  if (formClientId !== undefined && formClientId !== clientId) throw new OAuthError('invalid_client', 'client_id does not match the assertion iss');
  const client = await deps.clients.get(tenant, clientId);
  if (!client || client.revokedAt) throw new OAuthError('invalid_client', 'Unknown or revoked client');
  // A jku header may only name the client's registered JWKS URL; anything else is refused without fetching it.
  const jku = (decoded.header as { jku?: unknown }).jku;
  if (jku !== undefined && (typeof jku !== 'string' || jku !== client.jwksUri)) throw new OAuthError('invalid_client', 'Assertion jku is not the client\'s registered JWKS URL');

  let key;
  try { key = await deps.clients.publicKey(client, decoded.header.kid); } catch { throw new OAuthError('invalid_client', 'Could not fetch the client\'s JWKS'); }
  if (!key) throw new OAuthError('invalid_client', `No key with kid ${decoded.header.kid ?? '(none)'} is registered for this client`);
  let verified: jwt.JwtPayload;
  try {
    verified = jwt.verify(assertion, key, {
      algorithms: [alg as jwt.Algorithm], audience: urls.tokenUrl, issuer: clientId, subject: clientId, clockTolerance: CLOCK_SKEW_S, complete: false,
    }) as jwt.JwtPayload;
  } catch (err) {
    throw new OAuthError('invalid_client', `Client assertion rejected: ${(err as Error).message}`);
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof verified.exp !== 'number') throw new OAuthError('invalid_client', 'Assertion needs an exp');
  if (verified.exp > now + MAX_ASSERTION_LIFETIME_S + CLOCK_SKEW_S) throw new OAuthError('invalid_client', 'Assertion exp is more than five minutes in the future');
  if (typeof verified.jti !== 'string' || verified.jti.length === 0 || verified.jti.length > 256) throw new OAuthError('invalid_client', 'Assertion needs a jti');

  // Record the jti; a second use within its lifetime (on any instance, after any restart) is a replay.
  const fresh = await deps.db.withTenant(tenant, async (tx) => {
    const { rowCount } = await tx.query(
      `INSERT INTO smart_assertion_jtis (tenant_id, client_id, jti, expires_at) VALUES ($1, $2, $3, to_timestamp($4))
       ON CONFLICT DO NOTHING`, [tenant, clientId, verified.jti, verified.exp! + CLOCK_SKEW_S]);
    if (Math.random() < 0.01) await tx.query('DELETE FROM smart_assertion_jtis WHERE tenant_id = $1 AND expires_at < now()', [tenant]);
    return rowCount === 1;
  });
  if (!fresh) throw new OAuthError('invalid_client', 'Assertion jti was already used (replay)');

  const { granted, invalid } = grantScopes(scope.trim().split(/\s+/), client.scopes);
  if (invalid.length) throw new OAuthError('invalid_scope', `Unsupported scope(s): ${invalid.join(' ')}`);
  if (granted.length === 0) throw new OAuthError('invalid_scope', 'None of the requested scopes is registered for this client');

  const accessToken = await mintAccessToken(deps.keys, tenant, clientId, granted, urls.fhirBase);
  return { access_token: accessToken, token_type: 'bearer', expires_in: ACCESS_TOKEN_TTL_S, scope: granted.join(' ') };
}

/** A short-lived access token bound to the tenant (claim and audience), signed with the tenant's current key. */
export async function mintAccessToken(keys: SigningKeys, tenant: string, clientId: string, scopes: string[], fhirBase: string): Promise<string> {
  const signing = await keys.current(tenant);
  return jwt.sign({ scope: scopes.join(' '), tenant, client_id: clientId }, signing.privateKey!, {
    algorithm: TOKEN_ALG, keyid: signing.kid, expiresIn: ACCESS_TOKEN_TTL_S, issuer: fhirBase, audience: fhirBase, subject: clientId, jwtid: randomUUID(),
  });
}
