/**
 * SMART Backend Services end to end: keys generated here (RS384 and ES384), a registered client signs assertions,
 * gets tokens and calls the API; then every attack people try against the token endpoint and the API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, createHmac, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, example, fhir, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let tenant: string;
let base: string;
let tokenUrl: string;
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

interface TestKey { kid: string; alg: 'RS384' | 'ES384'; privateKey: KeyObject; jwk: Record<string, unknown> }
function makeKey(alg: 'RS384' | 'ES384'): TestKey {
  const kid = randomUUID();
  const { privateKey, publicKey } = alg === 'ES384'
    ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

function assertion(key: TestKey, clientId: string, over: { alg?: string; aud?: string; exp?: number; jti?: string; iss?: string; sub?: string; kid?: string } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: over.alg ?? key.alg, typ: 'JWT', kid: over.kid ?? key.kid };
  const body = { iss: over.iss ?? clientId, sub: over.sub ?? clientId, aud: over.aud ?? tokenUrl, exp: over.exp ?? now + 300, jti: over.jti ?? randomUUID() };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(body))}`;
  if (header.alg === 'none') return `${input}.`;
  if (header.alg === 'HS256') {
    const pem = createPublicKey(key.privateKey).export({ format: 'pem', type: 'spki' });
    return `${input}.${b64u(createHmac('sha256', pem).update(input).digest())}`;
  }
  const sig = sign('sha384', Buffer.from(input), key.alg === 'ES384' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey);
  return `${input}.${b64u(sig)}`;
}

async function requestToken(jwt: string, scope = 'system/*.read', extra: Record<string, string> = {}) {
  const res = await fetch(tokenUrl, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt, ...extra }),
  });
  return { status: res.status, body: await res.json() as any, headers: res.headers };
}

async function register(scopes: string, jwks?: object, jwksUri?: string): Promise<string> {
  const c = await srv.services.auth.clients.register(tenant, { name: 'test', scopes: scopes.split(' '), jwks, jwksUri });
  return c.clientId;
}

let es: TestKey;
let rs: TestKey;
let clientId: string;
before(async () => {
  srv = await startTestServer();
  tenant = srv.tenant;
  base = srv.base;
  es = makeKey('ES384');
  rs = makeKey('RS384');
  clientId = await register('system/*.read system/Practitioner.rs', { keys: [es.jwk, rs.jwk] });
  const conf = await (await fetch(`${base}/.well-known/smart-configuration`)).json() as any;
  tokenUrl = conf.token_endpoint;
});
after(async () => { await srv.close(); });

describe('discovery', () => {
  test('smart-configuration advertises the token endpoint, private_key_jwt and the allowed algorithms', async () => {
    const r = await fetch(`${base}/.well-known/smart-configuration`);
    assert.equal(r.status, 200);
    const c = await r.json() as any;
    assert.equal(c.token_endpoint, `${srv.url}/t/${tenant}/auth/token`);
    assert.deepEqual(c.token_endpoint_auth_methods_supported, ['private_key_jwt']);
    assert.deepEqual(c.token_endpoint_auth_signing_alg_values_supported.sort(), ['ES384', 'RS384']);
    assert.ok(c.grant_types_supported.includes('client_credentials'));
    assert.ok(c.capabilities.includes('client-confidential-asymmetric'));
    const jwks = await (await fetch(c.jwks_uri)).json() as any;
    assert.ok(jwks.keys.length >= 1 && jwks.keys.every((k: any) => !('d' in k)), 'JWKS publishes public keys only');
  });
});

describe('token flow', () => {
  for (const alg of ['ES384', 'RS384'] as const) {
    test(`${alg}: assertion → token → API call`, async () => {
      const key = alg === 'ES384' ? es : rs;
      const t = await requestToken(assertion(key, clientId));
      assert.equal(t.status, 200, JSON.stringify(t.body));
      assert.equal(t.body.token_type, 'bearer');
      assert.equal(t.body.expires_in, 300);
      assert.equal(t.body.scope, 'system/*.read');
      assert.equal(t.headers.get('cache-control'), 'no-store');
      const r = await fhir(`${base}/Practitioner?_count=1`, { headers: { authorization: `Bearer ${t.body.access_token}` } });
      assert.equal(r.status, 200);
    });
  }

  test('granted scopes are the intersection of requested and registered', async () => {
    const t = await requestToken(assertion(es, clientId), 'system/Practitioner.rs system/Location.cruds system/*.read');
    assert.equal(t.status, 200);
    assert.deepEqual(t.body.scope.split(' ').sort(), ['system/*.read', 'system/Practitioner.rs']);
    const esc = await requestToken(assertion(es, clientId), 'system/*.cruds');
    assert.equal(esc.status, 400);
    assert.equal(esc.body.error, 'invalid_scope');
    const bad = await requestToken(assertion(es, clientId), 'patient/*.read');
    assert.equal(bad.body.error, 'invalid_scope');
  });

  test('a read-only token cannot write (403), a cruds client can', async () => {
    const t = await requestToken(assertion(es, clientId));
    const w = await fhir(`${base}/Organization`, { method: 'POST', json: example('Organization-Acme'), headers: { authorization: `Bearer ${t.body.access_token}` } });
    assert.equal(w.status, 403);
    const writerKey = makeKey('ES384');
    const writer = await register('system/*.cruds', { keys: [writerKey.jwk] });
    const wt = await requestToken(assertion(writerKey, writer), 'system/*.cruds');
    assert.equal(wt.status, 200);
    const ok = await fhir(`${base}/Organization`, { method: 'POST', json: example('Organization-Acme'), headers: { authorization: `Bearer ${wt.body.access_token}` } });
    assert.equal(ok.status, 201);
  });

  test('jwks_uri clients: keys fetched from the URL', async () => {
    const key = makeKey('RS384');
    const jwksServer = http.createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ keys: [key.jwk] })); });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
    try {
      const id = await register('system/*.read', undefined, `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`);
      const t = await requestToken(assertion(key, id));
      assert.equal(t.status, 200, JSON.stringify(t.body));
    } finally { jwksServer.close(); }
  });
});

describe('assertion attacks are refused', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => string, string, RegExp][] = [
    ['alg none', () => assertion(es, clientId, { alg: 'none' }), 'invalid_client', /algorithm none/],
    ['HS256 signed with the public key', () => assertion(es, clientId, { alg: 'HS256' }), 'invalid_client', /algorithm HS256/],
    ['wrong aud', () => assertion(es, clientId, { aud: `${tokenUrl}x` }), 'invalid_client', /audience/],
    ['expired', () => assertion(es, clientId, { exp: now() - 600 }), 'invalid_client', /expired/],
    ['exp too far ahead', () => assertion(es, clientId, { exp: now() + 3600 }), 'invalid_client', /five minutes/],
    ['iss differs from sub', () => assertion(es, clientId, { sub: 'someone-else' }), 'invalid_client', /iss and sub/],
    ['unknown client', () => assertion(es, randomUUID()), 'invalid_client', /Unknown or revoked/],
    ['unknown kid', () => assertion(es, clientId, { kid: 'no-such-kid' }), 'invalid_client', /No key with kid/],
    ['tampered signature', () => { const j = assertion(es, clientId); return j.slice(0, -4) + (j.endsWith('AAAA') ? 'BBBB' : 'AAAA'); }, 'invalid_client', /signature/],
    ['tampered claims', () => { const [h, , s] = assertion(es, clientId).split('.'); return `${h}.${b64u(JSON.stringify({ iss: clientId, sub: clientId, aud: tokenUrl, exp: now() + 100, jti: 'x' }))}.${s}`; }, 'invalid_client', /signature/],
    ['signed by a key the client does not own', () => assertion({ ...makeKey('ES384'), kid: es.kid }, clientId), 'invalid_client', /signature/],
    ['not a JWT', () => 'garbage', 'invalid_client', /not a JWT/],
  ];
  for (const [name, make, error, reason] of cases) {
    test(name, async () => {
      const t = await requestToken(make());
      assert.ok([400, 401].includes(t.status), `${name}: ${t.status}`);
      assert.equal(t.body.error, error, JSON.stringify(t.body));
      assert.match(t.body.error_description, reason);
      assert.equal(t.body.access_token, undefined);
    });
  }

  test('replayed jti is refused (stored in the database, so also across instances)', async () => {
    const jwt = assertion(es, clientId);
    assert.equal((await requestToken(jwt)).status, 200);
    const replay = await requestToken(jwt);
    assert.equal(replay.status, 401);
    assert.match(replay.body.error_description, /replay/);
    // a second service instance on the same database also refuses it
    // (same public base URL, as instances behind one load balancer have, so the assertion's aud matches)
    const other = await startTestServer({ publicBaseUrl: srv.url });
    try {
      const r = await fetch(`${other.url}/t/${tenant}/auth/token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt }),
      });
      assert.equal(r.status, 401);
      assert.match(((await r.json()) as any).error_description, /replay/);
      // and a fresh assertion for the same instance works, so the refusal above was the replay
      assert.equal((await fetch(`${other.url}/t/${tenant}/auth/token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion(es, clientId) }),
      })).status, 200);
    } finally { await other.close(); }
  });

  test('RFC 6749 errors for malformed requests', async () => {
    const wrongGrant = await requestToken(assertion(es, clientId), 'system/*.read', { grant_type: 'password' });
    assert.equal(wrongGrant.status, 400);
    assert.equal(wrongGrant.body.error, 'unsupported_grant_type');
    const wrongType = await requestToken(assertion(es, clientId), 'system/*.read', { client_assertion_type: 'other' });
    assert.equal(wrongType.body.error, 'invalid_request');
    const json = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 400);
  });
});

describe('access token attacks are refused', () => {
  test('revoked client: its live token fails at once, and it can get no new one', async () => {
    const key = makeKey('ES384');
    const id = await register('system/*.read', { keys: [key.jwk] });
    const t = await requestToken(assertion(key, id));
    const h = { authorization: `Bearer ${t.body.access_token}` };
    assert.equal((await fhir(`${base}/Practitioner`, { headers: h })).status, 200);
    await srv.services.auth.clients.revoke(tenant, id);
    assert.equal((await fhir(`${base}/Practitioner`, { headers: h })).status, 401);
    assert.equal((await requestToken(assertion(key, id))).status, 401);
  });

  test('a token of another tenant is refused with 401 (not signed by that tenant), never data', async () => {
    const t = await requestToken(assertion(es, clientId));
    const otherTenant = await srv.newTenant('other');
    await fhir(`${srv.url}/t/${otherTenant}/fhir/Organization/secret`, { method: 'PUT', json: { ...example('Organization-Acme'), id: 'secret' } });
    await srv.services.tenants.updateSettings(otherTenant, { requireAuthForReads: true });
    const r = await fhir(`${srv.url}/t/${otherTenant}/fhir/Organization/secret`, { headers: { authorization: `Bearer ${t.body.access_token}` } });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /invalid_token/);
    assert.doesNotMatch(r.text, /Acme/);
  });

  test('expired, forged and malformed access tokens are 401', async () => {
    const t = await requestToken(assertion(es, clientId));
    const [h, p, s] = t.body.access_token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${b64u(JSON.stringify({ ...claims, scope: 'system/*.cruds' }))}.${s}`;
    const expiredClaims = `${h}.${b64u(JSON.stringify({ ...claims, exp: claims.iat - 10 }))}.${s}`;
    for (const bad of [forged, expiredClaims, 'abc.def.ghi']) {
      const r = await fhir(`${base}/Organization`, { method: 'POST', json: example('Organization-Acme'), headers: { authorization: `Bearer ${bad}` } });
      assert.equal(r.status, 401, bad.slice(0, 20));
      assert.match(r.headers.get('www-authenticate') ?? '', /Bearer/);
    }
    assert.equal((await fhir(`${base}/Practitioner`, { headers: { authorization: 'Basic abc' } })).status, 401);
  });

  test('a genuinely expired token is 401', async () => {
    // mint with a key of this tenant but an exp in the past, as the server would have issued 5+ minutes ago
    const { default: jwt } = await import('jsonwebtoken');
    const k = await srv.services.auth.keys.current(tenant);
    const old = jwt.sign({ scope: 'system/*.read', tenant, client_id: clientId, exp: Math.floor(Date.now() / 1000) - 60 }, k.privateKey!, {
      algorithm: 'ES384', keyid: k.kid, issuer: base, audience: base, subject: clientId, jwtid: randomUUID(),
    });
    const r = await fhir(`${base}/Practitioner`, { headers: { authorization: `Bearer ${old}` } });
    assert.equal(r.status, 401);
    assert.match(r.text, /expired/);
  });

  test('anonymous writes are 401; anonymous reads are public unless the tenant requires auth', async () => {
    assert.equal((await fhir(`${base}/Organization`, { method: 'POST', json: example('Organization-Acme'), anonymous: true })).status, 401);
    assert.equal((await fhir(`${base}/Organization`)).status, 200);
    const priv = await srv.newTenant('private');
    await srv.services.tenants.updateSettings(priv, { requireAuthForReads: true });
    assert.equal((await fhir(`${srv.url}/t/${priv}/fhir/Organization`)).status, 401);
    assert.equal((await fhir(`${srv.url}/t/${priv}/fhir/metadata`)).status, 200, 'metadata stays public');
  });

  test('signing keys rotate without breaking live tokens', async () => {
    const before = await requestToken(assertion(es, clientId));
    await srv.services.auth.keys.rotate(tenant);
    const after = await requestToken(assertion(es, clientId));
    for (const t of [before, after]) {
      assert.equal((await fhir(`${base}/Practitioner`, { headers: { authorization: `Bearer ${t.body.access_token}` } })).status, 200);
    }
    const jwks = await (await fetch(`${srv.url}/t/${tenant}/auth/jwks`)).json() as any;
    assert.ok(jwks.keys.length >= 2);
  });
});

describe('signing key rotation by a tenant admin', () => {
  test('POST /admin/signing-keys/rotate: admin only; the new key is published and signs new tokens', async () => {
    const sessions = srv.services.sessions as unknown as { create(t: string, u: { userId: string; roles: string[] }): Promise<{ token: string; session: { csrfToken: string } }> };
    const as = async (role: string) => {
      const { token, session } = await sessions.create(tenant, { userId: `${role}@plan.example`, roles: [role] });
      return { cookie: `plannet_session=${token}`, 'x-csrf-token': session.csrfToken };
    };
    const url = `${srv.url}/t/${tenant}/admin/signing-keys/rotate`;
    assert.equal((await fetch(url, { method: 'POST', headers: await as('viewer') })).status, 403);
    assert.equal((await fetch(url, { method: 'POST' })).status, 401);
    const r = await fetch(url, { method: 'POST', headers: await as('admin') });
    assert.equal(r.status, 201);
    const { kid } = await r.json() as { kid: string };
    const jwks = await (await fetch(`${srv.url}/t/${tenant}/auth/jwks`)).json() as { keys: { kid: string }[] };
    assert.ok(jwks.keys.some((k) => k.kid === kid));
    const t = await requestToken(assertion(es, clientId));
    assert.equal(JSON.parse(Buffer.from(t.body.access_token.split('.')[0], 'base64url').toString()).kid, kid);
  });
});
