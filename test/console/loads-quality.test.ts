/**
 * The console's Loads and Data quality sections. In headless Chromium against the real service and the SimpleSAMLphp
 * IdP: an editor uploads a small NDJSON file with one invalid line (with the script: drag and drop, progress in a
 * live region, the summary; without it: the plain multipart form) and the records are stored; the dashboard shows
 * the known problems of a seeded set (a Location without position, a Practitioner whose NPI check digit is wrong, a
 * dangling reference, a record last verified 120 days ago), the lists behind the figures and a CSV with the right
 * rows; every page passes axe (screenshots in test-output/console/). Over HTTP: a viewer sees no Loads section and
 * its hand-crafted upload is refused with 403; uploads need the CSRF token (header, or the multipart body's first
 * field); the size limit; keyset paging of a list.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import type { Browser } from 'playwright-core';
import { fhir, type TestServer } from '../helpers/server.ts';
import { axe, signIn, staffSession, startConsoleFixture, watchPageErrors, type ConsoleFixture } from '../helpers/console-browser.ts';
import { loadResources } from '../../src/ingest/loader.ts';
import { isValidNpi } from '../../src/validation/npi.ts';
import { npiLuhnOk } from '../../src/console/quality/checks.ts';

let fx: ConsoleFixture;
let srv: TestServer;
let browser: Browser;
let consoleUrl: string;

const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition';
const phone = [{ system: 'phone', value: '860-555-0100' }];
const address = { line: ['1 Main St'], city: 'Hartford', state: 'CT', postalCode: '06101' };
const org = (id: string, name: string) => ({ resourceType: 'Organization', id, meta: { profile: [`${PN}/plannet-Organization`] }, active: true, name, telecom: phone, address: [address],
  type: [{ coding: [{ system: 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/OrgTypeCS', code: 'prvgrp' }] }] });
const loc = (id: string, name: string, position?: object) => ({ resourceType: 'Location', id, meta: { profile: [`${PN}/plannet-Location`] }, status: 'active', name, telecom: phone,
  address, ...(position ? { position } : {}), managingOrganization: { reference: 'Organization/q-org' } });
const prac = (id: string, family: string, npi: string) => ({ resourceType: 'Practitioner', id, meta: { profile: [`${PN}/plannet-Practitioner`] }, active: true,
  identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi }], name: [{ family, given: ['Quinn'] }] });
const role = {
  resourceType: 'PractitionerRole', id: 'q-role', meta: { profile: [`${PN}/plannet-PractitionerRole`] }, active: true, telecom: phone,
  practitioner: { reference: 'Practitioner/q-prac-ok' }, organization: { reference: 'Organization/q-org' },
  location: [{ reference: 'Location/q-loc-pos' }, { reference: 'Location/q-missing' }],
  code: [{ coding: [{ system: 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/ProviderRoleCS', code: 'ph' }] }],
};
/** The seeded set: exactly one finding each for identifiers, no-position, dangling and not-verified; none without phone. */
const SEED = [org('q-org', 'Quality Clinic Group'), org('q-org-old', 'Old Data Clinic'), loc('q-loc-pos', 'Quality Clinic Main', { latitude: 41.76, longitude: -72.68 }),
  loc('q-loc-nopos', 'Quality Clinic Annex'), prac('q-prac-badnpi', 'Badnpi', '1234567890'), prac('q-prac-ok', 'Goodnpi', '1234567893'), role];

/** Three valid practitioners (valid NPIs, so they add no findings) and one line that is not JSON. */
const NDJSON = [
  JSON.stringify(prac('up-1', 'Uploadone', '1234567893')),
  JSON.stringify(prac('up-2', 'Uploadtwo', '1234567893')),
  '{"resourceType": "Practitioner", "id": "up-broken", ',
  JSON.stringify(prac('up-3', 'Uploadthree', '1234567893')),
].join('\n') + '\n';

before(async () => {
  fx = await startConsoleFixture({
    seed: async (s) => {
      for (const r of SEED) {
        const put = await fhir(`${s.base}/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
        assert.ok(put.status < 300, `${r.id}: ${put.status} ${put.text.slice(0, 300)}`);
      }
      // q-org-old was last verified 120 days ago
      await s.services.db.withTenant(s.tenant, (tx) => tx.query(
        `UPDATE resources SET last_updated = now() - interval '120 days' WHERE tenant_id = $1 AND resource_type = 'Organization' AND id = 'q-org-old'`, [s.tenant]));
    },
  });
  ({ srv, browser, consoleUrl } = fx);
}, { timeout: 600_000 });
after(async () => { await fx?.close(); });

const session = (roles: string[]) => staffSession(srv, `${roles[0]}@plan.example`, roles);
const loadsUrl = () => `${srv.url}/t/${srv.tenant}/console/loads`;

function multipart(fields: [string, string][], file: { name: string; type: string; body: string }, boundary = '----lqtestboundary7MA4YWxkTrZu0gW') {
  const parts = fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n${file.body}\r\n`);
  return { body: parts.join('') + `--${boundary}--\r\n`, type: `multipart/form-data; boundary=${boundary}` };
}

test('the dashboard\'s SQL NPI check digit agrees with the validator\'s', async () => {
  const values = ['1234567893', '1234567890', ...Array.from({ length: 300 }, (_, i) => String(1000000000 + i * 29_999_977).slice(0, 10))];
  const { rows } = await srv.services.db.withTenant(srv.tenant, (tx) => tx.query(`SELECT v, ${npiLuhnOk('v')} AS ok FROM unnest($1::text[]) v`, [values]), { readOnly: true });
  assert.equal(rows.length, values.length);
  for (const r of rows) assert.equal(r.ok, isValidNpi(r.v), r.v);
  assert.ok(rows.some((r) => r.ok) && rows.some((r) => !r.ok));
});

test('an editor uploads NDJSON with drag and drop and progress, and sees the summary; the records are stored', { timeout: 600_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors = watchPageErrors(page);
  await signIn(page, consoleUrl, 'eddie');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Loads' }).click();
  await page.waitForURL(/\/console\/loads$/);
  assert.equal(await page.locator('h1').innerText(), 'Data loads');
  assert.equal(await page.locator('#load-status').getAttribute('aria-live'), 'polite');
  await axe(page, '20-loads');

  // drag and drop onto the drop area selects the file (and says so in the live region)
  await page.evaluate((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'practitioners.ndjson', { type: 'application/x-ndjson' }));
    const zone = document.getElementById('load-drop')!;
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, NDJSON);
  assert.equal(await page.locator('#load-file').evaluate((el: HTMLInputElement) => el.files?.[0]?.name), 'practitioners.ndjson');
  assert.match(await page.locator('#load-status').innerText(), /Selected practitioners\.ndjson/);

  const posted = page.waitForRequest((r) => r.method() === 'POST' && /\/console\/loads\?name=/.test(r.url()));
  await page.getByRole('button', { name: 'Upload and load' }).click();
  const req = await posted;
  assert.equal(req.headers()['content-type'], 'application/x-ndjson', 'the script posts the file itself as the body');
  await page.locator('#load-summary-heading').waitFor({ timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'load-summary-heading', 'focus moves to the summary');
  const headline = await page.locator('[data-testid="load-headline"]').innerText();
  assert.match(headline, /^Loaded 3 resources from 1 file; rejected 1;/);
  const summary = await page.locator('.load-summary').innerText();
  assert.match(summary, /Practitioner\s+3/);
  assert.match(summary, /practitioners\.ndjson:3/, 'the rejection names the line of the uploaded file');
  assert.match(summary, /not JSON/, 'and the reason');
  assert.doesNotMatch(summary, /plannet-upload-/, 'no temporary path shown');
  assert.match(await page.locator('#load-status').innerText(), /Finished: 3 loaded, 1 rejected/);
  await axe(page, '21-loads-summary');
  for (const id of ['up-1', 'up-2', 'up-3']) assert.equal((await fhir(`${srv.base}/Practitioner/${id}`)).status, 200, `${id} stored`);
  assert.equal((await fhir(`${srv.base}/Practitioner/up-broken`)).status, 404);
  // the recent loads table lists it on the next visit
  await page.reload();
  assert.match(await page.locator('main').innerText(), /practitioners\.ndjson[\s\S]*completed\s+3\s+1/);
  assert.deepEqual(pageErrors, []);
  await context.close();
});

test('without JavaScript the upload is a plain multipart form answered by the summary page', { timeout: 600_000 }, async () => {
  // the IdP's form back to the console posts itself by script: sign in with it, then continue with scripts off
  const signingIn = await browser.newContext();
  await signIn(await signingIn.newPage(), consoleUrl, 'eddie');
  const context = await browser.newContext({ javaScriptEnabled: false, storageState: await signingIn.storageState() });
  await signingIn.close();
  const page = await context.newPage();
  await page.goto(`${consoleUrl}loads`);
  assert.equal(await page.locator('#load-file').count(), 1);
  await page.locator('#load-file').setInputFiles({ name: 'nojs.ndjson', mimeType: 'application/x-ndjson', buffer: Buffer.from(NDJSON.replaceAll('up-', 'nojs-')) });
  await Promise.all([page.waitForURL(/\/console\/loads$/), page.getByRole('button', { name: 'Upload and load' }).click()]);
  assert.match(await page.locator('[data-testid="load-headline"]').innerText(), /^Loaded 3 resources from 1 file; rejected 1;/);
  assert.match(await page.locator('.load-summary').innerText(), /nojs\.ndjson:3/);
  assert.equal((await fhir(`${srv.base}/Practitioner/nojs-2`)).status, 200);
  // axe needs script: check the same markup in a page that runs it (at the same URL, so its stylesheet loads)
  const markup = await page.content();
  const checker = await browser.newContext({ storageState: await context.storageState() });
  const view = await checker.newPage();
  await view.goto(`${consoleUrl}loads`);
  await view.setContent(markup.replace(/<script[^>]*><\/script>/g, ''), { waitUntil: 'load' });
  await axe(view, '22-loads-summary-no-script');
  await checker.close();
  await context.close();
});

test('the dashboard shows the seeded problems; figures link to their lists; the CSV has the right rows', { timeout: 600_000 }, async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await signIn(page, consoleUrl, 'victor');
  const nav = page.getByRole('navigation', { name: 'Main' });
  assert.equal(await nav.getByRole('link', { name: 'Loads' }).count(), 0, 'a viewer sees no Loads section');
  await nav.getByRole('link', { name: 'Data quality' }).click();
  await page.waitForURL(/\/console\/quality$/);
  const figure = async (id: string) => (await page.locator(`[data-figure="${id}"]`).innerText()).trim();
  assert.equal(await figure('identifiers'), '1', 'the Practitioner with a bad NPI check digit');
  assert.equal(await figure('no-position'), '1', 'the Location without a position');
  assert.equal(await figure('dangling'), '1', 'the role naming Location/q-missing');
  assert.equal(await figure('not-verified'), '1', 'the Organization last verified 120 days ago');
  assert.equal(await figure('no-phone'), '0');
  assert.equal(await figure('loads-running'), '0');
  assert.match(await page.locator('main').innerText(), /Every accepted change is live when it commits/);
  assert.match(await page.locator('main').innerText(), /no bulk publication yet/);
  await axe(page, '23-quality-dashboard');

  // each figure opens the list behind it
  const lists: [string, RegExp, string][] = [
    ['identifiers', /Practitioner\/q-prac-badnpi[\s\S]*1234567890[\s\S]*us-core-17/, '24-quality-identifiers'],
    ['no-position', /Location\/q-loc-nopos/, '25-quality-no-position'],
    ['dangling', /PractitionerRole\/q-role[\s\S]*Location\/q-missing[\s\S]*not in this tenant/, '26-quality-dangling'],
    ['not-verified', /Organization\/q-org-old[\s\S]*Old Data Clinic[\s\S]*\b12[01]\b/, '27-quality-not-verified'],
  ];
  for (const [id, expected, shot] of lists) {
    await page.goto(`${consoleUrl}quality`);
    await Promise.all([page.waitForURL(new RegExp(`/quality/${id}$`)), page.locator(`[data-figure="${id}"]`).click()]);
    const rows = page.locator('main table tbody tr');
    assert.equal(await rows.count(), 1, `${id}: ${await page.locator('main').innerText()}`);
    assert.match(await rows.first().innerText(), expected);
    await axe(page, shot);
  }
  // a per-type figure narrows the list
  await page.goto(`${consoleUrl}quality`);
  await page.getByRole('link', { name: /1 Practitioner records: Identifier warnings/ }).click();
  await page.waitForURL(/\/quality\/identifiers\?type=Practitioner$/);
  // and a list's record link opens the record
  await page.getByRole('link', { name: 'Practitioner/q-prac-badnpi' }).click();
  await page.waitForURL(/\/directory\/Practitioner\/q-prac-badnpi$/);

  // the CSV download (with the viewer's session), parsed
  await page.goto(`${consoleUrl}quality`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV: Identifier warnings (NPI, CLIA, NAIC)' }).click()]);
  const csvText = await new Promise<string>((resolve, reject) => {
    download.createReadStream().then((s) => { const c: Buffer[] = []; s.on('data', (d: Buffer) => c.push(d)); s.on('end', () => resolve(Buffer.concat(c).toString('utf8'))); s.on('error', reject); }, reject);
  });
  const rows = parse(csvText, { columns: true }) as Record<string, string>[];
  assert.deepEqual(rows.map((r) => [r.resource_type, r.id, r.name, r.system, r.code]), [['Practitioner', 'q-prac-badnpi', 'Quinn Badnpi', 'http://hl7.org/fhir/sid/us-npi', '1234567890']]);
  assert.match(rows[0]!.problem!, /us-core-17/);
  assert.ok(!Number.isNaN(Date.parse(rows[0]!.last_updated!)));
  const stale = await page.request.get(`${consoleUrl}quality/not-verified.csv`);
  assert.equal(stale.status(), 200);
  assert.match(stale.headers()['content-disposition'] ?? '', /attachment; filename=".*-not-verified\.csv"/);
  const staleRows = parse(await stale.text(), { columns: true }) as Record<string, string>[];
  assert.deepEqual(staleRows.map((r) => `${r.resource_type}/${r.id}`), ['Organization/q-org-old']);
  assert.ok(Number(staleRows[0]!.age_days) >= 119);
  await context.close();
});

test('a viewer cannot upload (403 even with a valid CSRF token); uploads need the CSRF token; the size limit is a 413', async () => {
  const viewer = await session(['viewer']);
  const asViewer = await fetch(`${loadsUrl()}?name=v.ndjson`, { method: 'POST', headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrf, 'content-type': 'application/x-ndjson' }, body: NDJSON.replaceAll('up-', 'viewer-') });
  assert.equal(asViewer.status, 403);
  assert.equal((await fetch(loadsUrl(), { headers: { cookie: viewer.cookie }, redirect: 'manual' })).status, 403, 'nor open the page');
  assert.equal((await fhir(`${srv.base}/Practitioner/viewer-1`)).status, 404, 'nothing stored');
  const viewerForm = multipart([['_csrf', viewer.csrf]], { name: 'v.ndjson', type: 'application/x-ndjson', body: NDJSON.replaceAll('up-', 'viewer-') });
  assert.equal((await fetch(loadsUrl(), { method: 'POST', headers: { cookie: viewer.cookie, 'content-type': viewerForm.type }, body: viewerForm.body })).status, 403);

  const editor = await session(['editor']);
  const noToken = await fetch(`${loadsUrl()}?name=e.ndjson`, { method: 'POST', headers: { cookie: editor.cookie, 'content-type': 'application/x-ndjson' }, body: NDJSON });
  assert.equal(noToken.status, 403, 'raw upload without X-CSRF-Token');
  const late = multipart([], { name: 'e.ndjson', type: 'application/x-ndjson', body: NDJSON.replaceAll('up-', 'late-') });
  const lateBody = late.body.replace(/--\r\n$/, `\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${editor.csrf}\r\n--${late.type.split('boundary=')[1]}--\r\n`);
  assert.equal((await fetch(loadsUrl(), { method: 'POST', headers: { cookie: editor.cookie, 'content-type': late.type }, body: lateBody })).status, 403, 'the token must be the first field');
  const wrong = multipart([['_csrf', 'x'.repeat(43)]], { name: 'e.ndjson', type: 'application/x-ndjson', body: NDJSON });
  assert.equal((await fetch(loadsUrl(), { method: 'POST', headers: { cookie: editor.cookie, 'content-type': wrong.type }, body: wrong.body })).status, 403, 'a wrong token');
  assert.equal((await fhir(`${srv.base}/Practitioner/late-1`)).status, 404);

  const form = multipart([['_csrf', editor.csrf]], { name: 'form.ndjson', type: 'application/x-ndjson', body: NDJSON.replaceAll('up-', 'form-') });
  const ok = await fetch(loadsUrl(), { method: 'POST', headers: { cookie: editor.cookie, 'content-type': form.type }, body: form.body });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /Loaded 3 resources from 1 file; rejected 1;/);
  assert.equal((await fhir(`${srv.base}/Practitioner/form-3`)).status, 200);

  // the script's variant: progress lines, then the summary
  const streamed = await fetch(`${loadsUrl()}?name=s.ndjson`, { method: 'POST', headers: { cookie: editor.cookie, 'x-csrf-token': editor.csrf, 'content-type': 'application/x-ndjson', accept: 'application/x-ndjson' }, body: NDJSON.replaceAll('up-', 'stream-') });
  assert.equal(streamed.status, 200);
  const lines = (await streamed.text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].type, 'received');
  assert.ok(lines.some((l) => l.type === 'progress'));
  assert.deepEqual([lines.at(-1).type, lines.at(-1).loaded, lines.at(-1).rejected], ['summary', 3, 1]);

  // a Bundle (.json): its entries load one by one, a bad entry is reported by its place and stops nothing
  const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { ...loc('b-loc', 'Bundle Clinic', { latitude: 41.7, longitude: -72.6 }) } }, { resource: { ...loc('b-bad', 'Bad'), status: 'bogus' } }, { resource: prac('b-prac', 'Bundled', '1234567893') }] };
  const fromBundle = await fetch(`${loadsUrl()}?name=bundle.json`, { method: 'POST', headers: { cookie: editor.cookie, 'x-csrf-token': editor.csrf, 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) });
  assert.equal(fromBundle.status, 200);
  const bundlePage = await fromBundle.text();
  assert.match(bundlePage, /Loaded 2 resources from 1 file; rejected 1;/);
  assert.match(bundlePage, /<td>Location\/b-bad<\/td><td>bundle\.json#entry\[1\]<\/td><td>[^<]*status/);
  assert.equal((await fhir(`${srv.base}/Location/b-loc`)).status, 200);

  const big = Buffer.alloc(srv.config.maxBodyBytes + 1, 0x20);
  const tooBig = await fetch(`${loadsUrl()}?name=big.ndjson`, { method: 'POST', headers: { cookie: editor.cookie, 'x-csrf-token': editor.csrf, 'content-type': 'application/x-ndjson', accept: 'application/x-ndjson' }, body: big });
  assert.equal(tooBig.status, 413);
  assert.match(JSON.parse((await tooBig.text()).trim()).message, /larger than the upload limit/);
  const empty = await fetch(`${loadsUrl()}?name=empty.ndjson`, { method: 'POST', headers: { cookie: editor.cookie, 'x-csrf-token': editor.csrf, 'content-type': 'application/x-ndjson' }, body: '' });
  assert.equal(empty.status, 400);
  assert.match(await empty.text(), /empty/);
});

test('lists page by their sort key (50 a page, no duplicates) and the CSV has every row', async () => {
  const viewer = await session(['viewer']);
  const extra = Array.from({ length: 55 }, (_, i) => loc(`q-nopos-${String(i).padStart(2, '0')}`, `Annex ${i}`));
  const summary = await loadResources({ db: srv.services.db, validator: srv.services.validator, indexer: srv.services.search.indexer }, extra as never, { tenant: srv.tenant });
  assert.equal(summary.rejected.length, 0, JSON.stringify(summary.rejected));
  const ids = (html: string) => [...html.matchAll(/>Location\/([^<]+)<\/a>/g)].map((m) => m[1]!);
  const first = await fetch(`${consoleUrl}quality/no-position?type=Location`, { headers: { cookie: viewer.cookie } });
  assert.equal(first.status, 200);
  const p1 = await first.text();
  assert.equal(ids(p1).length, 50);
  const next = /href="([^"]+)" rel="next"/.exec(p1)?.[1]?.replaceAll('&amp;', '&');
  assert.ok(next, 'a next page link');
  const p2 = await (await fetch(`${srv.url}${next}`, { headers: { cookie: viewer.cookie } })).text();
  assert.equal(ids(p2).length, 6);
  assert.doesNotMatch(p2, /rel="next"/);
  assert.match(p2, /First page/);
  assert.equal(new Set([...ids(p1), ...ids(p2)]).size, 56);
  const csv = parse(await (await fetch(`${consoleUrl}quality/no-position.csv`, { headers: { cookie: viewer.cookie } })).text(), { columns: true }) as Record<string, string>[];
  assert.equal(csv.length, 56);
  assert.equal((await fetch(`${consoleUrl}quality/no-position?after=garbage`, { headers: { cookie: viewer.cookie } })).status, 400);
  assert.equal((await fetch(`${consoleUrl}quality/nothing-such`, { headers: { cookie: viewer.cookie } })).status, 404);
});
