/**
 * The staff console in a real browser: headless Chromium (Debian `chromium`, driven by playwright-core; installed
 * with apt-get when missing) against the real service and the real SimpleSAMLphp IdP. Signs in through SSO,
 * searches, opens a practitioner and sees its roles with their locations and networks, walks the search by
 * keyboard only, signs out and finds the console closed. Every page passes axe (WCAG 2.1 A/AA); screenshots of each
 * main page go to test-output/console/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fhir, type TestServer } from '../helpers/server.ts';
import { axe, signIn, startConsoleFixture, tabTo, watchPageErrors, type ConsoleFixture } from '../helpers/console-browser.ts';

let fx: ConsoleFixture;
let srv: TestServer;
let consoleUrl: string;

before(async () => {
  fx = await startConsoleFixture({ examples: true }); // practitioners, roles, locations, organizations, networks, plans
  ({ srv, consoleUrl } = fx);
}, { timeout: 600_000 });
after(async () => { await fx?.close(); });

test('SSO sign-in, search, a practitioner with its roles, keyboard-only walk, sign-out closes the console', { timeout: 600_000 }, async () => {
  const context = await fx.browser.newContext();
  const page = await context.newPage();
  const pageErrors = watchPageErrors(page);

  // landing page: explains SSO, links to the SAML login
  await page.goto(consoleUrl);
  await axe(page, '01-sign-in');
  await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();

  // the IdP's own login form (SimpleSAMLphp), then its auto-posting form back to our ACS, then the console home
  await page.locator('input[name="username"]').fill('victor');
  await page.locator('input[name="password"]').fill('victor-pass');
  await Promise.all([page.waitForURL(consoleUrl, { timeout: 60_000 }), page.locator('input[name="password"]').press('Enter')]);
  assert.match(await page.locator('header').innerText(), /Signed in as\s+Victor/i);
  assert.match(await page.locator('#session-expiry').innerText(), /times out after 15 min/);
  await axe(page, '02-home');

  // keyboard only: skip link first, then Tab to the Practitioner search, type a name, Enter, Tab to a result, Enter
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Skip to main content');
  await tabTo(page, (el) => el.tag === 'a' && el.text === 'Practitioner');
  await Promise.all([page.waitForURL(/\/directory\/Practitioner$/), page.keyboard.press('Enter')]);
  await axe(page, '03-practitioner-search');
  await tabTo(page, (el) => el.tag === 'input' && el.name === 'name');
  await page.keyboard.type('Joe');
  await Promise.all([page.waitForURL(/\/directory\/Practitioner\?name=Joe/), page.keyboard.press('Enter')]);
  const rows = page.locator('main table tbody tr');
  assert.equal(await rows.count(), 1, await page.locator('main').innerText());
  await axe(page, '04-practitioner-results');
  await tabTo(page, (el) => el.tag === 'a' && /Joe Smith/.test(el.text));
  await Promise.all([page.waitForURL(/\/directory\/Practitioner\/JoeSmith$/), page.keyboard.press('Enter')]);

  // the detail follows references: the practitioner's roles, their locations and networks
  assert.equal(await page.locator('h1').innerText(), 'Joe Smith, MD');
  const roles = page.locator('section', { has: page.getByRole('heading', { name: 'Roles of this practitioner' }) });
  const roleRows = roles.locator('tbody tr');
  assert.ok(await roleRows.count() >= 1, await roles.innerText());
  assert.match(await roles.innerText(), /Role JoeSmithRole1/);
  const rolesText = await roles.innerText();
  assert.match(rolesText, /Hospital|Hartford|Location/i, 'locations named');
  assert.match(rolesText, /Network/i, 'networks named');
  await axe(page, '05-practitioner-detail');

  // a role's own page, reached from the table
  await roleRows.first().getByRole('link').click();
  await page.waitForURL(/\/directory\/PractitionerRole\//);
  assert.match(await page.locator('main').innerText(), /References from this record/);
  await axe(page, '06-practitioner-role-detail');

  // filters of another type: Location by state, with a network select and paging links when needed
  await page.goto(`${consoleUrl}directory/PractitionerRole`);
  assert.ok(await page.getByLabel('Network').count() === 1, 'network filter has a label');
  await axe(page, '07-practitioner-role-search');
  await page.goto(`${consoleUrl}directory/Location?address-state=CT`);
  assert.ok(await page.locator('main table tbody tr').count() >= 1);
  await axe(page, '08-location-search');

  // sign out (a CSRF-protected POST form) and find the console closed
  await Promise.all([page.waitForURL(/\/console\/\?signed-out=1$/), page.getByRole('button', { name: 'Sign out' }).click()]);
  assert.match(await page.locator('main').innerText(), /You have signed out/);
  await axe(page, '09-signed-out');
  await page.goto(`${consoleUrl}directory/Practitioner`);
  assert.equal(new URL(page.url()).pathname, `/t/${srv.tenant}/console/`);
  assert.doesNotMatch(await page.content(), /Signed in as/);
  assert.deepEqual(pageErrors, []);
  await context.close();
});

test('an editor edits by keyboard: an invalid edit shows the error by its field and saves nothing; a valid one makes a new version', { timeout: 600_000 }, async () => {
  const context = await fx.browser.newContext();
  const page = await context.newPage();
  await signIn(page, consoleUrl, 'eddie');
  await page.goto(`${consoleUrl}directory/Organization/Acme`);
  const before = (await fhir(`${srv.base}/Organization/Acme`)).body;
  await tabTo(page, (el) => el.tag === 'a' && el.text === 'Edit');
  await Promise.all([page.waitForURL(/\/Organization\/Acme\/edit$/), page.keyboard.press('Enter')]);
  await axe(page, '10-edit-form');
  await tabTo(page, (el) => el.tag === 'input' && el.name === 'name');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await Promise.all([page.waitForLoadState('load'), page.waitForURL(/\/edit$/), page.keyboard.press('Enter')]);
  await page.locator('#err-name').waitFor();
  assert.match(await page.locator('#e-name').getAttribute('aria-describedby') ?? '', /^err-name\b/);
  assert.equal(await page.locator('#e-name').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('main').innerText(), /Nothing was saved/);
  await axe(page, '11-edit-error');
  assert.equal((await fhir(`${srv.base}/Organization/Acme`)).body.meta.versionId, before.meta.versionId, 'nothing saved');
  await page.locator('#e-name').focus();
  await page.keyboard.type('Acme of CT, edited');
  await Promise.all([page.waitForURL(/\/Organization\/Acme\?saved=/), page.keyboard.press('Enter')]);
  assert.match(await page.locator('main').innerText(), /Saved: this is version/);
  assert.equal(await page.locator('h1').innerText(), 'Acme of CT, edited');
  await axe(page, '12-edit-saved');
  const afterEdit = (await fhir(`${srv.base}/Organization/Acme`)).body;
  assert.equal(Number(afterEdit.meta.versionId), Number(before.meta.versionId) + 1);
  await context.close();
});

test('the first page is small: HTML, CSS and script together under 200 KB gzip', async () => {
  const { gzipSync } = await import('node:zlib');
  let total = 0;
  for (const p of ['', 'static/console.css', 'static/session-timer.js']) total += gzipSync(Buffer.from(await (await fetch(consoleUrl + p)).arrayBuffer())).length;
  assert.ok(total < 200 * 1024, `${total} bytes`);
});
