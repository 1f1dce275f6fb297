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
import { PROJECT_ROOT } from '../../src/config/config.ts';

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
