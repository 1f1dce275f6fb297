/**
 * The staff session cookie: `plannet_session=<token>; Path=/t/{tenant}/; HttpOnly; SameSite=Lax; Secure`.
 * - The path scopes it to its tenant, so a browser never sends tenant A's session to tenant B (the resolver also
 *   looks sessions up within the request's tenant only).
 * - Secure is always set, with one explicit exception for local development and tests: a request that arrived over
 *   plain HTTP from a loopback address to a loopback host name, while SESSION_INSECURE_LOOPBACK is on (it is
 *   forced off in production). Anywhere else a plain-HTTP sign-in gets a Secure cookie the browser will not return.
 */
import type { Request } from 'express';
import type { Config } from '../../config/config.ts';

export const SESSION_COOKIE = 'plannet_session';

const LOOPBACK_ADDRESS = /^(?:127(?:\.\d{1,3}){3}|::1|::ffff:127(?:\.\d{1,3}){3})$/;
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

export const cookiePath = (tenant: string) => `/t/${tenant}/`;

/** True for a plain-HTTP request from a loopback peer to a loopback host (and only then). */
export function isPlainHttpLoopback(req: Request): boolean {
  return !req.secure && req.protocol === 'http'
    && LOOPBACK_ADDRESS.test(req.socket.remoteAddress ?? '') && LOOPBACK_HOST.test(req.hostname ?? '');
}

export function cookieIsSecure(req: Request, config: Pick<Config, 'sessionInsecureLoopback' | 'publicBaseUrl'>): boolean {
  if (req.secure || config.publicBaseUrl?.startsWith('https:')) return true;
  return !(config.sessionInsecureLoopback && isPlainHttpLoopback(req));
}

export function sessionCookie(tenant: string, token: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=${cookiePath(tenant)}; Max-Age=${Math.max(0, Math.floor(maxAgeS))}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(tenant: string, secure: boolean): string {
  return sessionCookie(tenant, '', 0, secure);
}

/** The value of one cookie from the Cookie header (first occurrence), or undefined. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
