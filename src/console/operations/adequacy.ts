/**
 * Network adequacy reports in the console (permission adequacy:run), through src/adequacy's public functions:
 *   GET  /adequacy        start form and the tenant's reports with their status
 *   POST /adequacy        parseAdequacyParameters (the operation's own checks) + insertAdequacyJob → the report's page
 *   GET  /adequacy/:id    progress (live region, polled by job-progress.js), then the files through signed URLs
 *   GET  /adequacy/:id/cancel   confirmation; POST cancels it (cancelAdequacyJob, as DELETE on the status URL)
 * A report's status and files are shown only to the user who started it, as in the API. The list of reports
 * (listAdequacyJobs) and the signed file URLs (reportFileUrls) are src/adequacy's own, shared with its routes.
 */
import type { Request } from 'express';
import type { Tenant } from '../../tenancy/tenants.ts';
import { FhirError, notFound } from '../../fhir/outcome/errors.ts';
import { tenantBaseUrl } from '../../fhir/routes.ts';
import { loadUrlSigner } from '../../jobs/export/signed-urls.ts';
import { jobRunnerOf } from '../../jobs/runner.ts';
import { actorId } from '../../auth/identity.ts';
import { parseAdequacyParameters, reportFileUrls } from '../../adequacy/routes.ts';
import { cancelAdequacyJob, getAdequacyJob, insertAdequacyJob, listAdequacyJobs, type AdequacyJobRow, type AdequacyParams } from '../../adequacy/job.ts';
import { loadReference } from '../../adequacy/reference.ts';
import { html } from '../html.ts';
import { layout, type SessionView } from '../layout.ts';
import { type ConsoleKit, type Json, currentIdentity, noteResource, noteResultCount } from '../kit.ts';
import { checkboxes, csrf, errorSummary, field, formBody } from './form.ts';
import { formatBytes, utc } from '../format.ts';
import { cancelConfirmation, cancelControl, failedNotice, filesTable, isActive, progressRegion, statusBadge } from './jobs-view.ts';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ID = /^[A-Za-z0-9.-]{1,64}$/;

const FILE_LABELS: Record<string, string> = {
  'adequacy.csv': 'Results per network, county and type (CSV)',
  'hsd-provider-table.csv': 'CMS HSD provider table (CSV)',
  'hsd-facility-table.csv': 'CMS HSD facility table (CSV)',
  'report.html': 'Accessible report (HTML)',
  'summary.json': 'Summary (JSON)',
};
const fileLabel = (name: string) => FILE_LABELS[name] ?? (/^map-.*\.svg$/.test(name) ? `Map ${name.slice(4, -4)} (SVG)` : /^map-.*\.png$/.test(name) ? `Map ${name.slice(4, -4)} (PNG)` : /^chart.*\.svg$/.test(name) ? 'Chart (SVG)' : name);

interface FormValues { network: string; plan: string; area: string; standards: string; types: Set<string>; asOf: string }

const areaText = (p: AdequacyParams) => [...p.states, ...p.counties.map((c) => `county ${c}`)].join(', ');

export function mountAdequacyPages(kit: ConsoleKit): void {
  const { services, route, page, staffOnly } = kit;
  const signer = loadUrlSigner(services.config);

  /** The report, if this user started it (anyone else: the same 404 as for no report, as in the API). */
  const ownReport = async (tenant: Tenant, id: string): Promise<AdequacyJobRow> => {
    const me = currentIdentity();
    const job = JOB_ID.test(id) ? await services.db.withTenant(tenant.id, (tx) => getAdequacyJob(tx, id), { readOnly: true }) : undefined;
    if (!job || job.requesterKind !== me.kind || job.requesterId !== (actorId(me) ?? null)) throw notFound(`No adequacy report ${id} of yours is known here`);
    return job;
  };
  const listReports = (tenant: Tenant): Promise<AdequacyJobRow[]> => services.db.withTenant(tenant.id, (tx) => listAdequacyJobs(tx, 50), { readOnly: true });

  const networkOptions = async (req: Request, tenant: Tenant): Promise<{ id: string; label: string }[]> => {
    try {
      const b = await kit.search(req, tenant, 'Organization', [['type', 'ntwk'], ['_count', '100']]);
      return (b.entry ?? []).filter((e: Json) => e.resource?.resourceType === 'Organization').map((e: Json) => ({ id: e.resource.id, label: e.resource.name ?? e.resource.id }));
    } catch { return []; }
  };

  const formPage = async (req: Request, tenant: Tenant, s: SessionView, v: FormValues, errors: Record<string, string> = {}, formErrors: string[] = []) => {
    const base = kit.base(tenant);
    const me = actorId(currentIdentity()) ?? null;
    const [reports, networks] = await Promise.all([listReports(tenant), networkOptions(req, tenant)]);
    const ref = loadReference();
    return layout({ tenant: tenant.id, title: 'Network adequacy', session: s, types: kit.types, current: '/adequacy' }, html`
<h1>Network adequacy</h1>
<p>A report measures, for each county and CMS specialty type of a service area, the share of beneficiaries with an in-network provider within the CMS maximum distance, and the providers within reach against the county minimum. Distances are straight-line (great-circle) miles; each report says whether travel time was assessed.</p>
<section aria-labelledby="start-h">
<h2 id="start-h">Start a report</h2>
${errorSummary(errors, formErrors, 'The report was not started.')}
<form method="post" action="${base}/adequacy" novalidate>
  ${csrf(s)}
  ${field({ name: 'network', label: 'Network', value: v.network, required: !v.plan, list: 'networks', hint: 'The network\u2019s Organization id (several separated by commas). Leave empty to use every network of the insurance plan below.', error: errors.network })}
  <datalist id="networks">${networks.map((n) => html`<option value="${n.id}">${n.label}</option>`)}</datalist>
  ${field({ name: 'plan', label: 'Insurance plan (optional)', value: v.plan, hint: 'An InsurancePlan id: its networks are assessed.', error: errors.plan })}
  ${field({ name: 'area', label: 'Service area', value: v.area, required: true, hint: 'States (e.g. MD) or counties (FIPS or SSA codes, e.g. county:24031), separated by commas.', error: errors.area })}
  ${field({ name: 'standards', label: 'Standards', kind: 'select', value: v.standards, error: errors.standards, options: [
    { value: '', label: 'The tenant\u2019s uploaded criteria if any, else CMS MA 2026' }, { value: 'cms-ma-2026', label: 'CMS Medicare Advantage 2026' }, { value: 'tenant', label: 'The tenant\u2019s uploaded criteria' }] })}
  ${field({ name: 'as_of', label: 'As of (date)', kind: 'date', value: v.asOf, hint: 'The directory as of this date (YYYY-MM-DD).', error: errors.as_of })}
  <details${v.types.size || errors.type ? html` open` : ''}>
    <summary>Specialty and facility types (all by default)</summary>
    ${checkboxes('type', 'CMS HSD types', ref.types.map((t) => ({ value: t.code, label: `${t.code} ${t.name}` })), v.types, { hint: 'Leave all unchecked to assess every type.', error: errors.type })}
  </details>
  <p><button type="submit">Start report</button></p>
</form>
</section>
<section aria-labelledby="list-h">
<h2 id="list-h">Reports of this directory</h2>
${reports.length === 0 ? html`<p>No reports yet.</p>` : html`<table>
  <caption>The latest ${reports.length} reports, newest first</caption>
  <thead><tr><th scope="col">Started</th><th scope="col">Started by</th><th scope="col">Networks</th><th scope="col">Service area</th><th scope="col">Status</th><th scope="col">Details</th></tr></thead>
  <tbody>${reports.map((r) => {
    const mine = r.requesterKind === 'staff' && r.requesterId === me;
    return html`<tr>
    <td>${utc(r.createdAt)}</td>
    <td>${mine ? 'You' : `${r.requesterId ?? r.requesterKind} (${r.requesterKind})`}</td>
    <td>${[...r.params.networks, ...(r.params.plan ? [`plan ${r.params.plan}`] : [])].join(', ')}</td>
    <td>${areaText(r.params)}</td>
    <td>${statusBadge(r.status)}${isActive(r.status) && r.progress ? html`<br><span class="muted">${r.progress}</span>` : ''}</td>
    <td>${mine ? html`<a href="${base}/adequacy/${r.id}">Open report of ${utc(r.createdAt)}</a>` : html`<span class="muted">Only its requester sees its files</span>`}</td>
  </tr>`;
  })}</tbody>
</table>`}
</section>`);
  };

  const today = () => new Date().toISOString().slice(0, 10);

  route('get', '/adequacy', 'console:adequacy', 'adequacy:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    page(res, 200, await formPage(req, tenant, s, { network: '', plan: '', area: '', standards: '', types: new Set(), asOf: today() }));
  });

  route('post', '/adequacy', 'console:adequacy-start', 'adequacy:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const b = formBody(req.body);
    const v: FormValues = { network: b.get('network', 500).trim(), plan: b.get('plan', 100).trim(), area: b.get('area', 1000).trim(), standards: b.get('standards', 20), types: new Set(b.all('type')), asOf: b.get('as_of', 20).trim() };
    const split = (x: string) => x.split(',').map((y) => y.trim()).filter(Boolean);
    const parameter: Json[] = [
      ...split(v.network).map((n) => ({ name: 'network', valueReference: { reference: `Organization/${n.replace(/^Organization\//, '')}` } })),
      ...(v.plan ? [{ name: 'insurance-plan', valueReference: { reference: `InsurancePlan/${v.plan.replace(/^InsurancePlan\//, '')}` } }] : []),
      ...split(v.area).map((a) => ({ name: 'service-area', valueString: a })),
      ...(v.standards ? [{ name: 'standards', valueCode: v.standards }] : []),
      ...[...v.types].map((t) => ({ name: 'type', valueCode: t })),
      ...(v.asOf ? [{ name: 'as-of', valueDate: v.asOf }] : []),
    ];
    const errors: Record<string, string> = {};
    const formErrors: string[] = [];
    let params: AdequacyParams | undefined;
    try {
      params = parseAdequacyParameters({ resourceType: 'Parameters', parameter });
    } catch (err) {
      if (!(err instanceof FhirError) || err.status >= 500) throw err;
      const m = err.message;
      const f = /insurance-plan/.test(m) && v.plan && !v.network ? 'plan' : /network|insurance-plan/.test(m) ? 'network' : /service area|state|county/i.test(m) ? 'area'
        : /standards/.test(m) ? 'standards' : /HSD type/.test(m) ? 'type' : /as-of/.test(m) ? 'as_of' : undefined;
      if (f) errors[f] = m; else formErrors.push(m);
    }
    // the job would fail on a network or plan that does not exist: say so next to the field instead
    if (params) {
      const exists = async (type: string, id: string) => { try { await kit.read(tenant, type, id); return true; } catch (e) { if (e instanceof FhirError && e.status < 500) return false; throw e; } };
      for (const n of params.networks) if (!ID.test(n) || !(await exists('Organization', n))) { errors.network = `Network Organization/${n} not found in this directory`; break; }
      if (params.plan && !(await exists('InsurancePlan', params.plan))) errors.plan = `InsurancePlan/${params.plan} not found in this directory`;
    }
    if (!params || Object.keys(errors).length) return page(res, 422, await formPage(req, tenant, s, v, errors, formErrors));
    const me = currentIdentity();
    const runner = jobRunnerOf(services);
    const id = await services.db.withTenant(tenant.id, (tx) => insertAdequacyJob(tx, runner, params, { kind: me.kind, id: actorId(me) ?? null }));
    noteResource(id);
    res.redirect(303, `${kit.base(tenant)}/adequacy/${id}`);
  });

  route('get', '/adequacy/:id', 'console:adequacy-status', 'adequacy:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const id = String(req.params.id);
    noteResource(id);
    const job = await ownReport(tenant, id);
    const base = kit.base(tenant);
    const fhirBase = tenantBaseUrl(services, req, tenant.id);
    const p = job.params;
    let results = html``;
    // reports expire after their retention period: their files are then deleted
    const expired = !!job.expiresAt && job.expiresAt.getTime() <= Date.now();
    if (job.status === 'cancelled') {
      results = html`<p>This report was cancelled; its files were removed. <a href="${base}/adequacy">Start a new report</a>.</p>`;
    } else if (expired) {
      results = html`<p>This report has expired; its files are deleted. <a href="${base}/adequacy">Start a new report</a>.</p>`;
    } else if (job.status === 'completed') {
      const { files: signed, expires } = reportFileUrls(signer, tenant.id, fhirBase, job);
      const files = signed.map((f) => ({ label: fileLabel(f.name), name: f.name, url: f.url, detail: formatBytes(f.bytes) }));
      noteResultCount(files.length);
      const travel = job.travelTime ?? 'not assessed';
      results = html`<p>Travel time: ${travel}${travel === 'not assessed' ? ' (distances are straight-line, great-circle miles)' : ''}.</p>${filesTable('Files of this report', files, 'Size', expires)}`;
    } else if (job.status === 'failed') {
      results = failedNotice(job.error, 'report', `${base}/adequacy`);
    } else if (!isActive(job.status)) {
      results = html`<p>This report is ${job.status}; its files are no longer available.</p>`;
    }
    page(res, 200, layout({ tenant: tenant.id, title: 'Adequacy report', session: s, types: kit.types, current: '/adequacy' }, html`
<p><a href="${base}/adequacy">Back to network adequacy</a></p>
<h1>Adequacy report</h1>
<dl class="fields" id="job-summary" data-refresh>
  <dt>Status</dt><dd>${statusBadge(job.status)}</dd>
  <dt>Networks</dt><dd>${p.networks.join(', ') || '—'}${p.plan ? ` (plan ${p.plan})` : ''}</dd>
  <dt>Service area</dt><dd>${areaText(p)}</dd>
  <dt>Types</dt><dd>${p.types.length ? p.types.join(', ') : 'All CMS HSD types'}</dd>
  <dt>As of</dt><dd>${p.asOf}</dd>
  <dt>Standards</dt><dd>${p.standards === 'cms' ? 'CMS MA 2026' : p.standards === 'tenant' ? 'Tenant criteria' : 'Tenant criteria if uploaded, else CMS MA 2026'}</dd>
  <dt>Report id</dt><dd><code>${job.id}</code></dd>
</dl>
${progressRegion({ status: job.status, progress: job.progress, refreshHref: `${base}/adequacy/${job.id}`, what: 'The report' })}
${cancelControl({ status: job.status, href: `${base}/adequacy/${job.id}/cancel`, what: 'this report', allowed: kit.can(s, 'adequacy:run') })}
<section aria-labelledby="results-h">
<h2 id="results-h">Results</h2>
<div id="job-results" data-refresh>${isActive(job.status) ? html`<p>The files will be listed here when the report completes.</p>` : results}</div>
</section>
<script src="${base}/static/job-progress.js" defer></script>`));
  });

  // Cancel: a confirmation page, then a CSRF-protected POST (the session resolver checks _csrf) to src/adequacy's cancel
  route('get', '/adequacy/:id/cancel', 'console:adequacy-cancel-confirm', 'adequacy:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const id = String(req.params.id);
    noteResource(id);
    const job = await ownReport(tenant, id);
    const base = kit.base(tenant);
    if (job.status === 'cancelled') return res.redirect(303, `${base}/adequacy/${id}`);
    const p = job.params;
    page(res, 200, layout({ tenant: tenant.id, title: 'Cancel the adequacy report?', session: s, types: kit.types, current: '/adequacy' }, cancelConfirmation({
      heading: `Cancel the adequacy report of ${utc(job.createdAt)}?`, what: 'report', status: job.status, action: `${base}/adequacy/${id}/cancel`, back: `${base}/adequacy/${id}`, csrfToken: s.csrfToken,
      details: html`<dl class="fields"><dt>Status</dt><dd>${statusBadge(job.status)}</dd><dt>Networks</dt><dd>${p.networks.join(', ') || '—'}${p.plan ? ` (plan ${p.plan})` : ''}</dd><dt>Service area</dt><dd>${areaText(p)}</dd><dt>Report id</dt><dd><code>${job.id}</code></dd></dl>`,
    })));
  });

  route('post', '/adequacy/:id/cancel', 'console:adequacy-cancel', 'adequacy:run', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const id = String(req.params.id);
    noteResource(id);
    const me = currentIdentity();
    if (!(await cancelAdequacyJob(services, tenant.id, { kind: me.kind, id: actorId(me) ?? null }, id))) throw notFound(`No adequacy report ${id} of yours is known here`);
    res.redirect(303, `${kit.base(tenant)}/adequacy/${id}`);
  });
}
