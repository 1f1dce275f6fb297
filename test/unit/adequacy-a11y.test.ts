/**
 * The HTML adequacy report passes axe-core in headless Chromium (Debian `chromium`, driven by playwright-core;
 * installed with apt-get when missing), without and with travel time assessed (extra table columns).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { analyze, type TravelTimes } from '../../src/adequacy/analyze.ts';
import { countyShapes, samplePoints } from '../../src/adequacy/geo.ts';
import { loadReference } from '../../src/adequacy/reference.ts';
import { renderReport, type ReportMeta, fileBytes } from '../../src/adequacy/outputs.ts';

const CHROMIUM = '/usr/bin/chromium';

function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
}

test('the HTML report passes axe-core (no violations) in headless Chromium, with and without travel time', { timeout: 600_000 }, async () => {
  ensureChromium();
  const ref = loadReference();
  const counties = ref.counties.filter((c) => c.state === 'RI');
  const shapes = countyShapes();
  const points = new Map(counties.map((c) => [c.fips, samplePoints(c, shapes.get(c.fips))]));
  const sites = [{ entity: 0, types: ['S03'], lat: 41.824, lon: -71.4128, beds: 0, accepting: true, loc: 0 }, { entity: 1, types: ['040'], lat: 41.82, lon: -71.41, beds: 700, accepting: false, loc: 1 }];
  const meta: ReportMeta = { networkId: 'n1', networkName: 'Ocean State Network', serviceArea: 'state RI', criteriaName: ref.criteria.name, criteriaYear: 2026, asOf: '2026-01-01', coverageBasis: 'sample points', mapTypes: ['S03', '040'], locationsWithoutPosition: [{ id: 'Location/x', name: 'No position', sites: 1 }], countiesWithoutShape: [], rules: ref.rules };
  // every RI county 20 minutes from both sites
  const travelTimes: TravelTimes = { name: 'vendor', forCounty: () => ({ minutes: () => 20, entries: () => [[0, 20], [1, 20]] }) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adequacy-a11y-'));
  const pages: string[] = [];
  for (const timed of [false, true]) {
    const rows = analyze({ networkId: 'n1', counties, points, sites, types: ref.types, criteria: ref.criteria, rules: ref.rules, ...(timed ? { travelTimes } : {}) });
    const m: ReportMeta = timed ? { ...meta, travelTime: { name: 'vendor', uploadedAt: '2026-01-01T00:00:00.000Z', countiesAssessed: counties.length, countiesTotal: counties.length } } : meta;
    const files = await renderReport(rows, counties, m, { providers: [], facilities: [] }, { png: false });
    const html = fileBytes(files.find((f) => f.name === 'report.html')!);
    if (timed) assert.match(html.toString(), /Counties meeting time/);
    pages.push(path.join(dir, `report-${timed ? 'timed' : 'plain'}.html`));
    fs.writeFileSync(pages.at(-1)!, html);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const context = await browser.newContext();
    for (const file of pages) {
      const page = await context.newPage();
      await page.goto(`file://${file}`);
      const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
      assert.deepEqual(results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`), [], file);
      assert.ok(results.passes.length > 10);
    }
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
