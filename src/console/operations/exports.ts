/**
 * Bulk exports in the console (permission export:run), through the Bulk Data export's own code in-process:
 *   GET  /exports        start form and the tenant's exports with their status
 *   POST /exports        starts one (startExport: the kick-off's checks, limits and queueing) → its page
 *   GET  /exports/:id    progress (live region, polled by job-progress.js) and, when done, the files through the
 *                        signed, expiring URLs of the export manifest (exportManifest)
 *   GET  /exports/:id/cancel   confirmation; POST cancels it (cancelExport, as DELETE on the status URL)
 * As in the API, an export's status and files are shown only to the user who started it; the list shows every
 * export of the tenant with who started it.
 */
import type { Request } from 'express';
import type { Tenant } from '../../tenancy/tenants.ts';
import { FhirError, notFound } from '../../fhir/outcome/errors.ts';
import { tenantBaseUrl } from '../../fhir/routes.ts';
import { cancelExport, exportableTypes, exportManifest, failIfAbandoned, ownJob, startExport } from '../../fhir/operations/export.ts';
import { getJob, listJobs } from '../../jobs/export/job-store.ts';
import { loadUrlSigner } from '../../jobs/export/signed-urls.ts';
import type { ExportJob } from '../../jobs/export/types.ts';
import { actorId } from '../../auth/identity.ts';
import { html } from '../html.ts';
import { layout, type SessionView } from '../layout.ts';
import { type ConsoleKit, currentIdentity, noteResource, noteResultCount } from '../kit.ts';
import { checkboxes, csrf, errorSummary, errorsByField, field, formBody } from './form.ts';
import { formatBytes, utc } from '../format.ts';
import { cancelConfirmation, cancelControl, failedNotice, filesTable, isActive, progressRegion, statusBadge } from './jobs-view.ts';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function mountExportPages(kit: ConsoleKit): void {
  const { services, route, page, staffOnly } = kit;
  const signer = loadUrlSigner(services.config);

  const listPage = async (req: Request, tenant: Tenant, s: SessionView, form: { types: Set<string>; since: string }, errors: Record<string, string> = {}, formErrors: string[] = []) => {
    const base = kit.base(tenant);
    const me = actorId(currentIdentity()) ?? null;
    const jobs = await services.db.withTenant(tenant.id, (tx) => listJobs(tx, 'export', 50), { readOnly: true });
    const readable = exportableTypes(currentIdentity(), tenant);
    const mine = (j: ExportJob) => j.requesterKind === 'staff' && j.requesterId === me;
    return layout({ tenant: tenant.id, title: 'Bulk exports', session: s, types: kit.types, current: '/exports' }, html`
<h1>Bulk exports</h1>
<p>An export writes the directory as NDJSON files (FHIR Bulk Data), as of one moment. It runs in the background; you can leave its page and come back. Files are kept for a limited time and downloaded through links signed for you.</p>
<section aria-labelledby="start-h">
<h2 id="start-h">Start an export</h2>
${errorSummary(errors, formErrors, 'The export was not started.')}
<form method="post" action="${base}/exports" novalidate>
  ${csrf(s)}
  ${checkboxes('type', 'Resource types', readable.map((t) => ({ value: t, label: t })), form.types, { hint: 'Leave all unchecked to export every type.', error: errors.type })}
  ${field({ name: 'since', label: 'Only changes since (optional)', value: form.since, hint: 'A FHIR instant, e.g. 2026-01-31T12:00:00Z. Records deleted since then come as deletion Bundles.', error: errors.since })}
  <p><button type="submit">Start export</button></p>
</form>
</section>
<section aria-labelledby="list-h">
<h2 id="list-h">Exports of this directory</h2>
${jobs.length === 0 ? html`<p>No exports yet (finished exports are removed after their retention period).</p>` : html`<table>
  <caption>The latest ${jobs.length} exports, newest first</caption>
  <thead><tr><th scope="col">Started</th><th scope="col">Started by</th><th scope="col">Types</th><th scope="col">Status</th><th scope="col">Details</th></tr></thead>
  <tbody>${jobs.map((j) => html`<tr>
    <td>${utc(j.createdAt)}</td>
    <td>${mine(j) ? 'You' : `${j.requesterId ?? j.requesterKind} (${j.requesterKind})`}</td>
    <td>${j.params.types.length === readable.length ? 'All types' : j.params.types.join(', ')}${j.params.since ? ` (changes since ${utc(j.params.since)})` : ''}</td>
    <td>${statusBadge(j.status)}${isActive(j.status) && j.progress ? html`<br><span class="muted">${j.progress}</span>` : ''}</td>
    <td>${mine(j) ? html`<a href="${base}/exports/${j.id}">Open export of ${utc(j.createdAt)}</a>` : html`<span class="muted">Only its requester sees its files</span>`}</td>
  </tr>`)}</tbody>
</table>`}
</section>`);
  };

  route('get', '/exports', 'console:exports', 'export:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    page(res, 200, await listPage(req, tenant, s, { types: new Set(), since: '' }));
  });

  route('post', '/exports', 'console:export-start', 'export:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const b = formBody(req.body);
    const types = b.all('type');
    const since = b.get('since', 64).trim();
    const pairs: [string, string][] = [...(types.length ? [['_type', types.join(',')] as [string, string]] : []), ...(since ? [['_since', since] as [string, string]] : [])];
    const fhirBase = tenantBaseUrl(services, req, tenant.id);
    let id: string;
    try {
      id = await startExport(services, tenant, currentIdentity(), pairs, { lenient: false, requestUrl: `${fhirBase}/$export${pairs.length ? `?${new URLSearchParams(pairs)}` : ''}` });
    } catch (err) {
      if (!(err instanceof FhirError) || err.status >= 500 || err.status === 401 || err.status === 403) throw err;
      const { errors, formErrors } = errorsByField(err, { _type: 'type', _since: 'since' });
      return page(res, err.status === 429 ? 429 : 422, await listPage(req, tenant, s, { types: new Set(types), since }, errors, formErrors));
    }
    noteResource(id);
    res.redirect(303, `${kit.base(tenant)}/exports/${id}`);
  });

  /** The requester's own export (anyone else's is not found, as in the API). */
  const ownExport = async (tenant: Tenant, id: string) => {
    if (!JOB_ID.test(id)) throw notFound(`No export ${id} of yours is known here`);
    return services.db.withTenant(tenant.id, async (tx) => ownJob(await getJob(tx, id), currentIdentity(), id), { readOnly: true });
  };

  route('get', '/exports/:id', 'console:export-status', 'export:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const id = String(req.params.id);
    noteResource(id);
    let job = await ownExport(tenant, id);
    if (await failIfAbandoned(services, tenant.id, job)) job = (await services.db.withTenant(tenant.id, (tx) => getJob(tx, id), { readOnly: true }))!;
    const base = kit.base(tenant);
    const fhirBase = tenantBaseUrl(services, req, tenant.id);
    let results = html``;
    if (job.status === 'completed') {
      const { body, expires } = exportManifest(job, fhirBase, signer, services.config.export.urlTtlSeconds);
      const m = body as { output: { type: string; url: string; count: number }[]; deleted?: { type: string; url: string; count: number }[]; error: { type: string; url: string; count: number }[] };
      const byUrl = new Map((job.files ?? []).map((f) => [f.name, f]));
      const rows = (list: { type: string; url: string; count: number }[], what: string) => list.map((o) => {
        const name = decodeURIComponent(new URL(o.url).pathname.split('/').pop() ?? '');
        const f = byUrl.get(name);
        return { label: `${o.type} ${what}`, name, url: o.url, detail: `${o.count} ${o.count === 1 ? 'line' : 'lines'}${f ? `, ${formatBytes(f.bytes)}` : ''}` };
      });
      const files = [...rows(m.output, 'records'), ...rows(m.deleted ?? [], 'deletions'), ...rows(m.error, 'issues')];
      noteResultCount(m.output.reduce((n, o) => n + o.count, 0));
      results = html`<p>The files show the directory as of ${utc(job.transactionTime)}.</p>${filesTable('Files of this export', files, 'Size', expires)}`;
    } else if (job.status === 'failed') {
      results = failedNotice(job.error, 'export', `${base}/exports`);
    } else if (job.status === 'expired') {
      results = html`<p>Its retention period has passed and its files were deleted. <a href="${base}/exports">Start a new export</a>.</p>`;
    } else if (job.status === 'cancelled') {
      results = html`<p>This export was cancelled; its files were removed.</p>`;
    }
    page(res, 200, layout({ tenant: tenant.id, title: `Export of ${utc(job.createdAt)}`, session: s, types: kit.types, current: '/exports' }, html`
<p><a href="${base}/exports">Back to bulk exports</a></p>
<h1>Export of ${utc(job.createdAt)}</h1>
<dl class="fields" id="job-summary" data-refresh>
  <dt>Status</dt><dd>${statusBadge(job.status)}</dd>
  <dt>Types</dt><dd>${job.params.types.join(', ')}</dd>
  ${job.params.since ? html`<dt>Changes since</dt><dd>${utc(job.params.since)}</dd>` : ''}
  <dt>Export id</dt><dd><code>${job.id}</code></dd>
</dl>
${progressRegion({ status: job.status, progress: job.progress, refreshHref: `${base}/exports/${job.id}`, what: 'The export' })}
${cancelControl({ status: job.status, href: `${base}/exports/${job.id}/cancel`, what: 'this export', allowed: kit.can(s, 'export:run') })}
<section aria-labelledby="results-h">
<h2 id="results-h">Results</h2>
<div id="job-results" data-refresh>${isActive(job.status) ? html`<p>The files will be listed here when the export completes.</p>` : results}</div>
</section>
<script src="${base}/static/job-progress.js" defer></script>`));
  });

  // Cancel: a confirmation page, then a CSRF-protected POST (the session resolver checks _csrf) to the API's own cancel

  route('get', '/exports/:id/cancel', 'console:export-cancel-confirm', 'export:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const id = String(req.params.id);
    noteResource(id);
    const job = await ownExport(tenant, id);
    const base = kit.base(tenant);
    if (job.status === 'cancelled' || job.status === 'expired') return res.redirect(303, `${base}/exports/${id}`);
    page(res, 200, layout({ tenant: tenant.id, title: `Cancel the export of ${utc(job.createdAt)}?`, session: s, types: kit.types, current: '/exports' }, cancelConfirmation({
      heading: `Cancel the export of ${utc(job.createdAt)}?`, what: 'export', status: job.status, action: `${base}/exports/${id}/cancel`, back: `${base}/exports/${id}`, csrfToken: s.csrfToken,
      details: html`<dl class="fields"><dt>Status</dt><dd>${statusBadge(job.status)}</dd><dt>Types</dt><dd>${job.params.types.join(', ')}</dd><dt>Export id</dt><dd><code>${job.id}</code></dd></dl>`,
    })));
  });

  route('post', '/exports/:id/cancel', 'console:export-cancel', 'export:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const id = String(req.params.id);
    noteResource(id);
    await cancelExport(services, tenant, currentIdentity(), id);
    res.redirect(303, `${kit.base(tenant)}/exports/${id}`);
  });
}
