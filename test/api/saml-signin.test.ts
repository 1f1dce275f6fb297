/**
 * Staff SAML sign-in end to end against a real IdP (SimpleSAMLphp), through the real HTTP-Redirect and HTTP-POST
 * bindings: SP metadata, the signed AuthnRequest, the IdP's login form, the signed response posted to our ACS, the
 * session cookie, group→role mapping on staff-only routes, CSRF on state-changing requests, logout, revocation,
 * the admin API and the CLI.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createPublicKey, createVerify, X509Certificate } from 'node:crypto';
import { startTestServer, fhir, example, testDatabaseUrl, type TestServer } from '../helpers/server.ts';
import { startSamlIdp, signIn, startLogin, idpAuthenticate, postToAcs, sessionCookieOf, parseSpMetadata, TEST_ROLE_MAP, type SamlIdp } from '../helpers/saml-idp.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';

const run = promisify(execFile);

let srv: TestServer;
let idp: SamlIdp;
let base: string; // /t/{tenant} on our server

before(async () => {
  srv = await startTestServer();
  idp = await startSamlIdp();
  base = `${srv.url}/t/${srv.tenant}`;
  await idp.configureTenant(srv, srv.tenant);
});
after(async () => {
  await idp?.stop();
  await srv?.close();
});

test('SP metadata: entity id, ACS (HTTP-POST), signing and encryption certificates, signed', async () => {
  const r = await fetch(`${base}/auth/saml/metadata`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /application\/samlmetadata\+xml/);
  const xml = await r.text();
  const md = parseSpMetadata(xml);
  assert.equal(md.entityId, `${base}/auth/saml/metadata`);
  assert.equal(md.acsUrl, `${base}/auth/saml/acs`);
  assert.ok(md.signingCert && md.encryptionCert && md.signingCert !== md.encryptionCert);
  assert.match(xml, /WantAssertionsSigned="true"/);
  assert.match(xml, /AuthnRequestsSigned="true"/);
  assert.match(xml, /<(ds:)?Signature\b/);
  // stable: generated once, stored in the database
  const again = parseSpMetadata(await (await fetch(`${base}/auth/saml/metadata`)).text());
  assert.equal(again.signingCert, md.signingCert);
  const { rows } = await srv.services.db.withTenant(srv.tenant, (tx) => tx.query('SELECT purpose, certificate FROM saml_sp_keys ORDER BY purpose'), { readOnly: true });
  assert.deepEqual(rows.map((r: any) => r.purpose), ['encryption', 'signing']);
  assert.equal(new X509Certificate(rows[1].certificate).raw.toString('base64'), md.signingCert);
});

test('login redirects to the IdP with a signed AuthnRequest whose id is stored server-side', async () => {
  const start = await startLogin(base, `/t/${srv.tenant}/fhir/metadata`);
  const u = new URL(start.idpUrl);
  assert.equal(`${u.origin}${u.pathname}`, idp.ssoUrl);
  assert.match(start.requestXml, new RegExp(`AssertionConsumerServiceURL="${base}/auth/saml/acs"`));
  assert.match(start.requestXml, new RegExp(`Destination="${idp.ssoUrl}"`));
  assert.equal(u.searchParams.get('SigAlg'), 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
  // The redirect-binding signature covers SAMLRequest, RelayState and SigAlg as sent, and verifies with our SP cert.
  const signed = u.search.slice(1).split('&').filter((p) => /^(SAMLRequest|RelayState|SigAlg)=/.test(p)).join('&');
  const md = parseSpMetadata(await (await fetch(`${base}/auth/saml/metadata`)).text());
  const cert = createPublicKey(`-----BEGIN CERTIFICATE-----\n${md.signingCert}\n-----END CERTIFICATE-----`);
  assert.ok(createVerify('RSA-SHA256').update(signed).verify(cert, u.searchParams.get('Signature')!, 'base64'));
  const { rows } = await srv.services.db.withTenant(srv.tenant, (tx) => tx.query('SELECT return_to, consumed_at FROM saml_requests WHERE request_id = $1', [start.requestId]), { readOnly: true });
  assert.deepEqual(rows, [{ return_to: `/t/${srv.tenant}/fhir/metadata`, consumed_at: null }]);
  assert.equal(start.res.headers.get('cache-control'), 'no-store');
});

test('returnTo must stay inside the tenant (no open redirect)', async () => {
  for (const bad of ['https://evil.example/', '//evil.example/x', '/t/other/fhir', `/t/${srv.tenant}/../../x`, '/\\evil.example']) {
    const r = await fetch(`${base}/auth/saml/login?returnTo=${encodeURIComponent(bad)}`, { redirect: 'manual' });
    assert.equal(r.status, 400, bad);
  }
});

test('an admin signs in through the IdP, gets a tenant-scoped HttpOnly SameSite=Lax cookie, and can use staff-only routes', async () => {
  const s = await signIn(base, 'alice', 'alice-pass', { returnTo: `/t/${srv.tenant}/admin/clients` });
  assert.equal(s.location, `/t/${srv.tenant}/admin/clients`);
  assert.match(s.setCookie, new RegExp(`Path=/t/${srv.tenant}/;`));
  assert.match(s.setCookie, /HttpOnly/);
  assert.match(s.setCookie, /SameSite=Lax/);
  assert.match(s.setCookie, /Max-Age=28800/);
  // plain HTTP on loopback is the one case without Secure (see cookies.ts)
  assert.doesNotMatch(s.setCookie, /Secure/);
  assert.equal(s.session.user.id, 'alice');
  assert.equal(s.session.user.name, 'Alice Admin');
  assert.deepEqual(s.session.roles, ['admin']);
  assert.ok(s.session.permissions.includes('clients:manage'));
  assert.match(s.csrfToken, /^[A-Za-z0-9_-]{43}$/);
  const idle = Date.parse(s.session.session.idle_expires_at) - Date.parse(s.session.session.last_seen_at);
  assert.equal(idle, 15 * 60 * 1000);
  const absolute = Date.parse(s.session.session.absolute_expires_at) - Date.parse(s.session.session.created_at);
  assert.equal(absolute, 8 * 3600 * 1000);

  const clients = await fhir(`${base}/admin/clients`, { headers: { cookie: s.cookie }, anonymous: true });
  assert.equal(clients.status, 200, clients.text);
  assert.ok(Array.isArray(clients.body));
  // the session table holds a hash, never the cookie value
  const token = s.cookie.split('=')[1];
  const { rows } = await srv.services.db.withTenant(srv.tenant, (tx) => tx.query('SELECT user_id, roles, token_hash FROM staff_sessions WHERE user_id = $1', ['alice']), { readOnly: true });
  assert.ok(rows.length >= 1);
  assert.ok(rows.every((r: any) => !Buffer.from(r.token_hash).toString('utf8').includes(token)));
});

test('group → role mapping: viewer is refused staff routes (403), editor may write, unmapped user cannot sign in', async () => {
  const viewer = await signIn(base, 'victor', 'victor-pass');
  assert.deepEqual(viewer.session.roles, ['viewer']);
  assert.equal((await fhir(`${base}/admin/clients`, { headers: { cookie: viewer.cookie }, anonymous: true })).status, 403);
  const viewerWrite = await fhir(`${base}/fhir/Organization/saml-org`, { method: 'PUT', json: { ...example('Organization-Acme'), id: 'saml-org' }, headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrfToken }, anonymous: true });
  assert.equal(viewerWrite.status, 403);

  const editor = await signIn(base, 'eddie', 'eddie-pass');
  assert.deepEqual(editor.session.roles, ['editor']);
  const write = await fhir(`${base}/fhir/Organization/saml-org`, { method: 'PUT', json: { ...example('Organization-Acme'), id: 'saml-org' }, headers: { cookie: editor.cookie, 'x-csrf-token': editor.csrfToken }, anonymous: true });
  assert.ok([200, 201].includes(write.status), write.text);
  assert.equal((await fhir(`${base}/admin/clients`, { headers: { cookie: editor.cookie }, anonymous: true })).status, 403);

  const olga = await signIn(base, 'olga', 'olga-pass');
  assert.deepEqual(olga.session.roles, ['auditor', 'exporter']);

  const start = await startLogin(base);
  const answer = await idpAuthenticate(start.idpUrl, 'nobody', 'nobody-pass');
  const r = await postToAcs(answer.acsUrl, answer.samlResponse);
  assert.equal(r.status, 403);
  assert.equal(sessionCookieOf(r), undefined);
  assert.match(await r.text(), /grant no role/);
});

test('CSRF: a state-changing request with the session cookie but without the token is 403; with it, it passes', async () => {
  const s = await signIn(base, 'eddie', 'eddie-pass');
  const body = { ...example('Organization-Acme'), id: 'csrf-org' };
  const without = await fhir(`${base}/fhir/Organization/csrf-org`, { method: 'PUT', json: body, headers: { cookie: s.cookie }, anonymous: true });
  assert.equal(without.status, 403);
  assert.match(without.text, /CSRF/);
  const wrong = await fhir(`${base}/fhir/Organization/csrf-org`, { method: 'PUT', json: body, headers: { cookie: s.cookie, 'x-csrf-token': 'x'.repeat(43) }, anonymous: true });
  assert.equal(wrong.status, 403);
  // a token of another session does not do either
  const other = await signIn(base, 'eddie', 'eddie-pass');
  const crossed = await fhir(`${base}/fhir/Organization/csrf-org`, { method: 'PUT', json: body, headers: { cookie: s.cookie, 'x-csrf-token': other.csrfToken }, anonymous: true });
  assert.equal(crossed.status, 403);
  assert.equal((await fhir(`${base}/fhir/Organization/csrf-org`, { anonymous: true })).status, 404, 'nothing was written');
  const ok = await fhir(`${base}/fhir/Organization/csrf-org`, { method: 'PUT', json: body, headers: { cookie: s.cookie, 'x-csrf-token': s.csrfToken }, anonymous: true });
  assert.equal(ok.status, 201, ok.text);
  // DELETE and POST are guarded the same way
  assert.equal((await fhir(`${base}/fhir/Organization/csrf-org`, { method: 'DELETE', headers: { cookie: s.cookie }, anonymous: true })).status, 403);
  assert.equal((await fhir(`${base}/auth/logout`, { method: 'POST', headers: { cookie: s.cookie }, anonymous: true })).status, 403);
  // bearer-token requests are exempt (no cookie involved)
  assert.ok([200, 204].includes((await fhir(`${base}/fhir/Organization/csrf-org`, { method: 'DELETE' })).status));
});

test('logout ends the server-side session at once: the same cookie is 401 afterwards', async () => {
  const s = await signIn(base, 'alice', 'alice-pass');
  assert.equal((await fhir(`${base}/admin/clients`, { headers: { cookie: s.cookie }, anonymous: true })).status, 200);
  const out = await fetch(`${base}/auth/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrfToken } });
  assert.equal(out.status, 204);
  assert.match(out.headers.getSetCookie().join('\n'), new RegExp(`plannet_session=; Path=/t/${srv.tenant}/; Max-Age=0`));
  const after = await fhir(`${base}/admin/clients`, { headers: { cookie: s.cookie }, anonymous: true });
  assert.equal(after.status, 401);
  assert.match(after.headers.get('set-cookie') ?? '', /plannet_session=;.*Max-Age=0/);
  // even for public reads a dead cookie is refused, never silently anonymous
  assert.equal((await fhir(`${base}/fhir/metadata`, { headers: { cookie: s.cookie }, anonymous: true })).status, 401);
  const info = await (await fetch(`${base}/auth/session`)).json();
  assert.equal(info.authenticated, false);
  assert.equal(info.login_url, `/t/${srv.tenant}/auth/saml/login`);
});

test('logout by an HTML form: the CSRF token as the _csrf field', async () => {
  const s = await signIn(base, 'victor', 'victor-pass');
  const r = await fetch(`${base}/auth/logout`, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${s.csrfToken}` });
  assert.equal(r.status, 204);
  assert.equal((await fetch(`${base}/fhir/metadata`, { headers: { cookie: s.cookie } })).status, 401);
});

test('revocation by an admin (API and CLI) ends every session of a user at once', async () => {
  const admin = await signIn(base, 'alice', 'alice-pass');
  const v1 = await signIn(base, 'victor', 'victor-pass');
  const v2 = await signIn(base, 'victor', 'victor-pass');
  const list = await fhir(`${base}/admin/sessions`, { headers: { cookie: admin.cookie }, anonymous: true });
  assert.equal(list.status, 200);
  assert.ok(list.body.filter((s: any) => s.user === 'victor').length >= 2);
  assert.ok(list.body.every((s: any) => !('csrf_token' in s)));
  const del = await fhir(`${base}/admin/users/victor/sessions`, { method: 'DELETE', headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrfToken }, anonymous: true });
  assert.equal(del.status, 200, del.text);
  assert.ok(del.body.revoked >= 2);
  for (const v of [v1, v2]) assert.equal((await fetch(`${base}/fhir/metadata`, { headers: { cookie: v.cookie } })).status, 401);
  assert.equal((await fetch(`${base}/admin/clients`, { headers: { cookie: admin.cookie } })).status, 200, 'other users keep theirs');

  const v3 = await signIn(base, 'victor', 'victor-pass');
  const env = { ...process.env, DATABASE_URL: testDatabaseUrl() };
  const cli = await run(process.execPath, ['src/cli/saml.ts', 'revoke', '--tenant', srv.tenant, '--user', 'victor'], { cwd: PROJECT_ROOT, env });
  assert.match(cli.stdout, /Ended 1 session\(s\) of victor/);
  assert.equal((await fetch(`${base}/fhir/metadata`, { headers: { cookie: v3.cookie } })).status, 401);
});

test('a session of tenant A is useless on tenant B', async () => {
  const other = await srv.newTenant('saml-other');
  const s = await signIn(base, 'alice', 'alice-pass');
  // the browser would not even send it (Path=/t/A/); sent by hand, it is refused — never data, never anonymous
  const r = await fhir(`${srv.url}/t/${other}/admin/clients`, { headers: { cookie: s.cookie }, anonymous: true });
  assert.equal(r.status, 401);
  const read = await fhir(`${srv.url}/t/${other}/fhir/Organization`, { headers: { cookie: s.cookie }, anonymous: true });
  assert.equal(read.status, 401);
});

test('admin API: GET/PUT /admin/saml needs tenant:admin; PUT reconfigures the role mapping', async () => {
  const anon = await fhir(`${base}/admin/saml`, { anonymous: true });
  assert.equal(anon.status, 401);
  const viewer = await signIn(base, 'victor', 'victor-pass');
  assert.equal((await fhir(`${base}/admin/saml`, { headers: { cookie: viewer.cookie }, anonymous: true })).status, 403);
  const admin = await signIn(base, 'alice', 'alice-pass');
  const got = await fhir(`${base}/admin/saml`, { headers: { cookie: admin.cookie }, anonymous: true });
  assert.equal(got.status, 200);
  assert.equal(got.body.idp_entity_id, idp.entityId);
  assert.equal(got.body.sp.acs_url, `${base}/auth/saml/acs`);
  assert.equal(got.body.certificates.length, 1);

  const put = (json: unknown, cookie = admin.cookie, csrf = admin.csrfToken) =>
    fhir(`${base}/admin/saml`, { method: 'PUT', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' }, body: JSON.stringify(json), anonymous: true });
  assert.equal((await put({ role_map: { 'plan-viewers': 'superuser' } })).status, 400);
  assert.equal((await put({ metadata_url: 'http://evil.example/md.xml' })).status, 400);
  assert.equal((await put({ nonsense: true })).status, 400);
  assert.equal((await put({ role_map: 'plan-viewers=viewer' }, viewer.cookie, viewer.csrfToken)).status, 403);
  // victor becomes an editor at his next sign-in; admins keep admin
  const changed = await put({ metadata_url: idp.metadataUrl, role_map: `${TEST_ROLE_MAP},plan-viewers=editor` });
  assert.equal(changed.status, 200, changed.text);
  assert.deepEqual(changed.body.role_map['plan-viewers'], ['viewer', 'editor']);
  const again = await signIn(base, 'victor', 'victor-pass');
  assert.deepEqual(again.session.roles, ['editor', 'viewer']);
  const restore = await put({ role_map: TEST_ROLE_MAP });
  assert.equal(restore.status, 200);
});

test('CLI: npm run saml -- configure --tenant … --metadata <url> --role-map …, and show', async () => {
  const t = await srv.newTenant('saml-cli');
  const env = { ...process.env, DATABASE_URL: testDatabaseUrl() };
  const r = await run(process.execPath, ['src/cli/saml.ts', 'configure', '--tenant', t, '--metadata', idp.metadataUrl,
    '--role-attribute', 'groups', '--role-map', 'plan-admins=admin,plan-viewers=viewer', '--user-attribute', 'uid'], { cwd: PROJECT_ROOT, env });
  assert.match(r.stdout, new RegExp(`Configured SAML sign-in for tenant ${t}: IdP ${idp.entityId}`));
  assert.match(r.stdout, /plan-admins → admin/);
  const bad = await run(process.execPath, ['src/cli/saml.ts', 'configure', '--tenant', t, '--role-map', 'x=root'], { cwd: PROJECT_ROOT, env }).catch((e) => e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown role "root"/);
  const show = await run(process.execPath, ['src/cli/saml.ts', 'show', '--tenant', t], { cwd: PROJECT_ROOT, env });
  assert.match(show.stdout, /"role_attribute": "groups"/);
  // and it works: register the new tenant's SP at the IdP, sign in
  const tBase = `${srv.url}/t/${t}`;
  await idp.registerTenant(tBase);
  const s = await signIn(tBase, 'victor', 'victor-pass');
  assert.deepEqual(s.session.roles, ['viewer']);
});

test('encrypted assertions (the SP encryption key from our metadata) are accepted', async () => {
  const t = await srv.newTenant('saml-enc');
  await idp.configureTenant(srv, t, { sp: { encryptAssertions: true, signResponse: true } });
  const tBase = `${srv.url}/t/${t}`;
  const start = await startLogin(tBase);
  const answer = await idpAuthenticate(start.idpUrl, 'alice', 'alice-pass');
  assert.match(answer.responseXml, /EncryptedAssertion/);
  assert.doesNotMatch(answer.responseXml, /plan-admins/);
  const r = await postToAcs(answer.acsUrl, answer.samlResponse);
  assert.equal(r.status, 303, await r.clone().text());
  assert.ok(sessionCookieOf(r));
});

test('a tenant may also require the whole Response to be signed', async () => {
  const t = await srv.newTenant('saml-rsig');
  const tBase = `${srv.url}/t/${t}`;
  await idp.configureTenant(srv, t, { wantResponseSigned: true, sp: { signResponse: false } });
  const start = await startLogin(tBase);
  const unsignedResponse = await idpAuthenticate(start.idpUrl, 'alice', 'alice-pass');
  const refused = await postToAcs(unsignedResponse.acsUrl, unsignedResponse.samlResponse);
  assert.equal(refused.status, 401);
  assert.match(await refused.text(), /Invalid document signature/);
  await idp.registerTenant(tBase, { signResponse: true });
  const s = await signIn(tBase, 'alice', 'alice-pass');
  assert.deepEqual(s.session.roles, ['admin']);
});

test('sign-in when the tenant has no IdP configured is a clear 404', async () => {
  const t = await srv.newTenant('saml-none');
  const r = await fhir(`${srv.url}/t/${t}/auth/saml/login`, { anonymous: true });
  assert.equal(r.status, 404);
  assert.match(r.text, /not configured/);
});
