/**
 * Templates of the Loads section: the upload form (a plain multipart form; static/loads.js adds drag and drop and
 * progress), the summary of one load (the CLI's figures: loaded per resource type, each rejection with its reason),
 * the tenant's recent loads (stored in console_loads, so every instance lists every load) and one stored load.
 * Pure functions of their data.
 */
import { html, type Html } from '../html.ts';
import { consoleBase, layout, type LayoutOpts } from '../layout.ts';
import type { LoadSummary } from '../../ingest/loader.ts';
import { formatSummary } from '../../ingest/loader.ts';
import { MAX_REJECTIONS, STALE_AFTER_S, type LoadDetail, type LoadRecord } from './tracker.ts';
import { formatBytes } from '../format.ts';
import { utc } from '../format.ts';

export const LOADS_PATH = '/loads';
const SHOWN_REJECTIONS = 200;


/**
 * The summary of one load: the CLI's first line, then loaded per type and the rejections with their reasons.
 * `rejectedTotal`: the number of rejections when `s.rejected` holds only the first ones (a stored load).
 */
export function summaryFragment(file: { name: string; bytes: number }, s: LoadSummary, rejectedTotal = s.rejected.length): Html {
  const headline = formatSummary({ ...s, rejected: rejectedTotal > s.rejected.length ? [...s.rejected, ...Array.from({ length: rejectedTotal - s.rejected.length }, () => ({ source: '', reason: '' }))] : s.rejected }).split('\n')[0]!;
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
    <caption>Rejected (${rejectedTotal})</caption>
    <thead><tr><th scope="col">Resource</th><th scope="col">Where in the file</th><th scope="col">Reason</th></tr></thead>
    <tbody>${shown.map((r) => html`<tr><td>${r.resource ?? '(unreadable)'}</td><td>${r.source}</td><td>${r.reason}</td></tr>`)}</tbody>
  </table>
  ${rejectedTotal > shown.length ? html`<p>… and ${rejectedTotal - shown.length} more rejections (the first ${shown.length} are listed${rejectedTotal > MAX_REJECTIONS ? html`; the first ${MAX_REJECTIONS} are stored` : ''}).</p>` : ''}` : ''}
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
  <h2 id="recent-loads">Recent loads</h2>
  ${recentTable(base, o.recent)}
</section>
<script src="${base}/static/loads.js" defer></script>
`);
}

const stateText = (r: LoadRecord): Html | string => r.state === 'failed' ? html`failed: ${r.error ?? ''}`
  : r.state === 'running' ? `running (${r.processed} read)`
  : r.state === 'interrupted' ? `interrupted after ${r.processed} read (its server stopped reporting)`
  : 'completed';

function recentTable(base: string, recent: readonly LoadRecord[]): Html {
  if (!recent.length) return html`<p>No loads from the console yet.</p>`;
  return html`<table>
    <caption>The last ${recent.length} loads started from the console, by anyone on any server of this service (newest first)</caption>
    <thead><tr><th scope="col">Started</th><th scope="col">By</th><th scope="col">File</th><th scope="col">State</th><th scope="col">Loaded</th><th scope="col">Rejected</th><th scope="col">Details</th></tr></thead>
    <tbody>${recent.map((r) => html`<tr><td>${utc(r.startedAt)}</td><td>${r.user}</td><td>${r.file} (${formatBytes(r.bytes)})</td><td data-load-state="${r.state}">${stateText(r)}</td><td>${r.loaded}</td><td>${r.rejected}</td><td><a href="${base}${LOADS_PATH}/${r.id}">Load of ${r.file} at ${utc(r.startedAt)}</a></td></tr>`)}</tbody>
  </table>
  <p class="muted">A load still marked running whose server has not reported for ${STALE_AFTER_S} seconds is shown as interrupted: the batches it committed are stored, and loading the file again is safe (records keep their ids).</p>`;
}

/** One stored load: who, when, its state, and its summary (loaded per type, the first rejections). */
export function loadPage(o: LayoutOpts & { load: LoadDetail }): string {
  const base = consoleBase(o.tenant);
  const l = o.load;
  const finished = l.state === 'completed';
  return layout({ ...o, current: LOADS_PATH }, html`
<p><a href="${base}${LOADS_PATH}">Back to data loads</a></p>
<h1>Load of ${l.file}</h1>
<dl class="fields">
  <dt>Started</dt><dd>${utc(l.startedAt)}</dd>
  <dt>By</dt><dd>${l.user}</dd>
  <dt>File</dt><dd>${l.file} (${formatBytes(l.bytes)})</dd>
  <dt>State</dt><dd data-load-state="${l.state}">${stateText(l)}</dd>
  ${l.finishedAt ? html`<dt>Finished</dt><dd>${utc(l.finishedAt)}</dd>` : html`<dt>Last report from its server</dt><dd>${utc(l.heartbeatAt)}</dd>`}
</dl>
${finished
    ? summaryFragment({ name: l.file, bytes: l.bytes }, { loaded: l.loadedByType, rejected: l.rejections, warnings: l.warnings, files: 1 }, l.rejected)
    : html`<p>${l.loaded} records loaded and ${l.rejected} rejected so far${l.state === 'running' ? '' : ' when it stopped'}. The per-type figures and the rejections are stored when a load ends.</p>`}
`);
}
