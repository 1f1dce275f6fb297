/**
 * Server-side staff sessions (`staff_sessions`, tenant-scoped with RLS) and the `SessionResolver` that turns a
 * session cookie into a staff identity on every request.
 *
 * - The cookie holds a random 256-bit token; the table keeps only its SHA-256, so a database read does not yield
 *   usable cookies. Sessions end on logout, on revocation, after the idle timeout (15 min by default, measured from
 *   the last request) and after the absolute timeout (8 h from sign-in); every check runs against the database
 *   clock, so it holds across instances, and ending a session takes effect on the next request.
 * - CSRF: state-changing requests (anything but GET/HEAD/OPTIONS) authenticated by the cookie must carry the
 *   session's CSRF token in `X-CSRF-Token` (or a `_csrf` field of a form-encoded body, or the first field of a
 *   multipart body). Bearer-token requests never
 *   reach the resolver, so they are exempt. SameSite=Lax already keeps the cookie off cross-site POSTs; the token
 *   also covers same-site attackers (another app on a sibling host name).
 * - A cookie that is presented but does not check out is a 401 that also clears the cookie. The SAML sign-in
 *   endpoints (login, ACS, SP metadata) ignore the cookie altogether, so signing in again after a timeout works.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Request } from 'express';
import type { Config } from '../../config/config.ts';
import type { Db } from '../../storage/db.ts';
import type { Tenant } from '../../tenancy/tenants.ts';
import type { SessionResolver } from '../authenticate.ts';
import type { Identity } from '../identity.ts';
import { FhirError } from '../../fhir/outcome/errors.ts';
import { bookkeepingTx } from './tx.ts';
import { SESSION_COOKIE, clearedSessionCookie, cookieIsSecure, readCookie } from './cookies.ts';
import { firstMultipartField } from './multipart-csrf.ts';

export interface StaffSession {
  sessionId: string;
  tenant: string;
  userId: string;
  displayName?: string;
  roles: string[];
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Sign-in endpoints authenticate by the SAML exchange itself; a (possibly stale) session cookie is ignored there. */
const SIGN_IN_PATH = /^\/t\/[^/]+\/auth\/saml\/(?:login|acs|metadata)\/?$/i;
/** Reading the session's own state does not count as activity (a console polling it must not defeat the idle timeout). */
const SESSION_INFO_PATH = /^\/t\/[^/]+\/auth\/session\/?$/i;
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

const hashToken = (token: string) => createHash('sha256').update(token).digest();

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const formParser = express.urlencoded({ extended: false, limit: '64kb' });

export class StaffSessions implements SessionResolver {
  readonly #db: Db;
  readonly #config: Config;
  readonly #byRequest = new WeakMap<Request, StaffSession>();
  constructor(db: Db, config: Config) { this.#db = db; this.#config = config; }

  get idleTimeoutS(): number { return this.#config.sessionIdleTimeoutS; }
  get absoluteTimeoutS(): number { return this.#config.sessionAbsoluteTimeoutS; }

  #row(tenant: string, r: Record<string, any>): StaffSession {
    const lastSeenAt = new Date(r.last_seen_at);
    const absoluteExpiresAt = new Date(r.absolute_expires_at);
    const idle = new Date(lastSeenAt.getTime() + this.idleTimeoutS * 1000);
    return {
      sessionId: r.session_id, tenant, userId: r.user_id, displayName: r.display_name ?? undefined, roles: r.roles, csrfToken: r.csrf_token,
      createdAt: new Date(r.created_at), lastSeenAt, absoluteExpiresAt, idleExpiresAt: idle < absoluteExpiresAt ? idle : absoluteExpiresAt,
    };
  }

  /** Starts a session; returns the cookie token (shown once, stored only hashed). */
  async create(tenant: string, user: { userId: string; displayName?: string; roles: string[]; idpSessionIndex?: string }): Promise<{ token: string; session: StaffSession }> {
    const token = randomBytes(32).toString('base64url');
    const row = await bookkeepingTx(this.#db, tenant, async (tx) => {
      // Opportunistic clean-up of this tenant's long-dead sessions.
      await tx.query(`DELETE FROM staff_sessions WHERE tenant_id = $1 AND absolute_expires_at < now() - interval '7 days'`, [tenant]);
      return (await tx.query(
        `INSERT INTO staff_sessions (tenant_id, session_id, token_hash, user_id, display_name, roles, csrf_token, idp_session_index, absolute_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))
         RETURNING session_id, user_id, display_name, roles, csrf_token, created_at, last_seen_at, absolute_expires_at`,
        [tenant, randomUUID(), hashToken(token), user.userId, user.displayName ?? null, user.roles, randomBytes(32).toString('base64url'),
          user.idpSessionIndex ?? null, this.absoluteTimeoutS])).rows[0];
    });
    return { token, session: this.#row(tenant, row) };
  }

  /**
   * The live session for a cookie token: not ended, used within the idle timeout, younger than the absolute
   * timeout. `touch` records this use (sliding the idle timeout).
   */
  async lookup(tenant: string, token: string, opts: { touch: boolean }): Promise<StaffSession | undefined> {
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const live = `tenant_id = $1 AND token_hash = $2 AND ended_at IS NULL AND absolute_expires_at > now()
                  AND last_seen_at > now() - make_interval(secs => $3)`;
    const cols = 'session_id, user_id, display_name, roles, csrf_token, created_at, last_seen_at, absolute_expires_at';
    const row = await bookkeepingTx(this.#db, tenant, async (tx) => (await tx.query(opts.touch
      ? `UPDATE staff_sessions SET last_seen_at = now() WHERE ${live} RETURNING ${cols}`
      : `SELECT ${cols} FROM staff_sessions WHERE ${live}`, [tenant, hashToken(token), this.idleTimeoutS])).rows[0]);
    return row ? this.#row(tenant, row) : undefined;
  }

  async resolve(req: Request, tenant: Tenant): Promise<Identity | undefined> {
    const path = req.originalUrl.split('?')[0];
    if (SIGN_IN_PATH.test(path)) return undefined;
    const token = readCookie(req, SESSION_COOKIE);
    if (!token) return undefined;
    const expired = () => new FhirError('unauthorized', 'Your session has expired or ended; sign in again', {
      headers: { 'Set-Cookie': clearedSessionCookie(tenant.id, cookieIsSecure(req, this.#config)), 'WWW-Authenticate': 'Cookie' },
    });
    const unsafe = !SAFE_METHODS.has(req.method.toUpperCase());
    let session: StaffSession | undefined;
    if (!unsafe) {
      session = await this.lookup(tenant.id, token, { touch: !SESSION_INFO_PATH.test(path) });
      if (!session) throw expired();
    } else {
      session = await this.lookup(tenant.id, token, { touch: false });
      if (!session) throw expired();
      const presented = await this.#presentedCsrfToken(req);
      if (!presented || !sameToken(presented, session.csrfToken)) {
        throw new FhirError('forbidden', `A state-changing request made with a session cookie needs the session's CSRF token in the X-CSRF-Token header (GET /t/${tenant.id}/auth/session returns it)`);
      }
      session = await this.lookup(tenant.id, token, { touch: true });
      if (!session) throw expired();
    }
    this.#byRequest.set(req, session);
    return { kind: 'staff', tenant: tenant.id, userId: session.userId, roles: session.roles, sessionId: session.sessionId };
  }

  /** The session the resolver found for this request, if any. */
  sessionOf(req: Request): StaffSession | undefined { return this.#byRequest.get(req); }

  async #presentedCsrfToken(req: Request): Promise<string | undefined> {
    const header = req.headers[CSRF_HEADER];
    if (typeof header === 'string' && header) return header;
    // A file upload form without script (multipart) carries the token as its first field; see multipart-csrf.ts.
    if (req.is('multipart/form-data')) return firstMultipartField(req, CSRF_FIELD);
    if (!req.is('application/x-www-form-urlencoded') || !req.res) return undefined;
    // A plain HTML form (e.g. the console's sign-out button) sends the token as a field. Parsing here consumes the
    // body; later parsers see it as already read and keep req.body as parsed below.
    await new Promise<void>((resolve, reject) => formParser(req, req.res!, (err?: unknown) => (err ? reject(err) : resolve())));
    const body = req.body as Record<string, unknown> | undefined;
    const field = body?.[CSRF_FIELD];
    if (body && Object.hasOwn(body, CSRF_FIELD)) delete body[CSRF_FIELD];
    return typeof field === 'string' && field ? field : undefined;
  }

  /** Ends one session (logout); true if it was live. */
  async end(tenant: string, sessionId: string, reason = 'logout'): Promise<boolean> {
    return bookkeepingTx(this.#db, tenant, async (tx) => (await tx.query(
      'UPDATE staff_sessions SET ended_at = now(), end_reason = $3 WHERE tenant_id = $1 AND session_id = $2 AND ended_at IS NULL',
      [tenant, sessionId, reason])).rowCount === 1);
  }

  /** Ends every live session of a user (revocation); returns how many. */
  async revokeUser(tenant: string, userId: string): Promise<number> {
    return bookkeepingTx(this.#db, tenant, async (tx) => (await tx.query(
      `UPDATE staff_sessions SET ended_at = now(), end_reason = 'revoked' WHERE tenant_id = $1 AND user_id = $2 AND ended_at IS NULL`,
      [tenant, userId])).rowCount ?? 0);
  }

  /** Live sessions of a tenant (no tokens, no CSRF tokens). */
  async list(tenant: string): Promise<Omit<StaffSession, 'csrfToken'>[]> {
    const rows = await bookkeepingTx(this.#db, tenant, async (tx) => (await tx.query(
      `SELECT session_id, user_id, display_name, roles, '' AS csrf_token, created_at, last_seen_at, absolute_expires_at FROM staff_sessions
        WHERE tenant_id = $1 AND ended_at IS NULL AND absolute_expires_at > now() AND last_seen_at > now() - make_interval(secs => $2)
        ORDER BY created_at`, [tenant, this.idleTimeoutS])).rows);
    return rows.map((r) => { const { csrfToken: _c, ...s } = this.#row(tenant, r); return s; });
  }
}
