/**
 * Authentication for one tenant's routes: a SMART access token (Bearer) makes the caller a client, a staff session
 * cookie makes them staff, and anything else is anonymous. A presented credential that does not check out is a 401
 * (never silently anonymous), and so is a token of another tenant (it was not signed by this tenant's keys).
 */
import type { NextFunction, Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { FhirError } from '../fhir/outcome/errors.ts';
import { currentContext } from '../http/request-context.ts';
import type { Identity } from './identity.ts';
import type { ClientRegistry } from './smart/clients.ts';
import { TOKEN_ALG, type SigningKeys } from './smart/keys.ts';
import type { Tenant } from '../tenancy/tenants.ts';

export interface SessionResolver {
  /** Returns the staff identity for a request's session cookie, or undefined if it carries none. Throws 401 if expired. */
  resolve(req: Request, tenant: Tenant): Promise<Identity | undefined>;
}

export interface AuthDeps { clients: ClientRegistry; keys: SigningKeys; sessions?: SessionResolver; fhirBase(req: Request, tenant: string): string }

const unauthorized = (msg: string, error = 'invalid_token') =>
  new FhirError('unauthorized', msg, { headers: { 'WWW-Authenticate': `Bearer error="${error}", error_description="${msg.replace(/"/g, "'")}"` } });

export async function verifyAccessToken(deps: AuthDeps, token: string, tenant: string, expectedAudience: string): Promise<Identity> {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload !== 'object') throw unauthorized('The access token is not a JWT');
  const claimed = (decoded.payload as jwt.JwtPayload).tenant;
  // Tokens are signed with per-tenant keys, so for this tenant another tenant's token is simply not valid (RFC 6750).
  if (claimed !== tenant) throw unauthorized('This access token was not issued for this tenant');
  const key = decoded.header.kid ? await deps.keys.verificationKey(tenant, decoded.header.kid) : undefined;
  if (!key) throw unauthorized('The access token was not signed by this server');
  let claims: jwt.JwtPayload;
  try {
    claims = jwt.verify(token, key, { algorithms: [TOKEN_ALG], audience: expectedAudience, issuer: expectedAudience }) as jwt.JwtPayload;
  } catch (err) {
    throw unauthorized(`The access token is not valid: ${(err as Error).message}`);
  }
  const clientId = String(claims.sub);
  if (!(await deps.clients.isActive(tenant, clientId))) throw unauthorized('The client of this access token has been revoked');
  return { kind: 'client', tenant, clientId, scopes: String(claims.scope ?? '').split(' ').filter(Boolean), tokenId: String(claims.jti) };
}

export function authenticate(deps: AuthDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const tenant = res.locals.tenant as Tenant;
      let identity: Identity | undefined;
      const header = req.headers.authorization;
      if (header !== undefined) {
        const m = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header);
        if (!m) throw unauthorized('Authorization must be "Bearer <access token>"', 'invalid_request');
        identity = await verifyAccessToken(deps, m[1], tenant.id, deps.fhirBase(req, tenant.id));
      } else if (deps.sessions) {
        identity = await deps.sessions.resolve(req, tenant);
      }
      if (identity) {
        res.locals.identity = identity;
        const rc = currentContext();
        if (rc) rc.identity = identity;
      }
      next();
    } catch (err) { next(err); }
  };
}
