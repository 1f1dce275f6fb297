/**
 * Staff sessions against a real IdP with short timeouts (idle 3 s, absolute 6 s): the idle timeout slides with use
 * and ends an unused session, the absolute timeout ends even a busy one, reading /auth/session does not count as
 * use; sessions and outstanding SAML requests live in PostgreSQL, so a second instance honours them; the Secure
 * attribute is left off only for plain HTTP on loopback.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Request } from 'express';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startSamlIdp, signIn, startLogin, idpAuthenticate, postToAcs, sessionCookieOf, type SamlIdp } from '../helpers/saml-idp.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { cookieIsSecure, isPlainHttpLoopback } from '../../src/auth/sessions/cookies.ts';
import { loadConfig } from '../../src/config/config.ts';

let srv: TestServer;
let second: RunningServer;
let idp: SamlIdp;
let base: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const IDLE_S = 3;
const ABSOLUTE_S = 6;

before(async () => {
  srv = await startTestServer({ sessionIdleTimeoutS: IDLE_S, sessionAbsoluteTimeoutS: ABSOLUTE_S });
  // another instance on the same database, serving the same public URLs (as behind a load balancer)
  second = await startServer({ ...srv.config, port: 0, publicBaseUrl: srv.url }, { logger: createLogger('silent') });
  idp = await startSamlIdp();
  base = `${srv.url}/t/${srv.tenant}`;
  await idp.configureTenant(srv, srv.tenant);
});
after(async () => {
  await idp?.stop();
  await second?.close();
  await srv?.close();
});

const status = async (url: string, cookie: string) => (await fetch(url, { headers: { cookie } })).status;

test('idle timeout slides with use; absolute timeout ends a busy session; /auth/session does not extend it', async () => {
  const busy = async () => {
    const s = await signIn(base, 'victor', 'victor-pass');
    assert.equal(s.session.session.idle_timeout_s, IDLE_S);
    const t0 = Date.parse(s.session.session.created_at);
    assert.equal(Date.parse(s.session.session.absolute_expires_at) - t0, ABSOLUTE_S * 1000);
    const seen: number[] = [];
    while (Date.now() - t0 < (ABSOLUTE_S - 1) * 1000) { await sleep(1000); seen.push(await status(`${base}/fhir/metadata`, s.cookie)); }
    assert.ok(seen.length >= 4 && seen.every((x) => x === 200), `used every second, the session outlives its ${IDLE_S} s idle timeout: ${seen}`);
    await sleep(t0 + ABSOLUTE_S * 1000 + 300 - Date.now()); // just past the absolute timeout, ~1.3 s after the last use
    const r = await fetch(`${base}/fhir/metadata`, { headers: { cookie: s.cookie } });
    assert.equal(r.status, 401, 'the absolute timeout ends it');
    assert.match(r.headers.get('set-cookie') ?? '', /plannet_session=;.*Max-Age=0/);
  };
  const idle = async () => {
    const s = await signIn(base, 'eddie', 'eddie-pass');
    await sleep(IDLE_S * 1000 + 500);
    assert.equal(await status(`${base}/fhir/metadata`, s.cookie), 401, 'unused for longer than the idle timeout');
  };
  const polling = async () => {
    const s = await signIn(base, 'olga', 'olga-pass');
    await sleep(1200);
    const info = await (await fetch(`${base}/auth/session`, { headers: { cookie: s.cookie } })).json();
    assert.equal(info.authenticated, true);
    assert.equal(info.session.last_seen_at, s.session.session.last_seen_at, 'reading the session is not activity');
    await sleep(IDLE_S * 1000 - 1200 + 500);
    assert.equal(await status(`${base}/auth/session`, s.cookie), 401);
  };
  await Promise.all([busy(), idle(), polling()]);
});

test('signing in again after a timeout works even though the browser still sends the dead cookie', async () => {
  const old = await signIn(base, 'eddie', 'eddie-pass');
  await sleep(IDLE_S * 1000 + 300);
  assert.equal(await status(`${base}/fhir/metadata`, old.cookie), 401);
  const start = await fetch(`${base}/auth/saml/login`, { headers: { cookie: old.cookie }, redirect: 'manual' });
  assert.equal(start.status, 302);
  const fresh = await signIn(base, 'eddie', 'eddie-pass');
  assert.notEqual(fresh.cookie, old.cookie);
});

test('another instance honours sessions and logout at once, and completes a sign-in started on the first', async () => {
  const s = await signIn(base, 'alice', 'alice-pass');
  const onSecond = `${second.url}/t/${srv.tenant}`;
  assert.equal(await status(`${onSecond}/admin/clients`, s.cookie), 200);
  const out = await fetch(`${base}/auth/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrfToken } });
  assert.equal(out.status, 204);
  assert.equal(await status(`${onSecond}/admin/clients`, s.cookie), 401);

  // AuthnRequest from instance 1, the IdP's response posted to instance 2: the request id is found in PostgreSQL
  const login = await startLogin(base);
  const answer = await idpAuthenticate(login.idpUrl, 'alice', 'alice-pass');
  const r = await postToAcs(`${onSecond}/auth/saml/acs`, answer.samlResponse);
  assert.equal(r.status, 303, await r.clone().text());
  const cookie = sessionCookieOf(r)!;
  assert.equal(await status(`${base}/admin/clients`, cookie), 200);
});

test('Secure is left off only for plain HTTP from and to loopback (explicit dev/test exception)', async () => {
  const req = (o: { secure?: boolean; protocol?: string; remote?: string; host?: string }) => ({
    secure: o.secure ?? false, protocol: o.protocol ?? 'http', socket: { remoteAddress: o.remote ?? '127.0.0.1' }, hostname: o.host ?? '127.0.0.1',
  }) as unknown as Request;
  const dev = { sessionInsecureLoopback: true, publicBaseUrl: undefined };
  assert.equal(isPlainHttpLoopback(req({})), true);
  assert.equal(cookieIsSecure(req({}), dev), false);
  assert.equal(cookieIsSecure(req({ host: 'localhost' }), dev), false);
  assert.equal(cookieIsSecure(req({ remote: '::1', host: '[::1]' }), dev), false);
  assert.equal(cookieIsSecure(req({ host: 'directory.example' }), dev), true, 'a non-loopback host name');
  assert.equal(cookieIsSecure(req({ remote: '10.0.0.5' }), dev), true, 'a remote peer');
  assert.equal(cookieIsSecure(req({ secure: true, protocol: 'https' }), dev), true);
  assert.equal(cookieIsSecure(req({}), { sessionInsecureLoopback: false, publicBaseUrl: undefined }), true, 'exception switched off');
  assert.equal(cookieIsSecure(req({}), { sessionInsecureLoopback: true, publicBaseUrl: 'https://directory.example' }), true, 'public URL is https');
  assert.equal(loadConfig({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://directory.example', SESSION_INSECURE_LOOPBACK: 'true' }).sessionInsecureLoopback, false, 'never in production');
  // over the wire: a request naming a non-loopback host gets a Secure cookie
  // (fetch may not set Host, so node:http does)
  const { statusCode, setCookie } = await new Promise<{ statusCode?: number; setCookie?: string[] }>((resolve, reject) => {
    const u = new URL(`${base}/auth/logout`);
    http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { host: 'directory.example' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ statusCode: res.statusCode, setCookie: res.headers['set-cookie'] }));
    }).on('error', reject).end();
  });
  assert.equal(statusCode, 204);
  assert.match(setCookie?.join('\n') ?? '', /; Secure/);
});
