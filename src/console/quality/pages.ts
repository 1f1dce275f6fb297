/**
 * Templates of the Data quality section: the dashboard (figures per check and resource type, each a link to the list
 * behind it, with a CSV download) and one check's list (paged). Pure functions of their data.
 */
import { html } from '../html.ts';
import { consoleBase, layout, type LayoutOpts } from '../layout.ts';
import type { Check } from './checks.ts';
import { utc } from '../format.ts';

export const QUALITY_PATH = '/quality';

export interface CheckFigures { check: Check; byType: { type: string; records: number; findings: number }[]; records: number; findings: number }
export interface LoadFigures { running: number; failed: number; interrupted: number; withRejections: number; finished: number }

const n = (x: number) => x.toLocaleString('en-US');

export function dashboardPage(o: LayoutOpts & { figures: CheckFigures[]; totals: Record<string, number>; loads: LoadFigures; publishedAt?: Date; canLoad: boolean; computedAt: Date }): string {
  const base = consoleBase(o.tenant) + QUALITY_PATH;
  const groups = [...new Set(o.figures.map((f) => f.check.group))];
  const unpublished = o.figures.find((f) => f.check.id === 'unpublished');
  const list = (c: Check, type?: string) => `${base}/${c.id}${type ? `?type=${encodeURIComponent(type)}` : ''}`;
  return layout({ ...o, current: QUALITY_PATH }, html`
<h1>Data quality and freshness</h1>
<p>Figures for tenant <strong>${o.tenant}</strong>, computed from the stored records at ${utc(o.computedAt)}. Each figure links to the records behind it; each check has a CSV download.</p>

<section aria-labelledby="not-live">
  <h2 id="not-live">Changes received but not yet live</h2>
  <p class="notice">Every accepted change is live when it commits: API writes, console edits and each batch of a load store the record and its search index in one transaction, so reads and searches return it at once. No accepted change waits to go live, so the 30-day rule is met at commit. What can still be pending:</p>
  <ul class="figures">
    <li>Console loads running now: <strong data-figure="loads-running">${o.loads.running}</strong>${o.canLoad ? html` (<a href="${consoleBase(o.tenant)}/loads">Loads</a>)` : ''}.</li>
    <li>Console loads in the last 30 days that failed: <strong data-figure="loads-failed">${o.loads.failed}</strong>; that were interrupted (their server stopped mid-load; committed batches are stored): <strong data-figure="loads-interrupted">${o.loads.interrupted}</strong>; that rejected some records: <strong data-figure="loads-rejections">${o.loads.withRejections}</strong> (of ${o.loads.finished}). Rejected records were not stored: correct and load them again.</li>
    <li>${unpublished
      ? html`Changes since the last bulk publication (${utc(o.publishedAt!)}), live in the API but not yet in the static files at <code>$bulk-publish</code>: <a href="${list(unpublished.check)}" data-figure="unpublished">${n(unpublished.findings)}</a> (<a href="${base}/unpublished.csv">CSV</a>).`
      : html`This tenant has no bulk publication yet, so <code>$bulk-publish</code> serves nothing until its first run.`}</li>
  </ul>
  <p>Load history is stored in the database: it covers loads started from the console on every server of this service (not <code>npm run load</code>).</p>
</section>

${groups.map((g) => html`<section aria-labelledby="g-${slug(g)}">
  <h2 id="g-${slug(g)}">${g}</h2>
  ${o.figures.filter((f) => f.check.group === g && f.check.id !== 'unpublished').map((f) => html`<section class="check" aria-labelledby="c-${f.check.id}">
    <h3 id="c-${f.check.id}">${f.check.title}</h3>
    <p>${f.check.explain}</p>
    <table>
      <caption>${f.check.title}, per resource type</caption>
      <thead><tr><th scope="col">Resource type</th><th scope="col">Records found</th><th scope="col">Current records of the type</th></tr></thead>
      <tbody>
        ${f.byType.map((t) => html`<tr><th scope="row">${t.type}</th><td>${t.records ? html`<a href="${list(f.check, t.type)}" aria-label="${n(t.records)} ${t.type} records: ${f.check.title}">${n(t.records)}</a>` : '0'}</td><td>${n(o.totals[t.type] ?? 0)}</td></tr>`)}
      </tbody>
      <tfoot><tr><th scope="row">All</th><td><a href="${list(f.check)}" data-figure="${f.check.id}" aria-label="${n(f.records)} records in all: ${f.check.title}">${n(f.records)}</a></td><td>${n(f.check.types.reduce((a, t) => a + (o.totals[t] ?? 0), 0))}</td></tr></tfoot>
    </table>
    <p><a href="${base}/${f.check.id}.csv" download>Download CSV: ${f.check.title}</a></p>
  </section>`)}
</section>`)}
`);
}

function slug(s: string): string { return s.toLowerCase().replace(/[^a-z0-9]+/g, '-'); }

export interface ListRow { type: string; id: string; name?: string; lastUpdated: Date; cells: string[]; deleted?: boolean }

export function checkListPage(o: LayoutOpts & { check: Check; type?: string; rows: ListRow[]; nextHref?: string; firstHref?: string; csvHref: string }): string {
  const cbase = consoleBase(o.tenant);
  const c = o.check;
  return layout({ ...o, current: QUALITY_PATH }, html`
<p><a href="${cbase}${QUALITY_PATH}">Data quality and freshness</a></p>
<h1>${c.title}${o.type ? html`: ${o.type}` : ''}</h1>
<p>${c.explain}</p>
${o.type ? html`<p>Showing ${o.type} only. <a href="${cbase}${QUALITY_PATH}/${c.id}">Show every resource type</a>.</p>` : ''}
<p><a href="${o.csvHref}" download>Download all as CSV</a></p>
${o.rows.length ? html`<table>
  <caption>${c.title}${o.type ? ` (${o.type})` : ''}${o.firstHref ? ', a later page' : ''}</caption>
  <thead><tr><th scope="col">Record</th><th scope="col">Name</th><th scope="col">Last updated</th>${c.columns.map((col) => html`<th scope="col">${col.label}</th>`)}</tr></thead>
  <tbody>${o.rows.map((r) => html`<tr><td>${r.deleted ? `${r.type}/${r.id}` : html`<a href="${cbase}/directory/${r.type}/${encodeURIComponent(r.id)}">${r.type}/${r.id}</a>`}</td><td>${r.name ?? '—'}</td><td>${utc(r.lastUpdated)}</td>${r.cells.map((x) => html`<td>${x}</td>`)}</tr>`)}</tbody>
</table>` : html`<p>Nothing found${o.firstHref ? ' on this page' : ''}.</p>`}
${o.nextHref || o.firstHref ? html`<nav class="pager" aria-label="Pages">
  ${o.firstHref ? html`<a href="${o.firstHref}">First page</a>` : ''}
  ${o.nextHref ? html`<a href="${o.nextHref}" rel="next">Next page</a>` : ''}
</nav>` : ''}
`);
}
