/**
 * SMART Backend Services, line by line against the checklist in the Bulk Data + SMART spec summary (lines 1–18
 * beyond what smart.test.ts already covers): discovery contents, registration rules, jti scoping, claim
 * completeness, audience variants, kid ambiguity, jku, algorithm allow-list, JWKS URL fetching, scopes and the
 * resource-server answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, example, fhir, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let tenant: string;
let base: string;
let tokenUrl: string;
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

interface Key { kid: string; alg: string; privateKey: KeyObject; jwk: Record<string, unknown> }
function key(kind: 'ES384' | 'RS384' | 'ES256' | 'RS1024', kid: string = randomUUID()): Key {
  const pair = kind === 'ES384' ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
    : kind === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: kind === 'RS1024' ? 1024 : 2048 });
  const alg = kind === 'RS1024' ? 'RS384' : kind;
  return { kid, alg, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg } };
}

function jwt(k: Key, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const h = { typ: 'JWT', kid: k.kid, alg: k.alg, ...header };
  const input = `${b64u(JSON.stringify(h))}.${b64u(JSON.stringify(claims))}`;
  const digest = String(h.alg).endsWith('256') ? 'sha256' : 'sha384';
  const opts = String(h.alg).startsWith('ES') ? { key: k.privateKey, dsaEncoding: 'ieee-p1363' as const } : String(h.alg).startsWith('PS') ? { key: k.privateKey, padding: 6, saltLength: 48 } : k.privateKey;
  return `${input}.${b64u(sign(digest, Buffer.from(input), opts as never))}`;
}
const claimsFor = (clientId: string, over: Record<string, unknown> = {}) =>
  ({ iss: clientId, sub: clientId, aud: tokenUrl, exp: Math.floor(Date.now() / 1000) + 300, jti: randomUUID(), ...over });

async function token(assertion: string, scope = 'system/*.read', extra: Record<string, string> = {}) {
  const res = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion, ...extra }) });
  return { status: res.status, body: await res.json() as any };
}
const register = async (scopes: string, jwks?: object, jwksUri?: string) =>
  (await srv.services.auth.clients.register(tenant, { name: 'checklist', scopes: scopes.split(' '), jwks, jwksUri })).clientId;

/** A JWKS server on loopback that counts its hits and can misbehave. */
async function jwksServer(handler: (res: http.ServerResponse, hits: number) => void) {
  let hits = 0;
  const server = http.createServer((_req, res) => { hits++; handler(res, hits); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, hits: () => hits, close: () => new Promise((r) => server.close(r)) };
}

before(async () => {
  srv = await startTestServer();
  tenant = srv.tenant;
  base = srv.base;
  tokenUrl = `${srv.url}/t/${tenant}/auth/token`;
});
after(async () => { await srv.close(); });

describe('1-2 discovery', () => {
  test('JSON for any Accept, absolute URLs, required fields, no issuer', async () => {
    for (const accept of ['text/html', '*/*', undefined]) {
      const r = await fetch(`${base}/.well-known/smart-configuration`, { headers: accept ? { accept } : {} });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      const c = await r.json() as any;
      assert.equal(c.token_endpoint, tokenUrl);
      assert.ok(new URL(c.jwks_uri).protocol.startsWith('http'));
      assert.deepEqual(c.grant_types_supported, ['client_credentials']);
      assert.ok(c.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
      assert.ok(c.token_endpoint_auth_signing_alg_values_supported.includes('RS384') && c.token_endpoint_auth_signing_alg_values_supported.includes('ES384'));
      assert.ok(!c.token_endpoint_auth_signing_alg_values_supported.some((a: string) => /^HS|none/.test(a)));
      for (const cap of ['client-confidential-asymmetric', 'permission-v1', 'permission-v2']) assert.ok(c.capabilities.includes(cap));
      assert.deepEqual(c.code_challenge_methods_supported, ['S256']);
      for (const s of ['system/*.rs', 'system/*.read', 'system/Practitioner.rs', 'system/PractitionerRole.rs']) assert.ok(c.scopes_supported.includes(s), s);
      assert.equal(c.issuer, undefined);
    }
  });
});

describe('6 registration', () => {
  test('short RSA keys, EC keys off P-384 and private keys are refused', async () => {
    await assert.rejects(register('system/*.read', { keys: [key('RS1024').jwk] }), /2048/);
    await assert.rejects(register('system/*.read', { keys: [key('ES256').jwk] }), /P-384/);
    const k = key('ES384');
    await assert.rejects(register('system/*.read', { keys: [{ ...k.jwk, ...k.privateKey.export({ format: 'jwk' }) }] }), /private/);
    const rs = key('RS384');
    const id = await register('system/*.read', { keys: [rs.jwk] });
    assert.equal((await token(jwt(rs, {}, claimsFor(id)))).status, 200, 'RS384 with an inline JWKS works');
  });
});

describe('7-10 assertion claims', () => {
  let k: Key; let id: string; let other: Key; let otherId: string;
  before(async () => {
    k = key('ES384'); id = await register('system/*.read', { keys: [k.jwk] });
    other = key('ES384'); otherId = await register('system/*.read', { keys: [other.jwk] });
  });

  test('a newly signed assertion reusing a jti is a replay; the same jti from another client is fine', async () => {
    const jti = randomUUID();
    assert.equal((await token(jwt(k, {}, claimsFor(id, { jti })))).status, 200);
    const again = await token(jwt(k, {}, claimsFor(id, { jti, exp: Math.floor(Date.now() / 1000) + 200 })));
    assert.equal(again.status, 401);
    assert.equal(again.body.error, 'invalid_client');
    assert.equal((await token(jwt(other, {}, claimsFor(otherId, { jti })))).status, 200);
  });

  test('exp: now+300 accepted; more than the skew in the past or beyond 300 s refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await token(jwt(k, {}, claimsFor(id, { exp: now + 300 })))).status, 200);
    assert.equal((await token(jwt(k, {}, claimsFor(id, { exp: now - 61 })))).status, 401);
    assert.equal((await token(jwt(k, {}, claimsFor(id, { exp: now + 400 })))).status, 401);
  });

  test('each of iss, sub, aud, exp, jti missing is refused; client_id must match iss', async () => {
    for (const missing of ['iss', 'sub', 'aud', 'exp', 'jti']) {
      const c: Record<string, unknown> = claimsFor(id);
      delete c[missing];
      const r = await token(jwt(k, {}, c));
      assert.equal(r.status, 401, missing);
      assert.equal(r.body.error, 'invalid_client', missing);
    }
    assert.equal((await token(jwt(k, {}, claimsFor(id)), 'system/*.read', { client_id: otherId })).status, 401);
    assert.equal((await token(jwt(k, {}, claimsFor(id)), 'system/*.read', { client_id: id })).status, 200);
  });

  test('audience variants are refused; an array holding our exact URL is accepted', async () => {
    const other = await srv.newTenant('aud');
    for (const aud of [`${srv.url}/t/${other}/auth/token`, tokenUrl.replace('http://', 'https://'), `${tokenUrl}/`, tokenUrl.replace('127.0.0.1', 'localhost')]) {
      assert.equal((await token(jwt(k, {}, claimsFor(id, { aud })))).status, 401, aud);
    }
    assert.equal((await token(jwt(k, {}, claimsFor(id, { aud: ['https://elsewhere.example/token', tokenUrl] })))).status, 200);
  });

  test('a Host header cannot move the expected audience', async () => {
    const evil = 'http://evil.example/t/' + tenant + '/auth/token';
    const res = await new Promise<number>((resolve, reject) => {
      const body = new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt(k, {}, claimsFor(id, { aud: evil })) }).toString();
      const u = new URL(tokenUrl);
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
        (r) => { r.resume(); resolve(r.statusCode ?? 0); });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res, 401);
  });
});

describe('11-14 keys and algorithms', () => {
  test('duplicate kids are ambiguous; an EC kid used with RS384 is refused', async () => {
    const a = key('ES384', 'dup'); const b = key('ES384', 'dup');
    const id = await register('system/*.read', { keys: [a.jwk, b.jwk] });
    assert.equal((await token(jwt(a, {}, claimsFor(id)))).status, 401);
    const ec = key('ES384'); const ecId = await register('system/*.read', { keys: [ec.jwk] });
    const rsa = key('RS384');
    assert.equal((await token(jwt({ ...rsa, kid: ec.kid }, { alg: 'RS384' }, claimsFor(ecId)))).status, 401);
  });

  test('jku: the registered JWKS URL is accepted; any other is refused without being fetched', async () => {
    const k = key('ES384');
    const good = await jwksServer((res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [k.jwk] })));
    const trap = await jwksServer((res) => res.end('{}'));
    try {
      const id = await register('system/*.read', undefined, good.url);
      assert.equal((await token(jwt(k, { jku: good.url }, claimsFor(id)))).status, 200);
      const r = await token(jwt(k, { jku: trap.url }, claimsFor(id)));
      assert.equal(r.status, 401);
      assert.equal(trap.hits(), 0, 'no request went to the unregistered jku');
    } finally { await good.close(); await trap.close(); }
  });

  test('algorithms outside RS384/ES384 are refused', async () => {
    const rs = key('RS384'); const rsId = await register('system/*.read', { keys: [rs.jwk] });
    for (const alg of ['RS256', 'PS384']) assert.equal((await token(jwt(rs, { alg }, claimsFor(rsId)))).status, 401, alg);
    const es = key('ES384'); const esId = await register('system/*.read', { keys: [es.jwk] });
    assert.equal((await token(jwt(es, { alg: 'ES256' }, claimsFor(esId)))).status, 401);
  });

  test('a flipped byte in header, payload or signature is refused', async () => {
    const k = key('ES384'); const id = await register('system/*.read', { keys: [k.jwk] });
    const good = jwt(k, {}, claimsFor(id));
    const [h, p, s] = good.split('.');
    const flip = (part: string) => { const b = Buffer.from(part, 'base64url'); b[Math.floor(b.length / 2)] ^= 1; return b.toString('base64url'); };
    for (const bad of [`${flip(h)}.${p}.${s}`, `${h}.${flip(p)}.${s}`, `${h}.${p}.${flip(s)}`]) {
      const r = await token(bad);
      assert.equal(r.status, 401);
      assert.equal(r.body.error, 'invalid_client');
    }
  });
});

describe('15 JWKS URL fetching', () => {
  test('honours max-age, re-fetches for an unknown kid (rotation), and refuses bad documents', async () => {
    let current = key('ES384');
    const server = await jwksServer((res) => res.setHeader('content-type', 'application/json').setHeader('cache-control', 'max-age=600').end(JSON.stringify({ keys: [current.jwk] })));
    try {
      const id = await register('system/*.read', undefined, server.url);
      assert.equal((await token(jwt(current, {}, claimsFor(id)))).status, 200);
      assert.equal((await token(jwt(current, {}, claimsFor(id)))).status, 200);
      assert.equal(server.hits(), 1, 'cached within max-age');
      current = key('ES384'); // the client rotates its key
      assert.equal((await token(jwt(current, {}, claimsFor(id)))).status, 200, 'an unknown kid triggers one re-fetch');
      assert.equal(server.hits(), 2);
    } finally { await server.close(); }

    const k = key('ES384');
    const bad = [
      await jwksServer((res) => { res.statusCode = 500; res.end('oops'); }),
      await jwksServer((res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [k.jwk], pad: 'x'.repeat(70 * 1024) }))),
      await jwksServer((res) => res.end('not json')),
    ];
    try {
      for (const s of bad) {
        const id = await register('system/*.read', undefined, s.url);
        const r = await token(jwt(k, {}, claimsFor(id)));
        assert.equal(r.status, 401, s.url);
        assert.equal(r.body.error, 'invalid_client');
      }
    } finally { for (const s of bad) await s.close(); }
  });

  test('a jwks_uri that does not answer in time is refused', async () => {
    const k = key('ES384');
    const slow = await jwksServer(() => { /* never answers */ });
    const clients = new (srv.services.auth.clients.constructor as any)(srv.services.db, { fetchTimeoutMs: 300 });
    try {
      const c = await clients.register(tenant, { name: 'slow', scopes: ['system/*.read'], jwksUri: slow.url });
      await assert.rejects(clients.publicKey(c, k.kid), /timeout|aborted/i);
    } finally { await slow.close(); }
  });

  test('only https jwks_uri in production', async () => {
    const { validateJwksUri } = await import('../../src/auth/smart/clients.ts');
    assert.throws(() => validateJwksUri('http://127.0.0.1:9/jwks.json', true), /https/);
    assert.equal(validateJwksUri('https://client.example/jwks.json', true), 'https://client.example/jwks.json');
  });
});

describe('16-18 scopes and the resource server', () => {
  test('v1 and v2 echoed as granted; undefined suffixes are invalid_scope', async () => {
    const k = key('ES384'); const id = await register('system/*.read system/*.rs system/Practitioner.rs', { keys: [k.jwk] });
    assert.equal((await token(jwt(k, {}, claimsFor(id)), 'system/*.read')).body.scope, 'system/*.read');
    assert.equal((await token(jwt(k, {}, claimsFor(id)), 'system/*.rs')).body.scope, 'system/*.rs');
    for (const bad of ['system/*.dus', 'system/*', 'user/*.read', 'system/Practitioner.sr']) {
      const r = await token(jwt(k, {}, claimsFor(id)), bad);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error, 'invalid_scope', bad);
    }
  });

  test('system/Practitioner.rs reads Practitioner only (on a tenant that requires auth for reads)', async () => {
    const priv = await srv.newTenant('scoped');
    await srv.services.tenants.updateSettings(priv, { requireAuthForReads: true });
    const k = key('ES384');
    const c = await srv.services.auth.clients.register(priv, { name: 'p', scopes: ['system/Practitioner.rs'], jwks: { keys: [k.jwk] } });
    const url = `${srv.url}/t/${priv}/auth/token`;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({
      grant_type: 'client_credentials', scope: 'system/Practitioner.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt(k, {}, { ...claimsFor(c.clientId), aud: url }) }) });
    const t = await res.json() as any;
    const h = { authorization: `Bearer ${t.access_token}` };
    assert.equal((await fhir(`${srv.url}/t/${priv}/fhir/Practitioner`, { headers: h })).status, 200);
    const loc = await fhir(`${srv.url}/t/${priv}/fhir/Location`, { headers: h });
    assert.equal(loc.status, 403);
    assert.equal(loc.body.resourceType, 'OperationOutcome');
  });

  test('missing token is 401 with WWW-Authenticate: Bearer; a token signed by another key is invalid_token', async () => {
    const r = await fhir(`${base}/Organization`, { method: 'POST', json: example('Organization-Acme'), anonymous: true });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
    const { default: jsonwebtoken } = await import('jsonwebtoken');
    const foreign = key('ES384');
    const forged = jsonwebtoken.sign({ scope: 'system/*.cruds', tenant, client_id: 'x' }, foreign.privateKey, { algorithm: 'ES384', keyid: foreign.kid, issuer: base, audience: base, subject: 'x', expiresIn: 60 });
    const f = await fhir(`${base}/Organization`, { method: 'POST', json: example('Organization-Acme'), headers: { authorization: `Bearer ${forged}` } });
    assert.equal(f.status, 401);
    assert.match(f.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });
});
