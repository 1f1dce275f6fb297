/**
 * What the export and adequacy pages share: a job's status in words (never by colour alone), the progress live
 * region that static/job-progress.js refreshes (the page works without it through the refresh link), and the table
 * of downloadable files.
 */
import { html, type Html } from '../html.ts';
import { utc } from '../format.ts';

const STATUS_TEXT: Record<string, string> = {
  queued: 'Queued', running: 'Running', completed: 'Completed', failed: 'Failed', cancelled: 'Cancelled', expired: 'Expired (files deleted)',
};
export const statusText = (s: string) => STATUS_TEXT[s] ?? s;
export const isActive = (s: string) => s === 'queued' || s === 'running';

/** A status with a symbol and words; the colour only repeats them. */
export function statusBadge(s: string): Html {
  const sym = s === 'completed' ? '✓' : s === 'failed' ? '✗' : isActive(s) ? '…' : '–';
  return html`<span class="status status-${s.replace(/[^a-z]/g, '')}"><span aria-hidden="true">${sym} </span>${statusText(s)}</span>`;
}

/**
 * The live region: `data-state="active"` while the job runs, so the script polls the page and copies the new
 * region and every `data-refresh` element in; a refresh link does the same without scripts.
 */
export function progressRegion(o: { status: string; progress?: string | null; refreshHref: string; what: string }): Html {
  const active = isActive(o.status);
  const text = active
    ? `${o.what} is ${o.status === 'queued' ? 'queued, waiting for a worker' : `running: ${o.progress ?? 'in progress'}`}.`
    : `${o.what} is ${statusText(o.status).toLowerCase()}.`;
  return html`<section aria-labelledby="progress-h">
<h2 id="progress-h">Progress</h2>
<p id="job-progress" class="notice" role="status" aria-live="polite" data-state="${active ? 'active' : 'done'}">${text}</p>
<div id="job-refresh" data-refresh>${active ? html`<p class="refresh"><a href="${o.refreshHref}">Refresh the status</a> <span class="muted">(with scripts on, this page updates itself every few seconds)</span></p>` : ''}</div>
</section>`;
}

/** A failed job: the OperationOutcome's diagnostics it stored, and the way to start again. */
export function failedNotice(error: unknown, what: 'export' | 'report', restartHref: string): Html {
  const issues = ((error as { issue?: { diagnostics?: string }[] } | null)?.issue ?? []).map((i) => i.diagnostics).filter(Boolean);
  return html`<div class="warning" role="alert"><p><strong>The ${what} failed.</strong></p>${issues.length ? html`<ul>${issues.map((i) => html`<li>${i}</li>`)}</ul>` : ''}<p><a href="${restartHref}">Start a new ${what}</a></p></div>`;
}

export interface FileRow { label: string; name: string; url: string; detail: string }

export function filesTable(caption: string, files: FileRow[], detailHeader: string, expires?: Date): Html {
  if (!files.length) return html`<p>No files.</p>`;
  return html`<table>
  <caption>${caption}</caption>
  <thead><tr><th scope="col">Contents</th><th scope="col">File</th><th scope="col">${detailHeader}</th></tr></thead>
  <tbody>${files.map((f) => html`<tr><th scope="row">${f.label}</th><td><a href="${f.url}" download="${f.name}">Download ${f.name}</a></td><td>${f.detail}</td></tr>`)}</tbody>
</table>
${expires ? html`<p class="muted">These download links are signed for you and work until ${utc(expires)}; reload this page for fresh links.</p>` : ''}`;
}


/**
 * The way to cancel a running job from its page: a link to the confirmation page, in a `data-refresh` element so it
 * disappears (with scripts, without a reload) once the job is no longer active. Shown only to users who may cancel.
 */
export function cancelControl(o: { status: string; href: string; what: string; allowed: boolean }): Html {
  return html`<div id="job-cancel" data-refresh>${o.allowed && isActive(o.status) ? html`<p><a href="${o.href}">Cancel ${o.what}</a></p>` : ''}</div>`;
}

/** The confirmation page's body: what will happen, a CSRF-protected POST, and the way back. */
export function cancelConfirmation(o: { heading: string; what: string; status: string; action: string; back: string; csrfToken: string; details: Html }): Html {
  return html`<p><a href="${o.back}">Back to ${o.what}</a></p>
<h1>${o.heading}</h1>
${o.details}
<div class="warning"><p>${isActive(o.status) ? `The ${o.what} stops and` : `The ${o.what} is ${statusText(o.status).toLowerCase()};`} its files are removed. This cannot be undone; you can start a new one afterwards.</p></div>
<form method="post" action="${o.action}">
  <input type="hidden" name="_csrf" value="${o.csrfToken}">
  <p><button type="submit" class="danger">Cancel the ${o.what}</button> <a href="${o.back}">No, keep it</a></p>
</form>`;
}
