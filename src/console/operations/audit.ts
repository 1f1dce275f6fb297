/**
 * Reviewing the audit trail in the console (permission audit:read), through the AuditEvent search's own code
 * (parseAuditQuery, searchAuditRows): filters by time range, who (user, client or system job, and the kind of
 * actor), action, resource and outcome, newest first, paged by the rows' sequence cursor (never OFFSET).
 *   GET /audit?from&to&agent&agent_type&subtype&entity&entity_type&outcome&_cursor
 */
import { FhirError } from '../../fhir/outcome/errors.ts';
import { ROUTE_TABLE } from '../../auth/permissions.ts';
import { currentContext } from '../../http/request-context.ts';
import { encodeAuditCursor, fhirAction, parseAuditQuery, searchAuditRows, type QueryPairs } from '../../audit/review.ts';
import type { StoredRow } from '../../audit/record.ts';
import { html } from '../html.ts';
import { layout } from '../layout.ts';
import type { ConsoleKit } from '../kit.ts';
import { errorsByField, field } from './form.ts';
import { utc } from '../format.ts';

const PAGE = 50;
const OUTCOMES: Record<number, string> = { 0: 'Success', 4: 'Refused or failed (client error)', 8: 'Failed (server error)', 12: 'Failed (major)' };
const FHIR_ACTIONS: Record<string, string> = { C: 'create', R: 'read', U: 'update', D: 'delete', E: 'execute' };

/** Form field → [search parameter, value prefix]. */
const FILTERS: Record<string, [string, string]> = {
  from: ['date', 'ge'], to: ['date', 'le'], agent: ['agent', ''], agent_type: ['agent-type', ''], subtype: ['subtype', ''],
  entity: ['entity', ''], entity_type: ['entity-type', ''], outcome: ['outcome', ''],
};

export function mountAuditPages(kit: ConsoleKit): void {
  const { services, route, page, staffOnly } = kit;
  const paging = { defaultCount: PAGE, maxCount: PAGE };

  route('get', '/audit', 'console:audit', 'audit:read', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const base = kit.base(tenant);
    const q = req.query as Record<string, unknown>;
    const val = (k: string) => (typeof q[k] === 'string' ? (q[k] as string).trim().slice(0, 200) : '');
    const values: Record<string, string> = {};
    for (const k of Object.keys(FILTERS)) values[k] = val(k);
    const cursor = val('_cursor');
    const query: QueryPairs = [];
    for (const [k, [param, prefix]] of Object.entries(FILTERS)) {
      if (!values[k]) continue;
      // a date alone means the whole day: from its start (ge), to its end (le)
      query.push([param, `${prefix}${values[k]}`]);
    }
    const rc = currentContext();
    if (rc) { rc.audit.resourceType = 'AuditEvent'; rc.audit.searchParams = [...new Set(query.map(([k]) => k))]; }
    let rows: StoredRow[] = [];
    let next: number | undefined;
    let errors: Record<string, string> = {};
    let formErrors: string[] = [];
    try {
      const parsed = parseAuditQuery(tenant.id, [...query, ['_count', String(PAGE)], ...(cursor ? [['_cursor', cursor] as [string, string]] : [])], paging);
      ({ rows, next } = await searchAuditRows(services.db, tenant.id, parsed));
      if (rc) rc.audit.resultCount = rows.length;
    } catch (err) {
      if (!(err instanceof FhirError) || err.status >= 500) throw err;
      const byParam: Record<string, string> = { agent: 'agent', 'agent-type': 'agent_type', subtype: 'subtype', entity: 'entity', 'entity-type': 'entity_type', outcome: 'outcome', _cursor: '_cursor' };
      const dateField = values.from && !values.to ? 'from' : values.to && !values.from ? 'to' : 'from';
      ({ errors, formErrors } = errorsByField(err, { ...byParam, date: dateField }));
      if (errors._cursor) { formErrors.push(errors._cursor); delete errors._cursor; }
    }
    const filterPairs = Object.entries(values).filter(([, v]) => v);
    const href = (extra: [string, string][]) => `${base}/audit${filterPairs.length + extra.length ? `?${new URLSearchParams([...filterPairs, ...extra])}` : ''}`;
    const actions = [...new Set(ROUTE_TABLE.map((r) => r.action))].sort();
    const hasErrors = formErrors.length > 0 || Object.keys(errors).length > 0;
    page(res, hasErrors ? 400 : 200, layout({ tenant: tenant.id, title: 'Audit trail', session: s, types: kit.types, current: '/audit' }, html`
<h1>Audit trail</h1>
<p>Every request to this directory leaves a row: who, what, when and the outcome. Times are UTC. Request bodies are never recorded.</p>
<form class="filters" role="search" method="get" action="${base}/audit" aria-label="Filter audit rows">
  ${field({ name: 'from', label: 'From (date)', kind: 'date', value: values.from, hint: 'From the start of this day (UTC)', error: errors.from })}
  ${field({ name: 'to', label: 'To (date)', kind: 'date', value: values.to, hint: 'To the end of this day (UTC)', error: errors.to })}
  ${field({ name: 'agent', label: 'User or client id', value: values.agent, error: errors.agent, hint: 'A staff user id, a SMART client id or a job name' })}
  ${field({ name: 'agent_type', label: 'Kind of actor', kind: 'select', value: values.agent_type, error: errors.agent_type, options: [{ value: '', label: 'Any' }, { value: 'staff', label: 'Staff user' }, { value: 'client', label: 'SMART client' }, { value: 'anonymous', label: 'Anonymous' }, { value: 'system', label: 'System job' }] })}
  ${field({ name: 'subtype', label: 'Action', value: values.subtype, list: 'audit-actions', error: errors.subtype, hint: 'e.g. read, update, export-kickoff, console:export-start' })}
  <datalist id="audit-actions">${actions.map((a) => html`<option value="${a}"></option>`)}</datalist>
  ${field({ name: 'entity', label: 'Resource', value: values.entity, error: errors.entity, hint: 'Type/id (e.g. Practitioner/123) or an id' })}
  ${field({ name: 'entity_type', label: 'Resource type', value: values.entity_type, error: errors.entity_type })}
  ${field({ name: 'outcome', label: 'Outcome', kind: 'select', value: values.outcome, error: errors.outcome, options: [{ value: '', label: 'Any' }, ...Object.entries(OUTCOMES).slice(0, 3).map(([k, v]) => ({ value: k, label: v }))] })}
  <div><button type="submit">Filter</button> <a href="${base}/audit">Clear filters</a></div>
</form>
${hasErrors ? html`<div class="warning" role="alert"><p><strong>The filters were refused.</strong>${Object.keys(errors).length ? ' See the messages next to the fields.' : ''}</p>${formErrors.length ? html`<ul>${formErrors.map((e) => html`<li>${e}</li>`)}</ul>` : ''}</div>` : ''}
<section aria-labelledby="rows-h">
<h2 id="rows-h">Rows${cursor ? ' (continued)' : ''}</h2>
${rows.length === 0 ? html`<p>No audit rows match.</p>` : html`<div class="table-scroll" role="region" aria-labelledby="rows-h" tabindex="0"><table class="audit">
  <caption>${rows.length} audit rows, newest first${next !== undefined ? `; more on the next page` : ''}</caption>
  <thead><tr><th scope="col">Row</th><th scope="col">Time (UTC)</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Outcome</th><th scope="col">Request</th></tr></thead>
  <tbody>${rows.map((row) => {
    const r = row.record;
    const resource = r.resourceIds?.length ? r.resourceIds.map((id) => (r.resourceType && !id.includes('/') ? `${r.resourceType}/${id}` : id)).join(', ') : r.resourceType ?? '—';
    return html`<tr>
    <th scope="row">${row.seq}</th>
    <td>${utc(r.recordedAt)}</td>
    <td>${r.actorId ?? '—'} <span class="muted">(${r.actorKind}${r.actorRoles?.length ? `: ${r.actorRoles.join(', ')}` : ''})</span></td>
    <td>${r.action} <span class="muted">(${FHIR_ACTIONS[fhirAction(r.action)]})</span></td>
    <td>${resource}${r.resultCount !== null ? html` <span class="muted">(${r.resultCount} results)</span>` : ''}</td>
    <td>${OUTCOMES[r.outcome] ?? r.outcome} <span class="muted">(HTTP ${r.status})</span></td>
    <td><span class="muted">${r.method ?? ''}</span> <code>${r.requestId}</code></td>
  </tr>`;
  })}</tbody>
</table></div>`}
<nav class="pager" aria-label="Audit pages">
  ${cursor ? html`<a href="${href([])}">First page</a>` : ''}
  ${next !== undefined ? html`<a href="${href([['_cursor', encodeAuditCursor(next)]])}" rel="next">Next page</a>` : ''}
</nav>
</section>`));
  });
}
