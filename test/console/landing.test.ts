/**
 * The console without a browser: the landing page when SSO is not configured (200, a title, says so plainly), its
 * CSP and static files, directory pages sending an anonymous browser back to the landing page, and sign-out.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { StaffSessions } from '../../src/auth/sessions/store.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv?.close(); });

test('landing page with no IdP configured: 200, a title, explains that sign-in is not configured', async () => {
  const r = await fetch(`${srv.url}/t/${srv.tenant}/console/`, { redirect: 'manual' });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/html/);
  const csp = r.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|https?:/);
  const body = await r.text();
  assert.match(body, /<title>[^<]*\S[^<]*<\/title>/);
  assert.match(body, /<html lang="en">/);
  assert.match(body, /not configured/);
  assert.doesNotMatch(body, /auth\/saml\/login/, 'no link to a sign-in that cannot work');
  assert.doesNotMatch(body, /<script>/, 'no inline script');
  // no trailing slash works too
  assert.equal((await fetch(`${srv.url}/t/${srv.tenant}/console`, { redirect: 'manual' })).status, 200);
});

test('static files are served from the repo; unknown ones are 404 pages', async () => {
  const css = await fetch(`${srv.url}/t/${srv.tenant}/console/static/console.css`);
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type') ?? '', /text\/css/);
  const js = await fetch(`${srv.url}/t/${srv.tenant}/console/static/session-timer.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  const missing = await fetch(`${srv.url}/t/${srv.tenant}/console/static/..%2Fpages.ts`);
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get('content-type') ?? '', /text\/html/);
});

test('directory pages send a browser without a session to the landing page; an unknown tenant is an HTML 404', async () => {
  const r = await fetch(`${srv.url}/t/${srv.tenant}/console/directory/Practitioner`, { redirect: 'manual' });
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), `/t/${srv.tenant}/console/`);
  const u = await fetch(`${srv.url}/t/no-such-tenant-x/console/`);
  assert.equal(u.status, 404);
  assert.match(await u.text(), /<title>/);
});

test('sign-out: a POST without the CSRF field is refused (403); with it the session ends and the console is closed', async () => {
  const sessions = srv.services.sessions as StaffSessions;
  const { token, session } = await sessions.create(srv.tenant, { userId: 'vera@plan.example', roles: ['viewer'] });
  const cookie = `plannet_session=${token}`;
  const home = await fetch(`${srv.url}/t/${srv.tenant}/console/`, { headers: { cookie } });
  assert.equal(home.status, 200);
  const html = await home.text();
  assert.match(html, /Signed in as/);
  assert.match(html, /times out after/);
  const form = { 'content-type': 'application/x-www-form-urlencoded', cookie };
  const bad = await fetch(`${srv.url}/t/${srv.tenant}/console/sign-out`, { method: 'POST', headers: form, body: '', redirect: 'manual' });
  assert.equal(bad.status, 403);
  const ok = await fetch(`${srv.url}/t/${srv.tenant}/console/sign-out`, { method: 'POST', headers: form, body: new URLSearchParams({ _csrf: session.csrfToken }), redirect: 'manual' });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), `/t/${srv.tenant}/console/?signed-out=1`);
  assert.ok(ok.headers.getSetCookie().some((c) => /^plannet_session=;/.test(c)), 'cookie cleared');
  const after = await fetch(`${srv.url}/t/${srv.tenant}/console/directory/Practitioner`, { headers: { cookie }, redirect: 'manual' });
  assert.equal(after.status, 303, 'the ended session opens nothing');
  assert.equal(after.headers.get('location'), `/t/${srv.tenant}/console/?ended=1`);
  const landing = await fetch(`${srv.url}/t/${srv.tenant}/console/?ended=1`, { headers: { cookie }, redirect: 'manual' });
  assert.equal(landing.status, 200, 'the landing page, not a redirect loop');
  assert.match(await landing.text(), /session has expired or ended/);
});

test('directory search pages through results by the Bundle\'s next link and keeps the filters', async () => {
  const { fhir, example } = await import('../helpers/server.ts');
  const joe = example('Practitioner-JoeSmith');
  for (let i = 0; i < 23; i++) {
    const put = await fhir(`${srv.base}/Practitioner/pager-${i}`, { method: 'PUT', json: { ...joe, id: `pager-${i}`, name: [{ family: 'Pagerson', given: [`P${i}`] }] } });
    assert.ok(put.status < 300, put.text);
  }
  const sessions = srv.services.sessions as StaffSessions;
  const { token } = await sessions.create(srv.tenant, { userId: 'pat@plan.example', roles: ['viewer'] });
  const cookie = `plannet_session=${token}`;
  const first = await (await fetch(`${srv.url}/t/${srv.tenant}/console/directory/Practitioner?name=Pagerson`, { headers: { cookie } })).text();
  assert.match(first, /Results \(23 in all\)/);
  assert.equal((first.match(/<tr><th scope="row">/g) ?? []).length, 20);
  const next = /<a href="([^"]+)" rel="next">Next page<\/a>/.exec(first)?.[1]?.replaceAll('&amp;', '&');
  assert.ok(next && next.includes('name=Pagerson') && next.includes('_cursor='), next);
  const second = await (await fetch(`${srv.url}${next}`, { headers: { cookie } })).text();
  assert.equal((second.match(/<tr><th scope="row">/g) ?? []).length, 3);
  assert.doesNotMatch(second, /rel="next"/);
  assert.match(second, /First page/);
  // a refused search (bad parameter value) is shown on the page, not a crash
  const bad = await fetch(`${srv.url}/t/${srv.tenant}/console/directory/Practitioner?_cursor=garbage`, { headers: { cookie } });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /role="alert"/);
});

test('edit: an editor saves a change through the server validation; an invalid one shows the field error and saves nothing; a stale version is 412 with a reload; a viewer\'s hand-crafted POST is 403', async () => {
  const { fhir, example } = await import('../helpers/server.ts');
  const org = example('Organization-Acme');
  assert.ok((await fhir(`${srv.base}/Organization/${org.id}`, { method: 'PUT', json: org })).status < 300);
  const sessions = srv.services.sessions as StaffSessions;
  const editor = await sessions.create(srv.tenant, { userId: 'eddie@plan.example', roles: ['editor'] });
  const viewer = await sessions.create(srv.tenant, { userId: 'vic@plan.example', roles: ['viewer'] });
  const url = `${srv.url}/t/${srv.tenant}/console/directory/Organization/${org.id}/edit`;
  const post = (who: typeof editor, fields: Record<string, string>) => fetch(url, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ _csrf: who.session.csrfToken, ...fields }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `plannet_session=${who.token}` },
  });
  const current = async () => (await fhir(`${srv.base}/Organization/${org.id}`)).body;

  // the viewer sees no edit link and is refused anyway
  const view = await (await fetch(`${srv.url}/t/${srv.tenant}/console/directory/Organization/${org.id}`, { headers: { cookie: `plannet_session=${viewer.token}` } })).text();
  assert.doesNotMatch(view, />Edit</);
  assert.equal((await fetch(url, { headers: { cookie: `plannet_session=${viewer.token}` } })).status, 403);
  assert.equal((await post(viewer, { version: '1', name: 'Hijacked' })).status, 403);
  assert.equal((await current()).name, org.name);

  // an invalid edit (the required name emptied): 422, the error next to the field, nothing saved
  const v1 = (await current()).meta.versionId;
  const bad = await post(editor, { version: v1, name: '', active: 'true', phone: '' });
  assert.equal(bad.status, 422);
  const badHtml = await bad.text();
  assert.match(badHtml, /<input id="e-name" name="name" type="text" value="" aria-invalid="true" aria-describedby="err-name">/);
  assert.match(badHtml, /<p class="error" id="err-name">[^<]*name/i);
  assert.match(badHtml, /Nothing was saved/);
  assert.equal((await current()).meta.versionId, v1);

  // a valid edit: a new version
  const ok = await post(editor, { version: v1, name: 'Acme of CT (renamed)' });
  assert.equal(ok.status, 303);
  const after = await current();
  assert.equal(after.name, 'Acme of CT (renamed)');
  assert.equal(Number(after.meta.versionId), Number(v1) + 1);

  // the same stale version again: 412, explained, with a reload link, nothing saved
  const stale = await post(editor, { version: v1, name: 'Stale write' });
  assert.equal(stale.status, 412);
  const staleHtml = await stale.text();
  assert.match(staleHtml, /Someone else changed this record/);
  assert.match(staleHtml, /Reload the current version/);
  assert.equal((await current()).name, 'Acme of CT (renamed)');
});
