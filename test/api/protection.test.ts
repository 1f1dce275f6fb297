/**
 * Protection: security headers, CORS (open for the public API, closed for staff endpoints), HTTPS (TLS 1.2+ when a
 * certificate is configured; plaintext refused in production, honouring X-Forwarded-Proto only with TRUST_PROXY),
 * and rate limits (trigger, recover, and shared through a real Redis by two instances).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import tls from 'node:tls';
import { startTestServer, fhir, type TestServer } from '../helpers/server.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.close(); });

describe('headers and CORS', () => {
  test('security headers on API responses', async () => {
    const r = await fhir(`${srv.base}/metadata`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(r.headers.get('x-powered-by'), null);
  });

  test('CORS is open for public reads and closed for staff endpoints', async () => {
    const pre = await fetch(`${srv.base}/Practitioner`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    const get = await fetch(`${srv.base}/Practitioner`, { headers: { origin: 'https://app.example' } });
    assert.equal(get.headers.get('access-control-allow-origin'), '*');
    assert.equal(get.headers.get('access-control-allow-credentials'), null);
    const admin = await fetch(`${srv.url}/t/${srv.tenant}/admin/clients`, { headers: { origin: 'https://app.example' } });
    assert.equal(admin.headers.get('access-control-allow-origin'), null);
    const adminPre = await fetch(`${srv.url}/t/${srv.tenant}/admin/clients`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    assert.equal(adminPre.headers.get('access-control-allow-origin'), null);
  });
});

describe('HTTPS', () => {
  test('production refuses plaintext; behind a trusted proxy X-Forwarded-Proto: https is accepted', async () => {
    const prod = await startTestServer({ production: true, trustProxy: 'loopback' });
    try {
      const plain = await fhir(`${prod.base}/metadata`);
      assert.equal(plain.status, 403);
      assert.equal(plain.body.resourceType, 'OperationOutcome');
      const proxied = await fhir(`${prod.base}/metadata`, { headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(proxied.status, 200);
      assert.match(proxied.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
      assert.equal((await fetch(`${prod.url}/healthz`)).status, 200, 'probes stay plain');
    } finally { await prod.close(); }
    const untrusted = await startTestServer({ production: true });
    try {
      assert.equal((await fhir(`${untrusted.base}/metadata`, { headers: { 'x-forwarded-proto': 'https' } })).status, 403, 'proxy headers ignored without TRUST_PROXY');
    } finally { await untrusted.close(); }
  });

  test('with a certificate the service speaks TLS 1.2+ only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const secure = await startTestServer({ tls: { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') } });
    try {
      assert.match(secure.url, /^https:/);
      const ca = fs.readFileSync(path.join(dir, 'cert.pem'));
      const status = await new Promise<number>((resolve, reject) => {
        https.get(`${secure.url}/healthz`, { ca }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
      });
      assert.equal(status, 200);
      const { port } = new URL(secure.url);
      await assert.rejects(new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: Number(port), ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () => { s.end(); resolve(true); });
        s.on('error', reject);
      }));
    } finally { await secure.close(); fs.rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('rate limits', () => {
  test('anonymous traffic is limited per address: 429 with Retry-After and an OperationOutcome, then recovers', async () => {
    const limited = await startTestServer({ rateLimit: { anonymousPerMinute: 5, clientPerMinute: 1000, authPerMinute: 1000, windowMs: 1500 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await fhir(`${limited.base}/Practitioner`)).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      const refused = await fhir(`${limited.base}/Practitioner`);
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal(refused.body.resourceType, 'OperationOutcome');
      assert.equal(refused.body.issue[0].code, 'throttled');
      await new Promise((r) => setTimeout(r, 1700));
      assert.equal((await fhir(`${limited.base}/Practitioner`)).status, 200, 'recovers after the window');
    } finally { await limited.close(); }
  });

  test('the token endpoint has its own, stricter limit', async () => {
    const limited = await startTestServer({ rateLimit: { anonymousPerMinute: 1000, clientPerMinute: 1000, authPerMinute: 3, windowMs: 60_000 } });
    try {
      const post = () => fetch(`${limited.url}/t/${limited.tenant}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await post()).status);
      assert.deepEqual(statuses, [400, 400, 400, 429, 429]);
      assert.equal((await fhir(`${limited.base}/metadata`)).status, 200, 'the API limit is separate');
    } finally { await limited.close(); }
  });

  test('with REDIS_URL two instances share one limit (real redis-server)', async () => {
    let redis: RedisServer | undefined;
    const servers: TestServer[] = [];
    try {
      redis = await startRedis();
      const limits = { anonymousPerMinute: 6, clientPerMinute: 1000, authPerMinute: 1000, windowMs: 60_000 };
      servers.push(await startTestServer({ redisUrl: redis.url, rateLimit: limits }));
      servers.push(await startTestServer({ redisUrl: redis.url, rateLimit: limits }));
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await fhir(`${servers[i % 2].base}/metadata`)).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
    } finally {
      for (const s of servers) await s.close();
      await redis?.stop();
    }
  });
});
