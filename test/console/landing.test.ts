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
  assert.match(badHtml, /<input id="e-name" name="name" type="text" value="" aria-invalid="true" aria-describedby="err-name( h-name)?">/);
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

// ---- directory writes without a browser: forms from the profiles, create, delete, history, permissions, tenants ----

const form = (who: { token: string; session: { csrfToken: string } }, fields: Record<string, string>) => ({
  method: 'POST', redirect: 'manual' as const, body: new URLSearchParams({ _csrf: who.session.csrfToken, ...fields }),
  headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `plannet_session=${who.token}` },
});
const get = (who: { token: string }, url: string) => fetch(url, { headers: { cookie: `plannet_session=${who.token}` }, redirect: 'manual' });

test('every Plan-Net type (and Network) gets a create form generated from its profile; an editor creates one of each', async () => {
  const sessions = srv.services.sessions as StaffSessions;
  const editor = await sessions.create(srv.tenant, { userId: 'ed@plan.example', roles: ['editor'] });
  const c = `${srv.url}/t/${srv.tenant}/console/directory`;
  // what each profile requires, filled in by field name (the names are FHIR element paths)
  const minimal: Record<string, Record<string, string>> = {
    Practitioner: { 'identifier[0].system': 'http://hl7.org/fhir/sid/us-npi', 'identifier[0].value': '1234567893', 'name[0].family': 'Createson', 'name[0].given': 'Cora' },
    Organization: { name: 'Created Org', 'type[0]': 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/OrgTypeCS|prvgrp', 'address[0].city': 'Hartford', 'address[0].state': 'CT' },
    Location: { name: 'Created Location', 'address.city': 'Hartford', 'address.state': 'CT', 'ext-newpatients[0]': 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/AcceptingPatientsCS|newpt' },
    PractitionerRole: { 'practitioner.id': 'JoeSmith', 'telecom[0].system': 'phone', 'telecom[0].value': '555-0100' },
    HealthcareService: { name: 'Created Service', 'category[0]': 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/HealthcareServiceCategoryCS|outpat' },
    OrganizationAffiliation: { 'organization.id': 'Acme', 'participatingOrganization.id': 'Acme' },
    InsurancePlan: { name: 'Created Plan', 'type[0]': 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/InsuranceProductTypeCS|qhp', 'ownedBy.id': 'Acme', 'administeredBy.id': 'Acme', 'network[0].id': 'AcmeofCTStdNet' },
    Endpoint: { connectionType: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type|hl7-fhir-rest', 'payloadType[0]': 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/EndpointPayloadTypeCS|NA', address: 'https://example.org/fhir' },
  };
  const cases: [string, Record<string, string>, string][] = [...Object.entries(minimal).map(([t, f]) => [t, f, `plannet-${t}`] as [string, Record<string, string>, string]),
    ['Organization', { name: 'Created Network', 'partOf.id': 'Acme' }, 'plannet-Network']];
  for (const [type, fields, profile] of cases) {
    const page = await get(editor, `${c}/${type}/_new${profile === 'plannet-Network' ? '?profile=plannet-Network' : ''}`);
    assert.equal(page.status, 200, type);
    const h = await page.text();
    assert.match(h, new RegExp(`profile <code>${profile}</code>`));
    for (const name of Object.keys(fields)) assert.ok(h.includes(`name="${name}"`), `${type} form has ${name}`);
    assert.doesNotMatch(h, /<input(?![^>]*type="hidden")(?![^>]*id=)[^>]*>/, 'every input has an id for its label');
    const r = await fetch(`${c}/${type}/_new`, form(editor, { profile, ...fields }));
    const body = r.status === 303 ? '' : await r.text();
    assert.equal(r.status, 303, `${type}: ${body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(600, 1800)}`);
    const id = /\/directory\/[A-Za-z]+\/([^?]+)\?created=1$/.exec(r.headers.get('location') ?? '')?.[1];
    assert.ok(id, r.headers.get('location') ?? '');
    const stored = (await fhir(`${srv.base}/${type}/${id}`)).body;
    assert.equal(stored.meta.versionId, '1');
    assert.deepEqual(stored.meta.profile, [`http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/${profile}`]);
  }
  // an invalid create (required name missing, a status outside the profile's codes): 422, errors by their fields, nothing stored
  const count = async () => (await fhir(`${srv.base}/Location?address-city=Badcity&_total=accurate`)).body.total;
  const bad = await fetch(`${c}/Location/_new`, form(editor, { profile: 'plannet-Location', name: '', status: 'open', 'address.city': 'Badcity' }));
  assert.equal(bad.status, 422);
  const badHtml = await bad.text();
  assert.match(badHtml, /Nothing was saved/);
  assert.match(badHtml, /<input id="e-name" name="name" type="text" value="" aria-invalid="true" aria-describedby="err-name h-name">/);
  assert.match(badHtml, /<select id="e-status" name="status" aria-invalid="true" aria-describedby="err-status h-status">/);
  assert.match(badHtml, /<p class="error" id="err-status">Invalid code &quot;open&quot;/);
  assert.match(badHtml, /<option value="open" selected>open \(not in the value set\)<\/option>/);
  assert.match(badHtml, /<a href="#e-name">/, 'the summary links to the field');
  assert.match(badHtml, /name="address.city" type="text" value="Badcity"/, 'the submitted values are kept');
  assert.equal(await count(), 0);
});

async function fhir(url: string, init?: Parameters<typeof import('../helpers/server.ts').fhir>[1]) {
  return (await import('../helpers/server.ts')).fhir(url, init);
}

test('delete with confirmation (CSRF POST, If-Match), history lists the versions and the diff names each change in text', async () => {
  const { example } = await import('../helpers/server.ts');
  const sessions = srv.services.sessions as StaffSessions;
  const editor = await sessions.create(srv.tenant, { userId: 'ed2@plan.example', roles: ['editor'] });
  const viewer = await sessions.create(srv.tenant, { userId: 'vi2@plan.example', roles: ['viewer'] });
  const org = { ...example('Organization-Acme'), id: 'DelMe' };
  assert.ok((await fhir(`${srv.base}/Organization/DelMe`, { method: 'PUT', json: org })).status < 300);
  const c = `${srv.url}/t/${srv.tenant}/console/directory/Organization/DelMe`;
  assert.equal((await fetch(`${c}/edit`, form(editor, { version: '1', name: 'Del Me Renamed', 'telecom[0].value': '(999)-000-1111' }))).status, 303);

  // history: two versions, a link to the changes; the diff names the changes in words, with headers
  const hist = await (await get(viewer, `${c}/history`)).text();
  assert.match(hist, /<th scope="col">Version<\/th>/);
  assert.match(hist, /Created/);
  assert.match(hist, /Updated/);
  assert.match(hist, /href="[^"]*\/diff\?from=1&amp;to=2"/);
  const diff = await (await get(viewer, `${c}/diff?from=1&to=2`)).text();
  assert.match(diff, /<th scope="row"><code>name<\/code><\/th><td>Acme of CT<\/td><td>Del Me Renamed<\/td>/);
  assert.match(diff, /Changed<\/td><th scope="row"><code>telecom\[0\]\.value<\/code>/);
  assert.doesNotMatch(diff, /meta\.versionId/);
  assert.equal((await get(viewer, `${c}/diff?from=1`)).status, 400);

  // the viewer sees no Delete link and its hand-crafted requests are refused
  const viewerDetail = await (await get(viewer, c)).text();
  assert.doesNotMatch(viewerDetail, />Delete</);
  assert.match(viewerDetail, />History</);
  assert.equal((await get(viewer, `${c}/delete`)).status, 403);
  assert.equal((await fetch(`${c}/delete`, form(viewer, { version: '2' }))).status, 403);
  assert.equal((await fetch(`${srv.url}/t/${srv.tenant}/console/directory/Organization/_new`, form(viewer, { profile: 'plannet-Organization', name: 'Viewer made' }))).status, 403);
  assert.equal((await get(viewer, `${srv.url}/t/${srv.tenant}/console/directory/Organization/_new`)).status, 403);
  assert.doesNotMatch(await (await get(viewer, `${srv.url}/t/${srv.tenant}/console/directory/Organization`)).text(), /_new/);

  // the confirmation page, then a POST without the CSRF field (403), a stale version (412), the real one
  const confirm = await (await get(editor, `${c}/delete`)).text();
  assert.match(confirm, /Delete Del Me Renamed\?/);
  assert.match(confirm, /name="_csrf"/);
  assert.match(confirm, /name="version" value="2"/);
  const noCsrf = await fetch(`${c}/delete`, { method: 'POST', redirect: 'manual', body: 'version=2', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `plannet_session=${editor.token}` } });
  assert.equal(noCsrf.status, 403);
  const stale = await fetch(`${c}/delete`, form(editor, { version: '1' }));
  assert.equal(stale.status, 412);
  assert.match(await stale.text(), /Nothing was deleted/);
  assert.equal((await fhir(`${srv.base}/Organization/DelMe`)).status, 200);
  const del = await fetch(`${c}/delete`, form(editor, { version: '2' }));
  assert.equal(del.status, 303);
  assert.equal(del.headers.get('location'), `/t/${srv.tenant}/console/directory/Organization?deleted=DelMe`);
  assert.equal((await fhir(`${srv.base}/Organization/DelMe`)).status, 410);
  assert.match(await (await get(editor, `${srv.url}${del.headers.get('location')}`)).text(), /Deleted Organization DelMe/);
  const afterHist = await (await get(viewer, `${c}/history`)).text();
  assert.match(afterHist, /has been deleted/);
  assert.match(afterHist, /Deleted/);
});

test('accepting new patients is a real indexed search (a SearchParameter of this service), offered as a filter', async () => {
  const { example } = await import('../helpers/server.ts');
  const sessions = srv.services.sessions as StaffSessions;
  const viewer = await sessions.create(srv.tenant, { userId: 'vi3@plan.example', roles: ['viewer'] });
  const loc = example('Location-HansSoloClinic'); // existptonly
  assert.ok((await fhir(`${srv.base}/Location/NP1`, { method: 'PUT', json: { ...loc, id: 'NP1', name: 'NP accepting' } })).status < 300);
  const np = structuredClone(loc);
  np.extension[0].extension[0].valueCodeableConcept.coding[0].code = 'newpt';
  assert.ok((await fhir(`${srv.base}/Location/NP2`, { method: 'PUT', json: { ...np, id: 'NP2', name: 'NP new' } })).status < 300);
  // the API answers it (strict handling: an unknown parameter would be a 400)
  const api = await fhir(`${srv.base}/Location?accepting-patients=newpt&name=NP`, { headers: { prefer: 'handling=strict' } });
  assert.equal(api.status, 200);
  assert.deepEqual(api.body.entry.map((e: any) => e.resource.id), ['NP2']);
  const page = await (await get(viewer, `${srv.url}/t/${srv.tenant}/console/directory/Location?accepting-patients=existptonly&name=NP`)).text();
  assert.match(page, /<label for="f-accepting-patients">Accepting new patients<\/label>/);
  assert.match(page, /<option value="existptonly" selected>/);
  assert.match(page, /Results \(1 in all\)/);
  assert.match(page, /NP accepting/);
  assert.doesNotMatch(page, /no filter for it|no search parameter for it/);
  // types without the extension do not offer it
  assert.doesNotMatch(await (await get(viewer, `${srv.url}/t/${srv.tenant}/console/directory/Practitioner`)).text(), /accepting-patients/);
});

test('another tenant\'s staff session sees nothing of this tenant and changes nothing', async () => {
  const { example } = await import('../helpers/server.ts');
  const other = await srv.newTenant();
  const sessions = srv.services.sessions as StaffSessions;
  const admin = await sessions.create(other, { userId: 'boss@other.example', roles: ['admin'] });
  assert.ok((await fhir(`${srv.base}/Organization/Secret`, { method: 'PUT', json: { ...example('Organization-Acme'), id: 'Secret', name: 'Secret Org of A' } })).status < 300);
  const c = `${srv.url}/t/${srv.tenant}/console`;
  for (const path of ['/', '/directory/Organization', '/directory/Organization/Secret', '/directory/Organization/Secret/edit', '/directory/Organization/Secret/history', '/directory/Organization/Secret/delete', '/directory/Organization/_new']) {
    const r = await get(admin, c + path);
    const text = await r.text();
    assert.ok([200, 303, 401, 403].includes(r.status), `${path}: ${r.status}`);
    assert.doesNotMatch(text, /Secret Org of A|Signed in as/, path);
  }
  for (const [path, fields] of [['/directory/Organization/Secret/edit', { version: '1', name: 'Taken over' }], ['/directory/Organization/Secret/delete', { version: '1' }], ['/directory/Organization/_new', { profile: 'plannet-Organization', name: 'Planted' }]] as const) {
    const r = await fetch(c + path, form(admin, fields));
    assert.ok(r.status === 303 ? /\/console\/(\?ended=1)?$/.test(r.headers.get('location') ?? '') : [401, 403].includes(r.status), `${path}: ${r.status} ${r.headers.get('location')}`);
  }
  const secret = (await fhir(`${srv.base}/Organization/Secret`)).body;
  assert.equal(secret.name, 'Secret Org of A');
  assert.equal(secret.meta.versionId, '1');
  // and on its own tenant the same session works (it is a valid session, just not this tenant's)
  assert.match(await (await get(admin, `${srv.url}/t/${other}/console/`)).text(), /Signed in as/);
});

test('the generated forms cover every Plan-Net profile, and saving a form unchanged leaves every IG example exactly as stored', async () => {
  const fs = await import('node:fs');
  const { EXAMPLES_DIR } = await import('../helpers/server.ts');
  const { formSpecs, formValues, applyForm } = await import('../../src/console/directory/profile-form.ts');
  const specs = formSpecs();
  assert.deepEqual([...specs.keys()].sort(), ['plannet-Endpoint', 'plannet-HealthcareService', 'plannet-InsurancePlan', 'plannet-Location', 'plannet-Network', 'plannet-Organization', 'plannet-OrganizationAffiliation', 'plannet-Practitioner', 'plannet-PractitionerRole']);
  for (const spec of specs.values()) assert.ok(spec.elements.length >= 5, `${spec.profile}: ${spec.elements.map((e) => e.key)}`);
  // value sets named by the profile become options
  assert.ok(specs.get('plannet-PractitionerRole')!.elements.find((e) => e.key === 'specialty')!.options!.length > 500);
  assert.deepEqual(specs.get('plannet-Location')!.elements.find((e) => e.key === 'status')!.options!.map((o) => o.code), ['active', 'suspended', 'inactive']);
  let n = 0;
  for (const f of fs.readdirSync(EXAMPLES_DIR).filter((x) => x.endsWith('.json'))) {
    const r = JSON.parse(fs.readFileSync(`${EXAMPLES_DIR}/${f}`, 'utf8'));
    const spec = specs.get(srv.services.validator.profileFor(r).split('/').pop()!)!;
    assert.deepEqual(applyForm(spec, r, formValues(spec, r).values).resource, r, f);
    n++;
  }
  assert.ok(n > 40);
});
