/**
 * The console's operations and admin pages (issue 9: exports, adequacy, audit, SMART clients, single sign-on).
 * Over HTTP: a viewer sees none of these sections and every hand-crafted POST of theirs is refused with 403; the
 * audit list pages by cursor. In headless Chromium against the real service and the SimpleSAMLphp IdP: olga
 * (auditor + exporter) starts an export, watches it complete (the progress script) and downloads a file through its
 * signed link, starts an adequacy report on a small network and downloads its CSV, and finds her own actions in the
 * audit trail; alice (admin) registers a SMART client with a pasted JWKS (a bad one first: field error, nothing
 * saved), revokes it, and saves the IdP's group → role mapping; olga cancels a report through its confirmation page,
 * and over HTTP only the requester may cancel (CSRF-protected POST, the API's cancel logic). Every page passes axe;
 * screenshots go to test-output/console/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import type { TestServer } from '../helpers/server.ts';
import { axe, signIn, startConsoleFixture, tabTo, watchPageErrors, type ConsoleFixture } from '../helpers/console-browser.ts';
import type { StaffSessions } from '../../src/auth/sessions/store.ts';
import { SamlConfigStore } from '../../src/auth/saml/idp-config.ts';
import { jobRunnerOf } from '../../src/jobs/runner.ts';

const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/';
/** A small network in Delaware with a positioned location (as in test/api/adequacy-operation.test.ts). */
const RESOURCES = [
  { resourceType: 'Organization', id: 'net1', name: 'Console Network', type: [{ coding: [{ system: `${PN.replace('StructureDefinition/', 'CodeSystem/')}OrgTypeCS`, code: 'ntwk' }] }] },
  { resourceType: 'Location', id: 'l1', name: 'Wilmington', position: { latitude: 39.7391, longitude: -75.5398 }, address: { city: 'Wilmington', state: 'DE', district: 'New Castle' } },
  { resourceType: 'PractitionerRole', id: 'r1', active: true, extension: [{ url: `${PN}network-reference`, valueReference: { reference: 'Organization/net1' } }],
    specialty: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '207Q00000X' }] }], location: [{ reference: 'Location/l1' }] },
];

let fx: ConsoleFixture;
let srv: TestServer;
let browser: Browser;
let consoleUrl: string;

before(async () => {
  fx = await startConsoleFixture({
    seed: (s) => s.services.db.withTenant(s.tenant, async (tx) => {
      for (const r of RESOURCES) await tx.query(`INSERT INTO resources (tenant_id, resource_type, id, version_id, last_updated, content) VALUES ($1, $2, $3, 1, now(), $4)`, [s.tenant, r.resourceType, r.id, JSON.stringify(r)]);
    }),
  });
  ({ srv, browser, consoleUrl } = fx);
}, { timeout: 600_000 });
after(async () => { await fx?.close(); });

const session = (userId: string, roles: string[]) => (srv.services.sessions as StaffSessions).create(srv.tenant, { userId, roles });
const form = (cookie: string, fields: Record<string, string>) => ({
  method: 'POST', redirect: 'manual' as const, body: new URLSearchParams(fields),
  headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
});

test('a viewer sees none of these sections and each hand-crafted POST is refused with 403; olga sees hers only', async () => {
  const victor = await session('victor', ['viewer']);
  const cookie = `plannet_session=${victor.token}`;
  const home = await (await fetch(consoleUrl, { headers: { cookie } })).text();
  assert.match(home, /Signed in as/);
  for (const label of ['Exports', 'Adequacy', 'Audit', 'SMART clients', 'Single sign-on']) assert.doesNotMatch(home, new RegExp(`>${label}</a>`), label);
  for (const p of ['exports', 'adequacy', 'audit', 'admin/clients', 'admin/idp']) {
    assert.equal((await fetch(`${consoleUrl}${p}`, { headers: { cookie }, redirect: 'manual' })).status, 403, `GET ${p}`);
  }
  const clientsBefore = (await srv.services.auth.clients.list(srv.tenant)).length;
  const target = (await srv.services.auth.clients.list(srv.tenant))[0]!;
  const samlBefore = await new SamlConfigStore(srv.services.db, 0).get(srv.tenant);
  const posts: [string, Record<string, string>][] = [
    ['exports', { type: 'Practitioner' }],
    ['adequacy', { network: 'net1', area: 'DE', as_of: '2026-01-01' }],
    ['admin/clients', { name: 'Hijack', scope: 'system/*.read', jwks_uri: 'https://example.org/jwks' }],
    [`admin/clients/${target.clientId}/revoke`, {}],
    ['admin/idp', { metadata_url: 'https://example.org/metadata' }],
    ['admin/idp/roles', { role_attribute: 'groups', role_map: 'staff = admin' }],
  ];
  for (const [p, fields] of posts) {
    const r = await fetch(`${consoleUrl}${p}`, form(cookie, { _csrf: victor.session.csrfToken, ...fields }));
    assert.equal(r.status, 403, `POST ${p}`);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
  }
  // nothing happened
  assert.equal((await srv.services.auth.clients.list(srv.tenant)).length, clientsBefore);
  assert.equal((await srv.services.auth.clients.get(srv.tenant, target.clientId))?.revokedAt, undefined);
  assert.deepEqual((await new SamlConfigStore(srv.services.db, 0).get(srv.tenant))?.roleMap, samlBefore?.roleMap);
  const jobs = await srv.services.db.withTenant(srv.tenant, async (tx) => (await tx.query(`SELECT (SELECT count(*) FROM export_jobs WHERE tenant_id = $1)::int + (SELECT count(*) FROM adequacy_jobs WHERE tenant_id = $1)::int AS n`, [srv.tenant])).rows[0].n);
  assert.equal(jobs, 0);

  // olga (auditor + exporter): exports, adequacy and audit in her navigation, not the admin pages
  const olga = await session('olga', ['auditor', 'exporter']);
  const oc = `plannet_session=${olga.token}`;
  const ohome = await (await fetch(consoleUrl, { headers: { cookie: oc } })).text();
  for (const label of ['Exports', 'Adequacy', 'Audit']) assert.match(ohome, new RegExp(`>${label}</a>`), label);
  for (const label of ['SMART clients', 'Single sign-on']) assert.doesNotMatch(ohome, new RegExp(`>${label}</a>`), label);
  assert.equal((await fetch(`${consoleUrl}admin/clients`, form(oc, { _csrf: olga.session.csrfToken, name: 'x', scope: 'system/*.read', jwks_uri: 'https://example.org/j' }))).status, 403);
  // a POST without the CSRF field is refused before any of this
  assert.equal((await fetch(`${consoleUrl}exports`, form(oc, {}))).status, 403);
  // the API's kick-off shares startExport with the console: still 202 + a status URL, and the console lists it
  const kick = await fetch(`${srv.base}/$export?_type=Location`, { headers: { cookie: oc, accept: 'application/fhir+json', prefer: 'respond-async' } });
  assert.equal(kick.status, 202, await kick.text());
  const statusUrl = kick.headers.get('content-location')!;
  assert.match(statusUrl, /\/\$export-status\/[0-9a-f-]{36}$/);
  const list = await (await fetch(`${consoleUrl}exports`, { headers: { cookie: oc } })).text();
  assert.ok(list.includes(`exports/${statusUrl.split('/').pop()}`), 'listed with a link for its requester');
});

async function waitForProgress(page: Page, text: RegExp): Promise<void> {
  // the progress script updates the live region in place (no reload)
  await page.locator('#job-progress', { hasText: text }).waitFor({ timeout: 120_000 });
}

async function download(page: Page, link: ReturnType<Page['locator']>): Promise<string> {
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const file = await dl.path();
  return fs.readFileSync(file, 'utf8');
}

test('olga starts an export and downloads a file, runs an adequacy report and downloads its CSV, and finds her actions in the audit trail', { timeout: 600_000 }, async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const pageErrors = watchPageErrors(page);
  await signIn(page, consoleUrl, 'olga');

  // exports: start one by keyboard, watch it complete without reloading, download a file through its signed link
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Exports' }).click();
  await page.waitForURL(/\/console\/exports$/);
  await axe(page, '20-exports');
  await page.getByRole('heading', { name: 'Start an export' }).scrollIntoViewIfNeeded();
  await page.locator('#f-since').focus();
  await tabTo(page, (el) => el.tag === 'button' && el.text === 'Start export');
  await Promise.all([page.waitForURL(/\/console\/exports\/[0-9a-f-]{36}$/), page.keyboard.press('Enter')]);
  assert.equal(await page.locator('#job-progress').getAttribute('role'), 'status');
  await axe(page, '21-export-progress');
  await waitForProgress(page, /The export is completed/);
  const links = page.locator('#job-results a[download]');
  assert.ok(await links.count() >= 1, await page.locator('main').innerText());
  await axe(page, '22-export-completed');
  const location = page.locator('#job-results a', { hasText: 'Location-1.ndjson' });
  assert.equal(await location.count(), 1, await page.locator('#job-results').innerText());
  assert.match(await location.getAttribute('href') ?? '', /\/fhir\/\$export-file\/[0-9a-f-]{36}\/Location-1\.ndjson\?exp=\d+&sig=/);
  const ndjson = await download(page, location);
  const lines = ndjson.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((r) => `${r.resourceType}/${r.id}`), ['Location/l1']);
  // the list shows it as the user's own, completed
  await page.getByRole('link', { name: 'Back to bulk exports' }).click();
  assert.match(await page.locator('main table').innerText(), /You\s+All types\s+✓ Completed/);

  // adequacy: a refused service area is shown next to its field; then a report on the small network
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Adequacy' }).click();
  await page.waitForURL(/\/console\/adequacy$/);
  await axe(page, '23-adequacy');
  await page.getByLabel('Network', { exact: false }).first().fill('net1');
  await page.getByLabel('Service area').fill('XX');
  await page.getByLabel('As of (date)').fill('2026-01-01');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Start report' }).click()]);
  await page.locator('#err-area').waitFor();
  assert.equal(await page.locator('#f-area').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#f-area').getAttribute('aria-describedby') ?? '', /err-area/);
  assert.match(await page.locator('#err-area').innerText(), /XX/);
  await axe(page, '24-adequacy-error');
  await page.getByLabel('Service area').fill('DE');
  await page.locator('details summary').click();
  await page.getByLabel(/^S03 /).check();
  await page.getByLabel(/^040 /).check();
  await Promise.all([page.waitForURL(/\/console\/adequacy\/[0-9a-f-]{36}$/), page.getByRole('button', { name: 'Start report' }).click()]);
  await axe(page, '25-adequacy-progress');
  await waitForProgress(page, /The report is completed/);
  await axe(page, '26-adequacy-completed');
  const csvLink = page.locator('#job-results a', { hasText: 'adequacy.csv' });
  assert.match(await csvLink.getAttribute('href') ?? '', /\/fhir\/\$network-adequacy-file\/[0-9a-f-]{36}\/adequacy\.csv\?exp=\d+&sig=/);
  const csv = await download(page, csvLink);
  const header = csv.split(/\r?\n/)[0]!;
  assert.match(header, /fips/);
  assert.match(header, /cms_type_code/);
  assert.equal(csv.trim().split(/\r?\n/).length, 1 + 3 * 2, 'three Delaware counties × two types');

  // audit: her own actions, filtered by user and by action
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  await page.waitForURL(/\/console\/audit$/);
  await page.getByLabel('User or client id').fill('olga');
  await page.getByLabel('From (date)').fill(new Date().toISOString().slice(0, 10));
  await page.getByLabel('Kind of actor').selectOption('staff');
  await Promise.all([page.waitForURL(/\/console\/audit\?/), page.getByRole('button', { name: 'Filter' }).click()]);
  const table = await page.locator('main table').innerText();
  assert.match(table, /console:export-start/);
  assert.match(table, /console:adequacy-start/);
  assert.doesNotMatch(table, /\bvictor\b/);
  await axe(page, '27-audit');
  await page.getByLabel('Action').fill('console:export-start');
  await page.getByLabel('Outcome').selectOption('0');
  await Promise.all([page.waitForURL(/subtype=console%3Aexport-start/), page.getByRole('button', { name: 'Filter' }).click()]);
  // (a request whose transaction wrote also has that transaction's own row, with the same request id)
  const rows = await page.locator('main table tbody tr').allInnerTexts();
  assert.ok(rows.length >= 1 && rows.length <= 2, await page.locator('main').innerText());
  for (const r of rows) assert.match(r, /olga[\s\S]*console:export-start[\s\S]*Success/);
  // a refused filter value is shown next to its field
  await page.goto(`${consoleUrl}audit?outcome=7`);
  assert.equal(await page.locator('#f-outcome').getAttribute('aria-invalid'), 'true');
  await axe(page, '28-audit-error');
  assert.deepEqual(pageErrors, []);
  await context.close();
});

test('alice registers a SMART client with a pasted JWKS (a bad one first: field error, nothing saved), revokes it, and saves the IdP role mapping', { timeout: 600_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, consoleUrl, 'alice');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'SMART clients' }).click();
  await page.waitForURL(/\/admin\/clients$/);
  await axe(page, '30-clients');
  const before = (await srv.services.auth.clients.list(srv.tenant)).length;

  // a bad JWKS: the error next to the field, nothing saved
  await page.getByLabel('Name', { exact: false }).first().fill('State regulator');
  await page.getByLabel('Scopes', { exact: false }).fill('system/*.read');
  await page.getByLabel('JWKS (JSON)').fill('{"keys": [{"kty": "RSA", "kid": "k1", "n": "abc", "e": "AQAB"}]}');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Register client' }).click()]);
  await page.locator('#err-jwks').waitFor();
  assert.equal(await page.locator('#f-jwks').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#f-jwks').getAttribute('aria-describedby') ?? '', /err-jwks/);
  assert.match(await page.locator('#err-jwks').innerText(), /JWK k1/);
  assert.match(await page.locator('main').innerText(), /The client was not registered/);
  await axe(page, '31-client-error');
  assert.equal((await srv.services.auth.clients.list(srv.tenant)).length, before, 'nothing saved');

  // a good one (EC P-384 public key)
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'regulator-1', alg: 'ES384', use: 'sig' }] };
  await page.getByLabel('JWKS (JSON)').fill(JSON.stringify(jwks, null, 2));
  await Promise.all([page.waitForURL(/\/admin\/clients\?registered=/), page.getByRole('button', { name: 'Register client' }).click()]);
  const id = new URL(page.url()).searchParams.get('registered')!;
  assert.match(await page.locator('.saved[role="status"]').innerText(), new RegExp(`Registered State regulator\\. Its client id is ${id}`));
  const row = page.locator('main table tbody tr', { hasText: id });
  assert.match(await row.innerText(), /State regulator[\s\S]*system\/\*\.read[\s\S]*regulator-1 \(EC\)[\s\S]*Active/);
  await axe(page, '32-client-registered');

  // revoke, with a confirmation page
  await row.getByRole('link', { name: 'Revoke State regulator' }).click();
  await page.waitForURL(/\/revoke$/);
  await axe(page, '33-client-revoke-confirm');
  await Promise.all([page.waitForURL(/\/admin\/clients\?revoked=/), page.getByRole('button', { name: 'Revoke State regulator' }).click()]);
  assert.match(await page.locator('main table tbody tr', { hasText: id }).innerText(), /Revoked/);
  assert.ok((await srv.services.auth.clients.get(srv.tenant, id))?.revokedAt, 'revoked in the registry');
  assert.equal(await srv.services.auth.clients.isActive(srv.tenant, id), false);

  // single sign-on: a bad metadata URL and a bad role are shown next to their fields; then the mapping is saved
  await nav.getByRole('link', { name: 'Single sign-on' }).click();
  await page.waitForURL(/\/admin\/idp$/);
  assert.match(await page.locator('main').innerText(), new RegExp(fx.idp.entityId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await axe(page, '34-idp');
  await page.getByLabel('Metadata URL').fill('http://fx.idp.example.org/metadata');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Save identity provider' }).click()]);
  await page.locator('#err-metadata_url').waitFor();
  assert.match(await page.locator('#err-metadata_url').innerText(), /https/);
  assert.equal(await page.locator('#f-metadata_url').getAttribute('aria-invalid'), 'true');
  await axe(page, '35-idp-error');

  const mapping = page.getByLabel(/^Mapping, one per line/);
  const current = await mapping.inputValue();
  assert.match(current, /plan-admins = admin/);
  await mapping.fill(`${current}\nstaff = superuser`);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Save role mapping' }).click()]);
  await page.locator('#err-role_map').waitFor();
  assert.match(await page.locator('#err-role_map').innerText(), /Unknown role "superuser"/);
  assert.match(await page.locator('#f-role_map').getAttribute('aria-describedby') ?? '', /err-role_map/);
  assert.equal((await new SamlConfigStore(srv.services.db, 0).get(srv.tenant))?.roleMap.staff, undefined, 'nothing saved');
  await mapping.fill(`${current}\nstaff = viewer`);
  await Promise.all([page.waitForURL(/\/admin\/idp\?saved=roles$/), page.getByRole('button', { name: 'Save role mapping' }).click()]);
  assert.match(await page.locator('.saved[role="status"]').innerText(), /role mapping was saved/);
  await axe(page, '36-idp-saved');
  const saved = await new SamlConfigStore(srv.services.db, 0).get(srv.tenant);
  assert.deepEqual(saved?.roleMap.staff, ['viewer']);
  assert.deepEqual(saved?.roleMap['plan-admins'], ['admin']);
  assert.equal(saved?.idpEntityId, fx.idp.entityId, 'the IdP itself is unchanged');
  await context.close();
});

test('the audit list pages by cursor: the next page continues below the first one\'s last row', async () => {
  const olga = await session('olga', ['auditor']);
  const cookie = `plannet_session=${olga.token}`;
  const rowsOf = (h: string) => [...h.matchAll(/<th scope="row">(\d+)<\/th>/g)].map((m) => Number(m[1]));
  const first = await (await fetch(`${consoleUrl}audit`, { headers: { cookie } })).text();
  const a = rowsOf(first);
  assert.equal(a.length, 50);
  const next = /<a href="([^"]+)" rel="next">Next page<\/a>/.exec(first)?.[1]?.replaceAll('&amp;', '&');
  assert.ok(next && next.includes('_cursor='), 'a next link with a cursor');
  const second = await (await fetch(`${srv.url}${next}`, { headers: { cookie } })).text();
  const b = rowsOf(second);
  assert.ok(b.length > 0);
  assert.ok(Math.max(...b) < Math.min(...a), 'strictly older rows');
  assert.match(second, /First page/);
  const bad = await fetch(`${consoleUrl}audit?_cursor=garbage`, { headers: { cookie } });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /role="alert"/);
});

/** A report of olga's that stays queued (no queue entry: no worker takes it), so it can be cancelled at leisure. */
async function queuedReportOf(userId: string): Promise<string> {
  const id = randomUUID();
  await srv.services.db.withTenant(srv.tenant, (tx) => tx.query(
    `INSERT INTO adequacy_jobs (tenant_id, job_id, status, params, requester_kind, requester_id, storage) VALUES ($1, $2, 'queued', $3, 'staff', $4, $5)`,
    [srv.tenant, id, JSON.stringify({ networks: ['net1'], states: ['DE'], counties: [], types: [], asOf: '2026-01-01', standards: 'default' }), userId, jobRunnerOf(srv.services).storage.id]));
  return id;
}
const adequacyStatus = async (id: string) => (await srv.services.db.withTenant(srv.tenant, (tx) => tx.query(`SELECT status FROM adequacy_jobs WHERE tenant_id = $1 AND job_id = $2`, [srv.tenant, id]))).rows[0]?.status;
const exportStatus = async (id: string) => (await srv.services.db.withTenant(srv.tenant, (tx) => tx.query(`SELECT status FROM export_jobs WHERE tenant_id = $1 AND job_id = $2`, [srv.tenant, id]))).rows[0]?.status;

test('cancel over HTTP: a confirmation page, then a CSRF-protected POST that only the requester may make; the API\'s cancel logic', async () => {
  const olga = await session('olga', ['auditor', 'exporter']);
  const oc = `plannet_session=${olga.token}`;
  const other = await session('ernie', ['exporter']);
  const ec = `plannet_session=${other.token}`;
  const victor = await session('victor', ['viewer']);
  const vc = `plannet_session=${victor.token}`;

  // an export started from the console
  const started = await fetch(`${consoleUrl}exports`, form(oc, { _csrf: olga.session.csrfToken, type: 'Location' }));
  assert.equal(started.status, 303);
  const exportId = started.headers.get('location')!.split('/').pop()!;
  const confirm = await fetch(`${consoleUrl}exports/${exportId}/cancel`, { headers: { cookie: oc } });
  assert.equal(confirm.status, 200);
  const ch = await confirm.text();
  assert.match(ch, new RegExp(`<form method="post" action="/t/${srv.tenant}/console/exports/${exportId}/cancel">\\s*<input type="hidden" name="_csrf" value="${olga.session.csrfToken}">`));
  assert.match(ch, /<button type="submit" class="danger">Cancel the export<\/button>/);
  assert.match(ch, /This cannot be undone/);
  // another exporter, a viewer, and olga without the token: refused, nothing cancelled
  assert.equal((await fetch(`${consoleUrl}exports/${exportId}/cancel`, { headers: { cookie: ec } })).status, 404, 'not his export');
  assert.equal((await fetch(`${consoleUrl}exports/${exportId}/cancel`, form(ec, { _csrf: other.session.csrfToken }))).status, 404);
  assert.equal((await fetch(`${consoleUrl}exports/${exportId}/cancel`, form(vc, { _csrf: victor.session.csrfToken }))).status, 403);
  assert.equal((await fetch(`${consoleUrl}exports/${exportId}/cancel`, form(oc, {}))).status, 403, 'no CSRF token');
  assert.notEqual(await exportStatus(exportId), 'cancelled');
  // olga cancels it: the API's cancel (the API's status URL now says so)
  const cancelled = await fetch(`${consoleUrl}exports/${exportId}/cancel`, form(oc, { _csrf: olga.session.csrfToken }));
  assert.equal(cancelled.status, 303);
  assert.equal(cancelled.headers.get('location'), `/t/${srv.tenant}/console/exports/${exportId}`);
  assert.equal(await exportStatus(exportId), 'cancelled');
  const api = await fetch(`${srv.base}/$export-status/${exportId}`, { headers: { cookie: oc, accept: 'application/fhir+json' } });
  assert.equal(api.status, 404);
  assert.match(await api.text(), /was cancelled/);
  const after = await (await fetch(`${consoleUrl}exports/${exportId}`, { headers: { cookie: oc } })).text();
  assert.match(after, /This export was cancelled/);
  assert.doesNotMatch(after, /Cancel this export/);
  assert.equal((await fetch(`${consoleUrl}exports/${exportId}/cancel`, form(oc, { _csrf: olga.session.csrfToken }))).status, 404, 'already cancelled');

  // an adequacy report, still queued: the page offers Cancel to its requester only
  const reportId = await queuedReportOf('olga');
  const running = await (await fetch(`${consoleUrl}adequacy/${reportId}`, { headers: { cookie: oc } })).text();
  assert.match(running, new RegExp(`<div id="job-cancel" data-refresh><p><a href="/t/${srv.tenant}/console/adequacy/${reportId}/cancel">Cancel this report</a>`));
  assert.equal((await fetch(`${consoleUrl}adequacy/${reportId}`, { headers: { cookie: ec } })).status, 404);
  assert.equal((await fetch(`${consoleUrl}adequacy/${reportId}/cancel`, form(ec, { _csrf: other.session.csrfToken }))).status, 404);
  assert.equal((await fetch(`${consoleUrl}adequacy/${reportId}/cancel`, form(vc, { _csrf: victor.session.csrfToken }))).status, 403);
  assert.equal((await fetch(`${consoleUrl}adequacy/${reportId}/cancel`, form(oc, {}))).status, 403);
  assert.equal(await adequacyStatus(reportId), 'queued');
  assert.equal((await fetch(`${consoleUrl}adequacy/${reportId}/cancel`, form(oc, { _csrf: olga.session.csrfToken }))).status, 303);
  assert.equal(await adequacyStatus(reportId), 'cancelled');
  const done = await (await fetch(`${consoleUrl}adequacy/${reportId}`, { headers: { cookie: oc } })).text();
  assert.match(done, /This report was cancelled/);
  assert.match(done, /<div id="job-cancel" data-refresh><\/div>/, 'no Cancel once it is not running');
  // the API's DELETE now finds nothing to cancel: the same logic
  const del = (url: string) => fetch(url, { method: 'DELETE', headers: { cookie: oc, 'x-csrf-token': olga.session.csrfToken, accept: 'application/fhir+json' } });
  assert.equal((await del(`${srv.base}/$network-adequacy-status/${reportId}`)).status, 404);
  // and cancels through the API as before (the functions the console shares with it)
  const another = await queuedReportOf('olga');
  const apiCancel = await del(`${srv.base}/$network-adequacy-status/${another}`);
  assert.equal(apiCancel.status, 202, await apiCancel.text());
  assert.equal(await adequacyStatus(another), 'cancelled');
  const kick = await fetch(`${srv.base}/$export?_type=Location`, { headers: { cookie: oc, accept: 'application/fhir+json', prefer: 'respond-async' } });
  assert.equal(kick.status, 202);
  const apiExport = kick.headers.get('content-location')!;
  assert.equal((await del(apiExport)).status, 202);
  assert.equal(await exportStatus(apiExport.split('/').pop()!), 'cancelled');
  assert.equal((await del(apiExport)).status, 404);
});

test('olga cancels a queued adequacy report in the browser through its confirmation page', { timeout: 600_000 }, async () => {
  const reportId = await queuedReportOf('olga');
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, consoleUrl, 'olga');
  await page.goto(`${consoleUrl}adequacy/${reportId}`);
  assert.match(await page.locator('#job-progress').innerText(), /queued/);
  await page.getByRole('link', { name: 'Cancel this report' }).click();
  await page.waitForURL(new RegExp(`/adequacy/${reportId}/cancel$`));
  assert.match(await page.locator('h1').innerText(), /^Cancel the adequacy report of /);
  await axe(page, '29-adequacy-cancel-confirm');
  // "No, keep it" goes back and changes nothing
  await page.getByRole('link', { name: 'No, keep it' }).click();
  await page.waitForURL(new RegExp(`/adequacy/${reportId}$`));
  assert.equal(await adequacyStatus(reportId), 'queued');
  await page.getByRole('link', { name: 'Cancel this report' }).click();
  await Promise.all([page.waitForURL(new RegExp(`/adequacy/${reportId}$`)), page.getByRole('button', { name: 'Cancel the report' }).click()]);
  assert.match(await page.locator('#job-progress').innerText(), /The report is cancelled/);
  assert.match(await page.locator('#job-results').innerText(), /This report was cancelled/);
  assert.equal(await page.getByRole('link', { name: 'Cancel this report' }).count(), 0);
  assert.equal(await adequacyStatus(reportId), 'cancelled');
  await axe(page, '29-adequacy-cancelled');
  await context.close();
});
