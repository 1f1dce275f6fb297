/**
 * Staff sign-in endpoints per tenant (mounted at /t/:tenant, after the SMART router):
 *   GET    /auth/saml/metadata                 our SP metadata (entity id, ACS, signing and encryption certs)   public
 *   GET    /auth/saml/login?returnTo=/t/{t}/…  redirect to the IdP with a signed AuthnRequest (HTTP-Redirect)  public
 *   POST   /auth/saml/acs                      the IdP posts the SAMLResponse here (HTTP-POST); starts a session public
 *   GET    /auth/session                       the signed-in user, roles, CSRF token, expiry times             public
 *   POST   /auth/logout                        ends the server-side session and clears the cookie             public
 *   GET    /admin/saml                         the tenant's IdP configuration                                 tenant:admin
 *   PUT    /admin/saml                         configure the IdP (metadata XML or URL, role attribute and map) tenant:admin
 *   GET    /admin/sessions                     live staff sessions                                            tenant:admin
 *   DELETE /admin/users/:id/sessions           revoke every session of a user, at once                        tenant:admin
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AppServices } from '../../fhir/services.ts';
import type { Tenant } from '../../tenancy/tenants.ts';
import { FhirError } from '../../fhir/outcome/errors.ts';
import { currentContext } from '../../http/request-context.ts';
import { ANONYMOUS, type Identity } from '../identity.ts';
import { authorize, staffPermissions } from '../authorize.ts';
import { declareRoute, type RoutePolicy } from '../permissions.ts';
import { StaffSessions } from '../sessions/store.ts';
import { clearedSessionCookie, cookieIsSecure, sessionCookie } from '../sessions/cookies.ts';
import { SamlConfigError, describeConfig, resolveConfigInput, type SamlConfigInput } from './idp-config.ts';
import { SamlRejected, SamlService, spEndpoints } from './service.ts';
import { SamlStorageFailure } from './request-log.ts';

const note = (action: string, resourceIds?: string[]) => {
  const rc = currentContext();
  if (rc) { rc.audit.action = action; if (resourceIds) rc.audit.resourceIds = resourceIds; }
};
const identity = (): Identity => currentContext()?.identity ?? ANONYMOUS;

/** Where to send the browser after sign-in: a path inside this tenant, nothing else (no open redirect). */
export function safeReturnTo(value: unknown, tenant: string): string {
  const fallback = `/t/${tenant}/auth/session`;
  if (value === undefined || value === '') return fallback;
  const bad = () => new FhirError('bad-request', `returnTo must be a path under /t/${tenant}/`);
  if (typeof value !== 'string' || value.length > 2048 || !value.startsWith(`/t/${tenant}/`) || /[\\\u0000-\u001f\u007f]/.test(value)) throw bad();
  const u = new URL(value, 'http://return.invalid');
  if (u.origin !== 'http://return.invalid' || !u.pathname.startsWith(`/t/${tenant}/`)) throw bad();
  return u.pathname + u.search + u.hash;
}

export function samlRouter(services: AppServices): Router {
  const router = express.Router({ mergeParams: true });
  const saml = new SamlService(services);
  const sessions = services.sessions instanceof StaffSessions ? services.sessions : undefined;
  const noStore = (res: Response) => res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  const needSessions = () => {
    if (!sessions) throw new FhirError('not-found', 'Staff sign-in is not enabled on this server');
    return sessions;
  };
  const configured = async (tenant: Tenant) => {
    const idp = await saml.configs.get(tenant.id);
    if (!idp) throw new FhirError('not-found', `SAML sign-in is not configured for tenant "${tenant.id}" (npm run saml -- configure)`);
    return idp;
  };

  type Handler = (req: Request, res: Response, tenant: Tenant) => Promise<void>;
  /** Declares the route's policy, checks it first (before any body is read), then runs `parsers` and the handler. */
  const route = (method: 'get' | 'post' | 'put' | 'delete', path: string, action: string, policy: RoutePolicy, fn: Handler, parsers: express.RequestHandler[] = []) => {
    declareRoute({ method: method.toUpperCase(), path: `/t/:tenant${path}`, action, policy });
    router[method](path, (_req: Request, res: Response, next: NextFunction) => {
      note(action);
      try { authorize(identity(), res.locals.tenant as Tenant, policy); next(); } catch (err) { next(err); }
    }, ...parsers, async (req: Request, res: Response, next: NextFunction) => {
      try { await fn(req, res, res.locals.tenant as Tenant); } catch (err) { next(err); }
    });
  };

  route('get', '/auth/saml/metadata', 'saml-metadata', 'public', async (req, res, tenant) => {
    const xml = await saml.metadata(req, tenant.id);
    res.set('Cache-Control', 'public, max-age=300').type('application/samlmetadata+xml').send(xml);
  });

  route('get', '/auth/saml/login', 'saml-login', 'public', async (req, res, tenant) => {
    noStore(res);
    needSessions();
    if (req.query.SAMLRequest !== undefined || req.query.SAMLResponse !== undefined) throw new FhirError('bad-request', 'SAML messages are not accepted here');
    const returnTo = safeReturnTo(req.query.returnTo, tenant.id);
    await saml.login(req, res, tenant.id, await configured(tenant), returnTo);
  });

  route('post', '/auth/saml/acs', 'saml-acs', 'public', async (req, res, tenant) => {
    noStore(res);
    const store = needSessions();
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!req.is('application/x-www-form-urlencoded') || typeof body.SAMLResponse !== 'string' || !body.SAMLResponse) {
      throw new FhirError('bad-request', 'The ACS accepts a SAMLResponse posted as a form (HTTP-POST binding)');
    }
    if (body.SAMLRequest !== undefined || req.query.SAMLResponse !== undefined || req.query.SAMLRequest !== undefined) {
      throw new FhirError('bad-request', 'Only a SAMLResponse in the POST body is accepted here');
    }
    const idp = await configured(tenant);
    let user;
    try {
      user = await saml.acs(req, res, tenant.id, idp);
    } catch (err) {
      if (err instanceof SamlStorageFailure) throw err.cause;
      if (err instanceof SamlRejected) {
        services.logger.warn({ tenant: tenant.id, reason: err.message }, 'SAML sign-in refused');
        throw new FhirError('unauthorized', `SAML sign-in refused: ${err.message}`);
      }
      throw err;
    }
    if (user.roles.length === 0) {
      note('saml-acs', [user.userId]);
      throw new FhirError('forbidden', `Signed in as "${user.userId}", but the IdP's ${idp.roleAttribute} grant no role in this tenant`);
    }
    const { token, session } = await store.create(tenant.id, user);
    const staff: Identity = { kind: 'staff', tenant: tenant.id, userId: session.userId, roles: session.roles, sessionId: session.sessionId };
    const rc = currentContext();
    if (rc) rc.identity = staff;
    note('saml-acs', [session.sessionId]);
    res.setHeader('Set-Cookie', sessionCookie(tenant.id, token, store.absoluteTimeoutS, cookieIsSecure(req, services.config)));
    res.redirect(303, user.returnTo);
  }, [express.urlencoded({ extended: false, limit: '1mb', parameterLimit: 10 })]);

  route('get', '/auth/session', 'session', 'public', async (req, res, tenant) => {
    noStore(res);
    const id = identity();
    const session = sessions?.sessionOf(req);
    if (id.kind !== 'staff' || !session) {
      res.json({ authenticated: false, login_url: `/t/${tenant.id}/auth/saml/login`, sign_in_configured: !!(await saml.configs.get(tenant.id)) });
      return;
    }
    res.json({
      authenticated: true,
      tenant: tenant.id,
      user: { id: session.userId, name: session.displayName ?? null },
      roles: session.roles,
      permissions: [...staffPermissions(session.roles)].sort(),
      csrf_token: session.csrfToken,
      session: {
        id: session.sessionId,
        created_at: session.createdAt.toISOString(),
        last_seen_at: session.lastSeenAt.toISOString(),
        idle_expires_at: session.idleExpiresAt.toISOString(),
        absolute_expires_at: session.absoluteExpiresAt.toISOString(),
        idle_timeout_s: needSessions().idleTimeoutS,
        absolute_timeout_s: needSessions().absoluteTimeoutS,
      },
      logout: { method: 'POST', url: `/t/${tenant.id}/auth/logout`, csrf_header: 'X-CSRF-Token' },
    });
  });

  // A session reaches this only with its CSRF token (the resolver checks it); without a session it is a no-op.
  route('post', '/auth/logout', 'logout', 'public', async (req, res, tenant) => {
    noStore(res);
    const id = identity();
    if (id.kind === 'staff' && sessions) {
      note('logout', [id.sessionId]);
      await sessions.end(tenant.id, id.sessionId, 'logout');
    }
    res.setHeader('Set-Cookie', clearedSessionCookie(tenant.id, cookieIsSecure(req, services.config)));
    res.status(204).end();
  });

  const json = express.json({ limit: '1mb', type: ['application/json', 'application/fhir+json'] });

  route('get', '/admin/saml', 'admin:get-saml', 'tenant:admin', async (req, res, tenant) => {
    noStore(res);
    const idp = await saml.configs.get(tenant.id);
    const sp = spEndpoints(services, req, tenant.id);
    res.json({ configured: !!idp, ...(idp ? describeConfig(idp) : {}), sp: { entity_id: sp.entityId, acs_url: sp.acsUrl, metadata_url: sp.entityId } });
  });

  route('put', '/admin/saml', 'admin:configure-saml', 'tenant:admin', async (req, res, tenant) => {
    noStore(res);
    if (!req.is(['application/json', 'application/fhir+json'])) throw new FhirError('unsupported-media-type', 'Send the SAML configuration as application/json');
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b !== 'object' || Array.isArray(b)) throw new FhirError('bad-request', 'The body must be a JSON object');
    const known = ['metadata_xml', 'metadata_url', 'idp_entity_id', 'sso_url', 'certificates', 'role_attribute', 'role_map', 'user_attribute', 'want_response_signed'];
    const unknown = Object.keys(b).filter((k) => !known.includes(k));
    if (unknown.length) throw new FhirError('bad-request', `Unknown fields: ${unknown.join(', ')} (known: ${known.join(', ')})`);
    const str = (k: string) => (b[k] === undefined ? undefined : typeof b[k] === 'string' ? b[k] as string : (() => { throw new FhirError('bad-request', `${k} must be a string`); })());
    if (b.certificates !== undefined && !(Array.isArray(b.certificates) && b.certificates.every((c) => typeof c === 'string'))) throw new FhirError('bad-request', 'certificates must be an array of PEM strings');
    if (b.want_response_signed !== undefined && typeof b.want_response_signed !== 'boolean') throw new FhirError('bad-request', 'want_response_signed must be true or false');
    const input: SamlConfigInput = {
      metadataXml: str('metadata_xml'), metadataUrl: str('metadata_url'), idpEntityId: str('idp_entity_id'), ssoUrl: str('sso_url'),
      certificates: b.certificates as string[] | undefined, roleAttribute: str('role_attribute'), roleMap: b.role_map,
      userAttribute: b.user_attribute === null ? null : str('user_attribute'), wantResponseSigned: b.want_response_signed as boolean | undefined,
    };
    let saved;
    try {
      saved = await saml.configs.put(await resolveConfigInput(tenant.id, input, await saml.configs.get(tenant.id)));
    } catch (err) {
      if (err instanceof SamlConfigError) throw new FhirError('bad-request', err.message);
      throw err;
    }
    note('admin:configure-saml', [saved.idpEntityId]);
    const sp = spEndpoints(services, req, tenant.id);
    res.json({ configured: true, ...describeConfig(saved), sp: { entity_id: sp.entityId, acs_url: sp.acsUrl, metadata_url: sp.entityId } });
  }, [json]);

  route('get', '/admin/sessions', 'admin:list-sessions', 'tenant:admin', async (_req, res, tenant) => {
    noStore(res);
    res.json((await needSessions().list(tenant.id)).map((s) => ({
      id: s.sessionId, user: s.userId, name: s.displayName ?? null, roles: s.roles, created_at: s.createdAt.toISOString(),
      last_seen_at: s.lastSeenAt.toISOString(), idle_expires_at: s.idleExpiresAt.toISOString(), absolute_expires_at: s.absoluteExpiresAt.toISOString(),
    })));
  });

  route('delete', '/admin/users/:id/sessions', 'admin:revoke-sessions', 'tenant:admin', async (req, res, tenant) => {
    const user = String(req.params.id);
    note('admin:revoke-sessions', [user]);
    const n = await needSessions().revokeUser(tenant.id, user);
    res.json({ user, revoked: n });
  });

  const paths: Record<string, string> = {
    '/auth/saml/metadata': 'GET', '/auth/saml/login': 'GET', '/auth/saml/acs': 'POST', '/auth/session': 'GET', '/auth/logout': 'POST',
    '/admin/saml': 'GET, PUT', '/admin/sessions': 'GET', '/admin/users/:id/sessions': 'DELETE',
  };
  for (const [p, allow] of Object.entries(paths)) {
    router.all(p, (req: Request, _res: Response, next: NextFunction) => next(new FhirError('method-not-allowed', `${req.method} is not allowed here`, { headers: { Allow: allow } })));
  }
  return router;
}
