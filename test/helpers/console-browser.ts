/**
 * Shared pieces of the console's browser tests: headless Debian Chromium driven by playwright-core (installed with
 * apt-get when missing; no browser download), axe (WCAG 2.1 A/AA) with a screenshot of every checked page under
 * test-output/console/, keyboard-only navigation, and SSO sign-in through the test IdP's login form.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { ensureDebianPackage } from './system-packages.ts';
import { startTestServer, fhir, EXAMPLES_DIR, type TestServer } from './server.ts';
import { startSamlIdp, type SamlIdp } from './saml-idp.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import type { StaffSessions } from '../../src/auth/sessions/store.ts';

export const SCREENSHOTS = path.join(PROJECT_ROOT, 'test-output', 'console');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser(): Promise<Browser> {
  const executablePath = ensureDebianPackage('chromium', 'chromium');
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath, args: ARGS });
}

/** axe with the WCAG 2.1 A/AA tags must find nothing; the page gets a screenshot named `name` and must have a title. */
export async function axe(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  assert.deepEqual(results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [], `axe on ${name} (${page.url()})`);
  assert.ok((await page.title()).trim(), `${name} has a title`);
}

/** Presses Tab until the focused element matches, as a keyboard-only user would; fails after `max` presses. */
export async function tabTo(page: Page, matches: (el: { tag: string; text: string; name: string | null; href: string | null }) => boolean, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const el = await page.evaluate(() => {
      const a = document.activeElement as HTMLElement | null;
      return { tag: a?.tagName.toLowerCase() ?? '', text: (a?.textContent ?? '').trim(), name: a?.getAttribute('name') ?? null, href: a?.getAttribute('href') ?? null };
    });
    if (matches(el)) return;
  }
  throw new Error(`Tab never reached the element on ${page.url()}`);
}

/**
 * Signs in through SSO from the console's landing page: the IdP's own login form (SimpleSAMLphp), its auto-posting
 * form back to our ACS, then the console home. Users and passwords are test/helpers/saml-idp.ts's TEST_USERS
 * (alice admin, eddie editor, victor viewer, olga auditor+exporter).
 */
export async function signIn(page: Page, consoleUrl: string, username: string): Promise<void> {
  await page.goto(consoleUrl);
  await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(`${username}-pass`);
  await Promise.all([page.waitForURL(consoleUrl, { timeout: 60_000 }), page.locator('input[name="password"]').press('Enter')]);
}

/** Script errors and CSP refusals a page reports, collected so a test can assert there were none. */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/.test(m.text())) errors.push(m.text()); });
  return errors;
}

export interface ConsoleFixture { srv: TestServer; idp: SamlIdp; browser: Browser; consoleUrl: string; close(): Promise<void> }

/**
 * What every browser test of the console starts from: the real service with its own tenant, the real SimpleSAMLphp
 * IdP configured as the tenant's IdP, optionally the Plan-Net IG examples loaded through the FHIR API (`seed` runs
 * before the browser starts), and headless Chromium.
 */
export async function startConsoleFixture(opts: { examples?: boolean; seed?: (srv: TestServer) => Promise<void> } = {}): Promise<ConsoleFixture> {
  const srv = await startTestServer();
  const idp = await startSamlIdp();
  await idp.configureTenant(srv, srv.tenant);
  if (opts.examples) {
    for (const f of fs.readdirSync(EXAMPLES_DIR).filter((x) => x.endsWith('.json'))) {
      const r = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, f), 'utf8'));
      const put = await fhir(`${srv.base}/${r.resourceType}/${r.id}`, { method: 'PUT', json: r });
      assert.ok(put.status < 300, `${f}: ${put.status} ${put.text.slice(0, 300)}`);
    }
  }
  await opts.seed?.(srv);
  const browser = await launchBrowser();
  return {
    srv, idp, browser, consoleUrl: `${srv.url}/t/${srv.tenant}/console/`,
    async close() { await browser.close(); await idp.stop(); await srv.close(); },
  };
}

/** A staff session made directly (no browser, no IdP), for HTTP tests: its cookie header and CSRF token. */
export async function staffSession(srv: TestServer, userId: string, roles: string[], tenant = srv.tenant): Promise<{ cookie: string; csrf: string }> {
  const { token, session } = await (srv.services.sessions as StaffSessions).create(tenant, { userId, roles });
  return { cookie: `plannet_session=${token}`, csrf: session.csrfToken };
}
