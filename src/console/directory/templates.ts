/**
 * Templates of the directory's write and history pages: the profile-generated create/edit form, the delete
 * confirmation, the version list and the diff between two versions. Pure functions of their data; the frame is
 * layout.ts. Every control has a label; a field's error and hint are tied to it with aria-describedby and the error
 * marks it aria-invalid; changes in a diff are named in text and by a symbol, never by colour alone.
 */
import { html, type Html } from '../html.ts';
import { consoleBase, layout, type LayoutOpts } from '../layout.ts';
import type { CodeOption, Control, ControlGroup } from './profile-form.ts';
import type { DiffRow } from './diff.ts';

export const controlId = (name: string) => name.replace(/[^A-Za-z0-9_-]/g, '-');

export interface FormPageOpts extends LayoutOpts {
  type: string;
  mode: 'create' | 'edit';
  id?: string;
  /** What the record is called (edit) or the profile title (create). */
  label: string;
  profile: string;
  profileTitle: string;
  version?: string;
  groups: ControlGroup[];
  values: Record<string, string>;
  errors: Record<string, string>;
  formErrors: string[];
  datalists: { id: string; options: CodeOption[] }[];
  notCovered: string[];
  conflict?: boolean;
}

function control(c: Control, value: string, error: string | undefined): Html {
  const id = controlId(c.name);
  const described = [error ? `err-${id}` : '', c.hint ? `h-${id}` : ''].filter(Boolean).join(' ');
  const aria = html`${error ? html` aria-invalid="true"` : ''}${described ? html` aria-describedby="${described}"` : ''}`;
  const input = c.kind === 'select'
    ? html`<select id="e-${id}" name="${c.name}"${aria}>${(c.options ?? []).map((o) => html`<option value="${o.value}"${o.value === value ? html` selected` : ''}>${o.label}</option>`)}${value && !(c.options ?? []).some((o) => o.value === value) ? html`<option value="${value}" selected>${value} (not in the value set)</option>` : ''}</select>`
    : html`<input id="e-${id}" name="${c.name}" type="text" value="${value}"${c.kind === 'list' && c.listId ? html` list="${c.listId}"` : ''}${aria}>`;
  return html`<div class="field">
    <label for="e-${id}">${c.label}</label>
    ${input}
    ${c.hint ? html`<small class="hint" id="h-${id}">${c.hint}</small>` : ''}
    ${error ? html`<p class="error" id="err-${id}">${error}</p>` : ''}
  </div>`;
}

function group(g: ControlGroup, o: FormPageOpts): Html {
  const single = !g.repeats && g.rows.length === 1 && g.rows[0]!.length === 1;
  if (single) {
    const c = g.rows[0]![0]!;
    return control({ ...c, label: `${c.label}${g.required ? ' (required)' : ''}`, hint: c.hint ?? g.hint }, o.values[c.name] ?? '', o.errors[c.name]);
  }
  return html`<fieldset class="group">
  <legend>${g.legend}${g.required ? ' (required)' : ''}</legend>
  ${g.hint ? html`<p class="hint">${g.hint}</p>` : ''}
  ${g.rows.map((row) => html`<div class="entry">${row.map((c) => control(c, o.values[c.name] ?? '', o.errors[c.name]))}</div>`)}
</fieldset>`;
}

export function formPage(o: FormPageOpts): string {
  const base = consoleBase(o.tenant);
  const recordUrl = o.id ? `${base}/directory/${o.type}/${encodeURIComponent(o.id)}` : undefined;
  const action = o.mode === 'edit' ? `${recordUrl}/edit` : `${base}/directory/${o.type}/_new`;
  const fieldErrors = Object.entries(o.errors);
  const hasErrors = o.formErrors.length > 0 || fieldErrors.length > 0;
  const heading = o.mode === 'edit' ? `Edit ${o.label}` : `New ${o.profileTitle}`;
  return layout({ ...o, current: o.type }, html`
<p><a href="${recordUrl ?? `${base}/directory/${o.type}`}">Back to ${o.mode === 'edit' ? o.label : `${o.type} search`}</a></p>
<h1>${heading}</h1>
${o.conflict ? html`<div class="warning" role="alert"><p><strong>Someone else changed this record</strong> after you opened it (it is no longer version ${o.version}). Nothing was saved.</p>
<p><a href="${action}">Reload the current version</a> and make your change again.</p></div>` : ''}
${hasErrors && !o.conflict ? html`<div class="warning" role="alert"><p><strong>Nothing was saved.</strong> The server's validation refused the ${o.mode === 'edit' ? 'change' : 'record'}; see the messages next to the fields.</p>
<ul>${fieldErrors.map(([name, msg]) => html`<li><a href="#e-${controlId(name)}">${msg}</a></li>`)}${o.formErrors.map((e) => html`<li>${e}</li>`)}</ul></div>` : ''}
<p>The fields come from the Plan-Net profile <code>${o.profile}</code>. The server checks the record against the profile when you save; its messages appear next to the fields.${o.notCovered.length ? html` Not edited here (kept as stored; use the FHIR API): ${o.notCovered.join(', ')}.` : ''}</p>
<form method="post" action="${action}" novalidate>
  <input type="hidden" name="_csrf" value="${o.session?.csrfToken ?? ''}">
  ${o.version ? html`<input type="hidden" name="version" value="${o.version}">` : ''}
  <input type="hidden" name="profile" value="${o.profile}">
  ${o.groups.map((g) => group(g, o))}
  <p><button type="submit">${o.mode === 'edit' ? 'Save' : `Create ${o.type}`}</button></p>
</form>
${o.datalists.map((d) => html`<datalist id="${d.id}">${d.options.map((op) => html`<option value="${op.code}">${op.display ?? op.code}</option>`)}</datalist>`)}
`);
}

export function deletePage(o: LayoutOpts & { type: string; id: string; label: string; version: string; fields: [string, string][]; referrers: { label: string; href: string; type: string }[]; conflict?: boolean }): string {
  const base = consoleBase(o.tenant);
  const url = `${base}/directory/${o.type}/${encodeURIComponent(o.id)}`;
  return layout({ ...o, current: o.type }, html`
<p><a href="${url}">Back to ${o.label}</a></p>
<h1>Delete ${o.label}?</h1>
${o.conflict ? html`<div class="warning" role="alert"><p><strong>Someone else changed this record</strong> after you opened this page (it is no longer version ${o.version}). Nothing was deleted.</p>
<p><a href="${url}/delete">Reload</a> to see the current version before deleting it.</p></div>` : ''}
<p>Deleting removes ${o.type} <strong>${o.id}</strong> from the directory: searches and reads stop returning it (reads answer 410 Gone). Its versions stay in the history.</p>
<dl class="fields">
  <dt>Type</dt><dd>${o.type}</dd>
  <dt>Id</dt><dd>${o.id}</dd>
  <dt>Version</dt><dd>${o.version}</dd>
  ${o.fields.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}
</dl>
<section aria-labelledby="referrers-h">
<h2 id="referrers-h">Records that refer to it</h2>
${o.referrers.length === 0 ? html`<p>No record found that refers to it.</p>` : html`<p class="warning">${o.referrers.length} record(s) refer to it; their references will no longer resolve.</p>
<ul>${o.referrers.map((r) => html`<li>${r.type}: <a href="${r.href}">${r.label}</a></li>`)}</ul>`}
</section>
<form method="post" action="${url}/delete">
  <input type="hidden" name="_csrf" value="${o.session?.csrfToken ?? ''}">
  <input type="hidden" name="version" value="${o.version}">
  <p class="actions"><button type="submit" class="danger">Delete ${o.type} ${o.id}</button> <a href="${url}">Cancel, keep it</a></p>
</form>
`);
}

export interface VersionRow { version: string; when: string; change: string; deleted: boolean }

export function historyPage(o: LayoutOpts & { type: string; id: string; label: string; versions: VersionRow[]; deleted: boolean; more: boolean }): string {
  const base = consoleBase(o.tenant);
  const url = `${base}/directory/${o.type}/${encodeURIComponent(o.id)}`;
  const versions = o.versions.filter((v) => !v.deleted);
  const newest = versions[0]?.version, older = versions[1]?.version;
  return layout({ ...o, current: o.type }, html`
<p>${o.deleted ? html`<a href="${base}/directory/${o.type}">Back to ${o.type} search</a>` : html`<a href="${url}">Back to ${o.label}</a>`}</p>
<h1>History of ${o.label}</h1>
${o.deleted ? html`<p class="notice">This record has been deleted; its earlier versions are listed below.</p>` : ''}
<table>
  <caption>Versions of ${o.type} ${o.id}, newest first${o.more ? ' (the 100 newest)' : ''}</caption>
  <thead><tr><th scope="col">Version</th><th scope="col">Saved (UTC)</th><th scope="col">Change</th><th scope="col">Compare</th></tr></thead>
  <tbody>
  ${o.versions.map((v, i) => {
    const prev = o.versions.slice(i + 1).find((x) => !x.deleted);
    return html`<tr><th scope="row">${v.version}</th><td>${v.when}</td><td>${v.change}</td><td>${!v.deleted && prev ? html`<a href="${url}/diff?from=${prev.version}&amp;to=${v.version}">Changes from version ${prev.version} to ${v.version}</a>` : '—'}</td></tr>`;
  })}
  </tbody>
</table>
${versions.length >= 2 ? html`<form class="filters" method="get" action="${url}/diff" aria-label="Compare two versions">
  <div><label for="from">From version</label><select id="from" name="from">${versions.map((v) => html`<option value="${v.version}"${v.version === older ? html` selected` : ''}>${v.version}</option>`)}</select></div>
  <div><label for="to">To version</label><select id="to" name="to">${versions.map((v) => html`<option value="${v.version}"${v.version === newest ? html` selected` : ''}>${v.version}</option>`)}</select></div>
  <div><button type="submit">Compare</button></div>
</form>` : ''}
`);
}

const SYMBOL: Record<DiffRow['change'], [string, string]> = { added: ['+', 'Added'], removed: ['−', 'Removed'], changed: ['±', 'Changed'] };

export function diffPage(o: LayoutOpts & { type: string; id: string; label: string; from: string; to: string; rows: DiffRow[] }): string {
  const base = consoleBase(o.tenant);
  const url = `${base}/directory/${o.type}/${encodeURIComponent(o.id)}`;
  const count = (c: DiffRow['change']) => o.rows.filter((r) => r.change === c).length;
  return layout({ ...o, current: o.type }, html`
<p><a href="${url}/history">Back to the history of ${o.label}</a></p>
<h1>Changes to ${o.label}: version ${o.from} to version ${o.to}</h1>
<p>${o.rows.length === 0 ? 'The two versions have the same content.' : `${count('added')} element(s) added, ${count('removed')} removed, ${count('changed')} changed.`} Paths are FHIR element paths; list entries are compared by position. Version number and time of saving are not listed.</p>
${o.rows.length ? html`<table class="diff">
  <caption>Elements that differ between version ${o.from} and version ${o.to}</caption>
  <thead><tr><th scope="col">Change</th><th scope="col">Element</th><th scope="col">Version ${o.from}</th><th scope="col">Version ${o.to}</th></tr></thead>
  <tbody>
  ${o.rows.map((r) => html`<tr class="${r.change}"><td><span aria-hidden="true">${SYMBOL[r.change][0]} </span>${SYMBOL[r.change][1]}</td><th scope="row"><code>${r.path}</code></th><td>${r.before ?? html`<span class="none">(none)</span>`}</td><td>${r.after ?? html`<span class="none">(none)</span>`}</td></tr>`)}
  </tbody>
</table>` : ''}
`);
}
