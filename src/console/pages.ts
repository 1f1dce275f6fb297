/**
 * Page templates of the staff console's directory: the sign-in landing page, the home page, directory search and the
 * detail view (the create/edit form, delete confirmation, history and diff are in directory/templates.ts). Pure
 * functions of their data; the shared frame is in layout.ts.
 */
import { html, type Html } from './html.ts';
import { consoleBase, layout, type LayoutOpts } from './layout.ts';
import { sectionsFor } from './sections.ts';

export function landingPage(tenant: string, opts: { configured: boolean; sessionsEnabled: boolean; signedOut?: boolean; ended?: boolean }): string {
  const base = consoleBase(tenant);
  const login = `/t/${tenant}/auth/saml/login?returnTo=${encodeURIComponent(base + '/')}`;
  const ready = opts.configured && opts.sessionsEnabled;
  return layout({ tenant, title: 'Sign in' }, html`
<h1>Sign in to the staff console</h1>
${opts.signedOut ? html`<p class="notice" role="status">You have signed out. Your session on the server has ended.</p>` : ''}
${opts.ended ? html`<p class="notice" role="status">Your session has expired or ended. Sign in again to continue.</p>` : ''}
<p>Staff of this health plan sign in with their organisation's single sign-on (SAML). The console never asks for or sees your password: you enter it at your organisation's identity provider, which sends you back here.</p>
${ready
    ? html`<p><a class="button" href="${login}">Sign in with single sign-on</a></p>`
    : html`<h2>Sign-in is not available</h2>
<p class="warning">${opts.sessionsEnabled
      ? html`Single sign-on is not configured for tenant <strong>${tenant}</strong>. A tenant administrator configures the identity provider with <code>npm run saml -- configure</code> or <code>PUT /t/${tenant}/admin/saml</code>.`
      : 'Staff sign-in is not enabled on this server.'}</p>`}
<h2>What you can do here</h2>
<ul>
  <li>Search and browse the provider directory: practitioners, their roles, locations, organizations, networks and plans.</li>
  <li>Follow references from a record to the records it names.</li>
  <li>With an editing role: create, edit and delete records, with the server's validation against the Plan-Net profiles; see each record's history and what changed between versions.</li>
</ul>
`);
}

export function homePage(o: LayoutOpts): string {
  const base = consoleBase(o.tenant);
  return layout({ ...o, current: 'home' }, html`
<h1>Staff console</h1>
<h2>Directory</h2>
<p>Choose a kind of record to search and browse.</p>
<ul>
  ${(o.types ?? []).map((t) => html`<li><a href="${base}/directory/${t}">${t}</a></li>`)}
</ul>
${o.session && sectionsFor(o.session.roles).length ? html`<h2>Your other sections</h2>
<ul>
  ${sectionsFor(o.session.roles).map((x) => html`<li><a href="${base}${x.path}">${x.label}</a></li>`)}
</ul>` : ''}
`);
}

export interface FilterField { name: string; label: string; value: string; kind: 'text' | 'select'; options?: { value: string; label: string }[]; hint?: string }
export interface ResultRow { href: string; label: string; cells: string[] }

export function searchPage(o: LayoutOpts & { type: string; filters: FilterField[]; columns: string[]; rows: ResultRow[]; total?: number; nextHref?: string; firstHref?: string; error?: string; notes: string[]; createLinks?: { href: string; label: string }[]; deleted?: { id: string; historyHref: string } }): string {
  const base = consoleBase(o.tenant);
  return layout({ ...o, current: o.type }, html`
<h1>${o.type}</h1>
${o.deleted ? html`<p class="saved" role="status">Deleted ${o.type} ${o.deleted.id}. Its versions stay in <a href="${o.deleted.historyHref}">its history</a>.</p>` : ''}
${o.createLinks?.length ? html`<p class="actions">${o.createLinks.map((l) => html`<a class="button" href="${l.href}">${l.label}</a> `)}</p>` : ''}
<form class="filters" role="search" method="get" action="${base}/directory/${o.type}" aria-label="Search ${o.type}">
  ${o.filters.map((f) => html`<div>
    <label for="f-${f.name}">${f.label}</label>
    ${f.kind === 'select'
      ? html`<select id="f-${f.name}" name="${f.name}"${f.hint ? html` aria-describedby="h-${f.name}"` : ''}><option value="">Any</option>${(f.options ?? []).map((op) => html`<option value="${op.value}"${op.value === f.value ? html` selected` : ''}>${op.label}</option>`)}</select>`
      : html`<input id="f-${f.name}" name="${f.name}" type="text" value="${f.value}"${f.hint ? html` aria-describedby="h-${f.name}"` : ''}>`}
    ${f.hint ? html`<small id="h-${f.name}">${f.hint}</small>` : ''}
  </div>`)}
  <div><button type="submit">Search</button></div>
</form>
${o.notes.map((n) => html`<p class="notice">${n}</p>`)}
${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ''}
<section aria-labelledby="results-h">
<h2 id="results-h">Results${o.total !== undefined ? html` (${o.total} in all)` : ''}</h2>
${o.rows.length === 0 ? html`<p>No ${o.type} records match.</p>` : html`<table>
  <caption>${o.type} records, ${o.rows.length} on this page</caption>
  <thead><tr><th scope="col">Name</th>${o.columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
  <tbody>
  ${o.rows.map((r) => html`<tr><th scope="row"><a href="${r.href}">${r.label}</a></th>${r.cells.map((c) => html`<td>${c}</td>`)}</tr>`)}
  </tbody>
</table>`}
<nav class="pager" aria-label="Result pages">
  ${o.firstHref ? html`<a href="${o.firstHref}">First page</a>` : ''}
  ${o.nextHref ? html`<a href="${o.nextHref}" rel="next">Next page</a>` : ''}
</nav>
</section>
`);
}

export interface RefRow { href?: string; label: string; type: string; path: string }
export interface RelatedTable { title: string; columns: string[]; rows: ResultRow[] }

export function detailPage(o: LayoutOpts & { type: string; id: string; label: string; fields: [string, string][]; refs: RefRow[]; related: RelatedTable[]; versionId?: string; lastUpdated?: string; editHref?: string; deleteHref?: string; historyHref?: string; saved?: string; created?: boolean }): string {
  const base = consoleBase(o.tenant);
  return layout({ ...o, current: o.type }, html`
<p><a href="${base}/directory/${o.type}">Back to ${o.type} search</a></p>
<h1>${o.label}</h1>
${o.saved ? html`<p class="saved" role="status">Saved: this is version ${o.saved}.</p>` : ''}
${o.created ? html`<p class="saved" role="status">Created: this is version 1.</p>` : ''}
<p class="actions">${o.editHref ? html`<a class="button" href="${o.editHref}">Edit</a> ` : ''}${o.historyHref ? html`<a href="${o.historyHref}">History</a> ` : ''}${o.deleteHref ? html`<a href="${o.deleteHref}">Delete</a>` : ''}</p>
<dl class="fields">
  <dt>Type</dt><dd>${o.type}</dd>
  <dt>Id</dt><dd>${o.id}</dd>
  ${o.versionId ? html`<dt>Version</dt><dd>${o.versionId}</dd>` : ''}
  ${o.lastUpdated ? html`<dt>Last updated</dt><dd>${o.lastUpdated}</dd>` : ''}
  ${o.fields.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}
</dl>
${o.related.map((t, i) => html`<section aria-labelledby="rel-${i}">
<h2 id="rel-${i}">${t.title}</h2>
${t.rows.length === 0 ? html`<p>None.</p>` : html`<table>
  <caption>${t.title}</caption>
  <thead><tr><th scope="col">Record</th>${t.columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
  <tbody>${t.rows.map((r) => html`<tr><th scope="row"><a href="${r.href}">${r.label}</a></th>${r.cells.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody>
</table>`}
</section>`)}
<section aria-labelledby="refs-h">
<h2 id="refs-h">References from this record</h2>
${o.refs.length === 0 ? html`<p>This record names no other records.</p>` : html`<table>
  <caption>Records this ${o.type} refers to</caption>
  <thead><tr><th scope="col">Element</th><th scope="col">Type</th><th scope="col">Record</th></tr></thead>
  <tbody>${o.refs.map((r) => html`<tr><td>${r.path}</td><td>${r.type}</td><td>${r.href ? html`<a href="${r.href}">${r.label}</a>` : r.label}</td></tr>`)}</tbody>
</table>`}
</section>
`);
}
