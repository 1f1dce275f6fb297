/**
 * The console's directory writes in a real browser (headless Debian Chromium via playwright-core) against the real
 * service and the SimpleSAMLphp IdP: an editor creates a Location from the profile-generated form, edits it and sees
 * the new version, submits an invalid edit and sees the field error with nothing saved, reads the history and the
 * diff of the change, and deletes it after confirming; a keyboard-only walk (Tab/Enter) edits a practitioner; the
 * accepting-new-patients filter narrows a search. Every page passes axe (WCAG 2.1 A/AA) and gets a screenshot in
 * test-output/console/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fhir, type TestServer } from '../helpers/server.ts';
import { axe, signIn, startConsoleFixture, tabTo, watchPageErrors, type ConsoleFixture } from '../helpers/console-browser.ts';

let fx: ConsoleFixture;
let srv: TestServer;
let consoleUrl: string;

before(async () => {
  fx = await startConsoleFixture({ examples: true });
  ({ srv, consoleUrl } = fx);
}, { timeout: 600_000 });
after(async () => { await fx?.close(); });

test('an editor creates a Location, edits it, is refused an invalid edit, reads the history diff and deletes it after confirming', { timeout: 600_000 }, async () => {
  const context = await fx.browser.newContext();
  const page = await context.newPage();
  const pageErrors = watchPageErrors(page);
  await signIn(page, consoleUrl, 'eddie');

  // search with the accepting-new-patients filter (a real indexed search parameter)
  await page.goto(`${consoleUrl}directory/Location`);
  await page.getByLabel('Accepting new patients').selectOption('existptonly');
  await Promise.all([page.waitForURL(/accepting-patients=existptonly/), page.getByRole('button', { name: 'Search' }).click()]);
  const found = await page.locator('main table tbody tr').allInnerTexts();
  assert.ok(found.length >= 1);
  for (const row of found) assert.match(row, /existptonly/, 'only locations accepting existing patients');
  await axe(page, 'edit-01-location-search-accepting');

  // create: the form is generated from the plannet-Location profile
  await Promise.all([page.waitForURL(/\/Location\/_new$/), page.getByRole('link', { name: 'New Location' }).click()]);
  assert.match(await page.locator('main').innerText(), /plannet-Location/);
  await axe(page, 'edit-02-new-location-form');
  await page.getByLabel('Name (required)').fill('Console Test Clinic');
  await page.getByLabel('Address: city').fill('New Haven');
  await page.getByLabel('Address: state').fill('CT');
  await page.getByLabel('Accepting new patients 1').selectOption({ label: 'Accepting (newpt)' });
  await page.getByLabel('Telecom 1: kind').selectOption('phone');
  await page.getByLabel('Telecom 1: number or address').fill('(203) 555-0100');
  await Promise.all([page.waitForURL(/\/directory\/Location\/[^/?]+\?created=1$/), page.getByRole('button', { name: 'Create Location' }).click()]);
  const id = /\/directory\/Location\/([^/?]+)\?created=1$/.exec(page.url())![1]!;
  assert.match(await page.locator('main').innerText(), /Created: this is version 1/);
  assert.equal(await page.locator('h1').innerText(), 'Console Test Clinic');
  await axe(page, 'edit-03-created');
  const created = (await fhir(`${srv.base}/Location/${id}`)).body;
  assert.equal(created.address.city, 'New Haven');
  assert.equal(created.extension[0].extension[0].valueCodeableConcept.coding[0].code, 'newpt');

  // edit: a new version
  await Promise.all([page.waitForURL(/\/edit$/), page.getByRole('link', { name: 'Edit' }).click()]);
  await axe(page, 'edit-04-edit-form');
  await page.getByLabel('Name (required)').fill('Console Test Clinic East');
  await page.getByLabel('Telecom 1: number or address').fill('(203) 555-0199');
  await Promise.all([page.waitForURL(/\?saved=2$/), page.getByRole('button', { name: 'Save' }).click()]);
  assert.equal(await page.locator('h1').innerText(), 'Console Test Clinic East');
  assert.match(await page.locator('main').innerText(), /Saved: this is version 2/);
  assert.equal((await fhir(`${srv.base}/Location/${id}`)).body.meta.versionId, '2');

  // an invalid edit (the required name emptied, an impossible status): errors next to the fields, nothing saved
  await Promise.all([page.waitForURL(/\/edit$/), page.getByRole('link', { name: 'Edit' }).click()]);
  await page.getByLabel('Name (required)').fill('');
  await Promise.all([page.waitForURL(/\/edit$/), page.waitForLoadState('load'), page.getByRole('button', { name: 'Save' }).click()]);
  await page.locator('#err-name').waitFor();
  assert.equal(await page.locator('#e-name').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#e-name').getAttribute('aria-describedby') ?? '', /\berr-name\b/);
  assert.match(await page.locator('main').innerText(), /Nothing was saved/);
  await axe(page, 'edit-05-invalid-edit');
  assert.equal((await fhir(`${srv.base}/Location/${id}`)).body.meta.versionId, '2', 'nothing saved');
  assert.equal((await fhir(`${srv.base}/Location/${id}`)).body.name, 'Console Test Clinic East');

  // history and the diff of version 1 → 2
  await page.goto(`${consoleUrl}directory/Location/${id}`);
  await Promise.all([page.waitForURL(/\/history$/), page.getByRole('link', { name: 'History' }).click()]);
  assert.equal(await page.locator('main table tbody tr').count(), 2);
  await axe(page, 'edit-06-history');
  await Promise.all([page.waitForURL(/\/diff\?from=1&to=2$/), page.getByRole('link', { name: 'Changes from version 1 to 2' }).click()]);
  const diff = page.locator('main table.diff');
  const nameRow = diff.locator('tr', { has: page.locator('th code', { hasText: /^name$/ }) });
  const cells = (await nameRow.locator('td').allInnerTexts()).map((t) => t.trim());
  assert.match(cells[0]!, /Changed/, 'the change is named in text, not only by colour');
  assert.deepEqual(cells.slice(1), ['Console Test Clinic', 'Console Test Clinic East']);
  assert.match(await diff.innerText(), /telecom\[0\]\.value/);
  await axe(page, 'edit-07-diff');

  // delete with confirmation
  await page.goto(`${consoleUrl}directory/Location/${id}`);
  await Promise.all([page.waitForURL(/\/delete$/), page.getByRole('link', { name: 'Delete' }).click()]);
  assert.match(await page.locator('h1').innerText(), /Delete Console Test Clinic East\?/);
  await axe(page, 'edit-08-delete-confirm');
  await Promise.all([page.waitForURL(/\/directory\/Location\?deleted=/), page.getByRole('button', { name: `Delete Location ${id}` }).click()]);
  assert.match(await page.locator('main').innerText(), new RegExp(`Deleted Location ${id}`));
  await axe(page, 'edit-09-deleted');
  assert.equal((await fhir(`${srv.base}/Location/${id}`)).status, 410);
  assert.deepEqual(pageErrors, []);
  await context.close();
});

test('keyboard only (Tab/Enter): an editor opens a practitioner, edits its name and phone, and sees the new version', { timeout: 600_000 }, async () => {
  const context = await fx.browser.newContext();
  const page = await context.newPage();
  await signIn(page, consoleUrl, 'eddie');
  const before = (await fhir(`${srv.base}/Practitioner/JoeSmith`)).body;
  await page.goto(`${consoleUrl}directory/Practitioner/JoeSmith`);
  await tabTo(page, (el) => el.tag === 'a' && el.text === 'Edit');
  await Promise.all([page.waitForURL(/\/Practitioner\/JoeSmith\/edit$/), page.keyboard.press('Enter')]);
  await axe(page, 'edit-10-practitioner-form');
  await tabTo(page, (el) => el.tag === 'input' && el.name === 'name[0].given', 120);
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Joseph');
  await tabTo(page, (el) => el.tag === 'input' && el.name === 'telecom[0].value', 120);
  await page.keyboard.press('Control+A');
  await page.keyboard.type('(111)-222-4444');
  await Promise.all([page.waitForURL(/\/Practitioner\/JoeSmith\?saved=/), page.keyboard.press('Enter')]);
  assert.match(await page.locator('main').innerText(), /Saved: this is version/);
  assert.match(await page.locator('h1').innerText(), /Joseph Smith/);
  const afterEdit = (await fhir(`${srv.base}/Practitioner/JoeSmith`)).body;
  assert.equal(Number(afterEdit.meta.versionId), Number(before.meta.versionId) + 1);
  assert.deepEqual(afterEdit.name[0].given, ['Joseph']);
  assert.equal(afterEdit.telecom[0].value, '(111)-222-4444');
  // what the form does not show is kept as stored (the NPI, qualifications, the name's other parts)
  assert.deepEqual(afterEdit.identifier, before.identifier);
  assert.deepEqual(afterEdit.qualification, before.qualification);
  assert.equal(afterEdit.name[0].family, before.name[0].family);
  // on to the history by keyboard
  await tabTo(page, (el) => el.tag === 'a' && el.text === 'History');
  await Promise.all([page.waitForURL(/\/history$/), page.keyboard.press('Enter')]);
  await tabTo(page, (el) => el.tag === 'a' && /^Changes from version/.test(el.text));
  await Promise.all([page.waitForURL(/\/diff\?/), page.keyboard.press('Enter')]);
  assert.match(await page.locator('main table.diff').innerText(), /name\[0\]\.given\[0\][\s\S]*Joseph/);
  await axe(page, 'edit-11-practitioner-diff');
  await context.close();
});

test('a viewer sees no create, edit or delete controls', { timeout: 600_000 }, async () => {
  const context = await fx.browser.newContext();
  const page = await context.newPage();
  await signIn(page, consoleUrl, 'victor');
  await page.goto(`${consoleUrl}directory/Organization`);
  assert.equal(await page.getByRole('link', { name: /^New / }).count(), 0);
  await page.goto(`${consoleUrl}directory/Organization/Acme`);
  assert.equal(await page.getByRole('link', { name: 'Edit' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Delete' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'History' }).count(), 1);
  const r = await page.goto(`${consoleUrl}directory/Organization/Acme/delete`);
  assert.equal(r?.status(), 403);
  await axe(page, 'edit-12-viewer-refused');
  await context.close();
});
