/**
 * Templates of the Loads section: the upload form (a plain multipart form; static/loads.js adds drag and drop and
 * progress), the summary of one load (the CLI's figures: loaded per resource type, each rejection with its reason),
 * and this server's recent loads. Pure functions of their data.
 */
import { html, type Html } from '../html.ts';
import { consoleBase, layout, type LayoutOpts } from '../layout.ts';
import type { LoadSummary } from '../../ingest/loader.ts';
import { formatSummary } from '../../ingest/loader.ts';
import type { LoadRecord } from './tracker.ts';
import { formatBytes } from './upload.ts';

export const LOADS_PATH = '/loads';
const SHOWN_REJECTIONS = 200;

const utc = (d: Date) => d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** The summary of one load: the CLI's first line, then loaded per type and the rejections with their reasons. */
export function summaryFragment(file: { name: string; bytes: number }, s: LoadSummary): Html {
  const headline = formatSummary(s).split('\n')[0]!;
  const types = Object.entries(s.loaded).sort(([a], [b]) => a.localeCompare(b));
  const shown = s.rejected.slice(0, SHOWN_REJECTIONS);
  return html`<section class="load-summary" aria-labelledby="load-summary-heading">
  <h2 id="load-summary-heading" tabindex="-1">Summary of ${file.name}</h2>
  <p class="${s.rejected.length ? 'warning' : 'saved'}" data-testid="load-headline">${headline}</p>
  <p>${formatBytes(file.bytes)} read. Loaded records are stored and searchable now; rejected ones were not stored, and did not stop the rest.</p>
  ${types.length ? html`<table>
    <caption>Loaded, per resource type</caption>
    <thead><tr><th scope="col">Resource type</th><th scope="col">Loaded</th></tr></thead>
    <tbody>${types.map(([t, n]) => html`<tr><td>${t}</td><td>${n}</td></tr>`)}</tbody>
  </table>` : html`<p>Nothing was loaded.</p>`}
  ${shown.length ? html`<table class="rejections">
    <caption>Rejected (${s.rejected.length})</caption>
    <thead><tr><th scope="col">Resource</th><th scope="col">Where in the file</th><th scope="col">Reason</th></tr></thead>
    <tbody>${shown.map((r) => html`<tr><td>${r.resource ?? '(unreadable)'}</td><td>${r.source}</td><td>${r.reason}</td></tr>`)}</tbody>
  </table>
  ${s.rejected.length > shown.length ? html`<p>… and ${s.rejected.length - shown.length} more rejections (the first ${shown.length} are listed).</p>` : ''}` : ''}
</section>`;
}

export function loadsPage(o: LayoutOpts & { csrfToken: string; limit: number; recent: readonly LoadRecord[]; result?: Html; error?: string }): string {
  const base = consoleBase(o.tenant);
  return layout({ ...o, current: LOADS_PATH }, html`
<h1>Data loads</h1>
<p>Load FHIR resources into this tenant's directory: one JSON resource, a Bundle (its entries are loaded), or NDJSON (one resource per line).
Each record is validated against the Plan-Net profiles and indexed exactly as the API and <code>npm run load</code> do. Records keep their ids, so loading a record again makes a new version.
Invalid records are rejected with the reason; they never stop the rest.</p>
${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ''}
${o.result ?? ''}
<form id="load-form" class="load-form" method="post" action="${base}${LOADS_PATH}" enctype="multipart/form-data" data-csrf="${o.csrfToken}" data-limit="${o.limit}">
  <input type="hidden" name="_csrf" value="${o.csrfToken}">
  <div id="load-drop" class="dropzone">
    <label for="load-file">File to load</label>
    <input id="load-file" name="file" type="file" required accept=".json,.ndjson,.jsonl,application/json,application/fhir+json,application/x-ndjson" aria-describedby="load-file-hint">
    <p id="load-file-hint" class="hint">A .json (resource or Bundle), .ndjson or .jsonl file of at most ${formatBytes(o.limit)}. You can also drag a file onto this area. Larger loads: <code>npm run load -- --tenant ${o.tenant} &lt;files&gt;</code>.</p>
  </div>
  <p><button type="submit">Upload and load</button></p>
</form>
<div class="load-progress">
  <progress id="load-bar" hidden max="100"></progress>
  <p id="load-status" role="status" aria-live="polite"></p>
</div>
<div id="load-result"></div>
<section aria-labelledby="recent-loads">
  <h2 id="recent-loads">Recent loads on this server</h2>
  ${o.recent.length ? html`<table>
    <caption>The last ${o.recent.length} loads started from the console on this server process (newest first)</caption>
    <thead><tr><th scope="col">Started</th><th scope="col">By</th><th scope="col">File</th><th scope="col">State</th><th scope="col">Loaded</th><th scope="col">Rejected</th></tr></thead>
    <tbody>${o.recent.map((r) => html`<tr><td>${utc(r.startedAt)}</td><td>${r.user}</td><td>${r.file} (${formatBytes(r.bytes)})</td><td>${r.state === 'failed' ? html`failed: ${r.error ?? ''}` : r.state === 'running' ? `running (${r.processed} read)` : 'completed'}</td><td>${r.loaded}</td><td>${r.rejected}</td></tr>`)}</tbody>
  </table>` : html`<p>No loads yet on this server.</p>`}
</section>
<script src="${base}/static/loads.js" defer></script>
`);
}
