/**
 * Round trips as real clients make them: fhir-kit-client with a SMART Backend Services token obtained from a
 * private_key_jwt assertion signed here (ES384), through kick-off, polling, download and cancel; and the static bulk
 * publish, fetched without any credentials, on demand (API and CLI), replaced atomically by the next run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { promisify } from 'node:util';
import path from 'node:path';
import { Client } from 'fhir-kit-client';
import { startTestServer, fhir, testDatabaseUrl, type TestServer } from '../helpers/server.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { clientToken, loadSynthetic, download, downloadAll, PLAN_NET, type Manifest } from './export-support.ts';

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
  await loadSynthetic(srv, srv.tenant, 25);
  await new Promise((r) => setTimeout(r, 600));
});
after(async () => { await srv.close(); });

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

describe('fhir-kit-client + SMART Backend Services', () => {
  test('assertion → token → kick-off → poll → manifest → downloads (no token) → counts match the search totals', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const kid = randomUUID();
    const registered = await srv.services.auth.clients.register(srv.tenant, { name: 'kit export client', scopes: ['system/*.read'], jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES384' }] } });
    const discovery = await (await fetch(`${srv.base}/.well-known/smart-configuration`)).json() as { token_endpoint: string };
    // the assertion exactly as bulk-data-client and Inferno sign it: iss = sub = client, aud = token URL, exp = now + 300, jti
    const header = { alg: 'ES384', typ: 'JWT', kid };
    const claims = { iss: registered.clientId, sub: registered.clientId, aud: discovery.token_endpoint, exp: Math.floor(Date.now() / 1000) + 300, jti: randomUUID() };
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
    const assertion = `${input}.${b64u(sign('sha384', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }))}`;
    const tokenRes = await fetch(discovery.token_endpoint, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
    });
    assert.equal(tokenRes.status, 200);
    const { access_token } = await tokenRes.json() as { access_token: string };

    const client = new Client({ baseUrl: srv.base, bearerToken: access_token });
    const cs = await client.capabilityStatement() as any;
    assert.ok(cs.rest[0].operation.some((o: any) => o.name === 'export'));
    const accepted = await client.operation({ name: '$export', method: 'GET', options: { headers: { prefer: 'respond-async, handling=lenient', accept: 'application/fhir+json' } } });
    const statusUrl = Client.httpFor(accepted).response!.headers.get('content-location')!;
    assert.ok(statusUrl.startsWith(srv.base));
    let manifest: Manifest | undefined;
    for (let i = 0; i < 60 && !manifest; i++) {
      const r = await client.request(statusUrl, { options: { headers: { accept: 'application/json' } } }) as any;
      const res = Client.httpFor(r).response!;
      if (res.status === 200) { manifest = r as Manifest; break; }
      assert.equal(res.status, 202);
      await new Promise((ok) => setTimeout(ok, Number(res.headers.get('retry-after')) * 1000));
    }
    assert.ok(manifest, 'export finished');
    assert.equal(manifest.requiresAccessToken, false);
    const byType = await downloadAll(manifest); // plain GETs, no Authorization
    for (const type of PLAN_NET) {
      const total = (await client.search({ resourceType: type, searchParams: { _summary: 'count', _total: 'accurate' } }) as any).total;
      assert.equal(byType.get(type)?.length ?? 0, total, type);
    }
    // and cancel (remove) it through the client
    const del = await client.httpClient.delete(statusUrl) as any;
    assert.equal(Client.httpFor(del).response!.status, 202);
    await assert.rejects(client.request(statusUrl), (e: any) => e.response?.status === 404);
  });
});

describe('static bulk publish', () => {
  test('POST $bulk-publish (export:run) → GET $bulk-publish without credentials → plain file URLs; the next run replaces the set atomically', async () => {
    const anon = await fetch(`${srv.base}/$bulk-publish`);
    assert.equal(anon.status, 404, 'nothing published yet');
    assert.equal((await fetch(`${srv.base}/$bulk-publish`, { method: 'POST' })).status, 401);
    const c = await clientToken(srv, srv.tenant, ['system/*.read']);
    const narrow = await clientToken(srv, srv.tenant, ['system/Practitioner.rs']);
    assert.equal((await fetch(`${srv.base}/$bulk-publish`, { method: 'POST', headers: { authorization: `Bearer ${narrow.token}` } })).status, 403);
    const run = async () => {
      const r = await fetch(`${srv.base}/$bulk-publish`, { method: 'POST', headers: { authorization: `Bearer ${c.token}` } });
      assert.equal(r.status, 202);
      const loc = r.headers.get('content-location')!;
      for (;;) {
        const s = await fetch(loc, { headers: { authorization: `Bearer ${c.token}` } });
        if (s.status === 200) return;
        assert.equal(s.status, 202);
        await new Promise((ok) => setTimeout(ok, Number(s.headers.get('retry-after')) * 1000));
      }
    };
    await run();
    const m1r = await fetch(`${srv.base}/$bulk-publish`);
    assert.equal(m1r.status, 200);
    assert.match(m1r.headers.get('content-type')!, /^application\/json/);
    assert.match(m1r.headers.get('cache-control')!, /public/);
    const m1 = await m1r.json() as Manifest;
    assert.equal(m1.request, `${srv.base}/$bulk-publish`);
    assert.equal(m1.requiresAccessToken, false);
    for (const o of m1.output) assert.ok(o.url.startsWith(`${srv.base}/$bulk-publish/`) && !o.url.includes('?'), o.url);
    const files1 = await downloadAll(m1);
    for (const type of PLAN_NET) {
      assert.equal(files1.get(type)?.length ?? 0, (await fhir(`${srv.base}/${type}?_summary=count&_total=accurate`)).body.total, type);
    }
    // a change, then the next run: the manifest switches in one step; the old set stays readable for its grace period
    const org = (await fhir(`${srv.base}/Organization?_count=1`)).body.entry[0].resource;
    await fhir(`${srv.base}/Organization/published-later`, { method: 'PUT', json: { ...org, id: 'published-later' } });
    await new Promise((ok) => setTimeout(ok, 600));
    await run();
    const m2 = await (await fetch(`${srv.base}/$bulk-publish`)).json() as Manifest;
    assert.notEqual(m2.output[0].url, m1.output[0].url);
    const orgs = (m: Manifest) => m.output.filter((o) => o.type === 'Organization').reduce((n, o) => n + o.count, 0);
    assert.equal(orgs(m2), orgs(m1) + 1);
    assert.equal((await download(m1.output[0].url)).status, 200, 'the replaced set is still downloadable during its grace period');
    assert.equal((await downloadAll(m2)).get('Organization')!.some((r) => r.id === 'published-later'), true);
  });

  test('a private tenant\'s published set needs read authentication', async () => {
    const priv = await srv.newTenant('private-pub');
    await srv.services.tenants.updateSettings(priv, { requireAuthForReads: true });
    assert.equal((await fetch(`${srv.url}/t/${priv}/fhir/$bulk-publish`)).status, 401);
  });

  test('npm run publish -- --tenant <id> queues a publish and waits for it', async () => {
    const tenant = await srv.newTenant('cli-pub');
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'src', 'cli', 'publish.ts'), '--tenant', tenant, '--timeout', '60'], {
      // the same database and the same export folder as the running service, whose workers do the job
      env: { ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: srv.config.dataDir, LOG_LEVEL: 'silent' },
    });
    assert.match(stdout, /queued bulk publish/);
    assert.match(stdout, /published 0 resources in 0 files/);
    const m = await (await fetch(`${srv.url}/t/${tenant}/fhir/$bulk-publish`)).json() as Manifest;
    assert.deepEqual(m.output, []);
  });
});
