/**
 * Form pieces shared by the operations and admin pages: a labelled control with its hint and its error tied to it
 * (aria-describedby, aria-invalid), a checkbox group in a fieldset, the CSRF field, form-level error summaries, the
 * body of a posted form as strings, and the mapping of a FhirError's issue expression to a form field.
 */
import { html, type Html } from '../html.ts';
import type { SessionView } from '../layout.ts';
import { FhirError } from '../../fhir/outcome/errors.ts';

export interface Field {
  name: string;
  label: string;
  value?: string;
  hint?: string | Html;
  error?: string;
  kind?: 'text' | 'textarea' | 'select' | 'date' | 'url';
  options?: { value: string; label: string }[];
  /** id of a datalist offering suggestions */
  list?: string;
  rows?: number;
  required?: boolean;
}

const describedBy = (f: Field) => [f.hint ? `h-${f.name}` : '', f.error ? `err-${f.name}` : ''].filter(Boolean).join(' ');

export function field(f: Field): Html {
  const id = `f-${f.name}`;
  const d = describedBy(f);
  const attrs = html`id="${id}" name="${f.name}"${d ? html` aria-describedby="${d}"` : ''}${f.error ? html` aria-invalid="true"` : ''}${f.required ? html` required` : ''}`;
  const control = f.kind === 'textarea'
    ? html`<textarea ${attrs} rows="${f.rows ?? 6}" spellcheck="false">${f.value ?? ''}</textarea>`
    : f.kind === 'select'
      ? html`<select ${attrs}>${(f.options ?? []).map((o) => html`<option value="${o.value}"${o.value === (f.value ?? '') ? html` selected` : ''}>${o.label}</option>`)}</select>`
      : html`<input ${attrs} type="${f.kind === 'date' ? 'date' : f.kind === 'url' ? 'url' : 'text'}" value="${f.value ?? ''}"${f.list ? html` list="${f.list}"` : ''}>`;
  return html`<div class="field">
  <label for="${id}">${f.label}${f.required ? html` <span class="req">(required)</span>` : ''}</label>
  ${f.hint ? html`<small id="h-${f.name}">${f.hint}</small>` : ''}
  ${control}
  ${f.error ? html`<p class="error" id="err-${f.name}"><span class="error-tag">Error:</span> ${f.error}</p>` : ''}
</div>`;
}

/** Checkboxes in a fieldset; the group's error is tied to the fieldset. */
export function checkboxes(name: string, legend: string, options: { value: string; label: string }[], checked: Set<string>, opts: { hint?: string; error?: string } = {}): Html {
  const d = [opts.hint ? `h-${name}` : '', opts.error ? `err-${name}` : ''].filter(Boolean).join(' ');
  return html`<fieldset class="checks" id="f-${name}"${d ? html` aria-describedby="${d}"` : ''}>
  <legend>${legend}</legend>
  ${opts.hint ? html`<small id="h-${name}">${opts.hint}</small>` : ''}
  ${opts.error ? html`<p class="error" id="err-${name}"><span class="error-tag">Error:</span> ${opts.error}</p>` : ''}
  <ul>${options.map((o, i) => html`<li><input type="checkbox" id="f-${name}-${i}" name="${name}" value="${o.value}"${checked.has(o.value) ? html` checked` : ''}${opts.error ? html` aria-invalid="true"` : ''}> <label for="f-${name}-${i}">${o.label}</label></li>`)}</ul>
</fieldset>`;
}

export const csrf = (s: SessionView) => html`<input type="hidden" name="_csrf" value="${s.csrfToken}">`;

/** "Nothing was saved" with the errors that belong to no field. */
export function errorSummary(errors: Record<string, string>, formErrors: string[], what = 'Nothing was saved.'): Html {
  if (!formErrors.length && !Object.keys(errors).length) return html``;
  return html`<div class="warning" role="alert"><p><strong>${what}</strong>${Object.keys(errors).length ? ' See the messages next to the fields.' : ''}</p>
${formErrors.length ? html`<ul>${formErrors.map((e) => html`<li>${e}</li>`)}</ul>` : ''}</div>`;
}

/** The posted form's fields: strings (the last of repeated names) and, for repeated names, every value. */
export function formBody(body: unknown): { get(name: string, max?: number): string; all(name: string): string[] } {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const values = (name: string): string[] => {
    const v = Object.hasOwn(b, name) ? b[name] : undefined;
    return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
  };
  return {
    get: (name, max = 2000) => (values(name).at(-1) ?? '').slice(0, max),
    all: (name) => values(name).map((x) => x.slice(0, 200)),
  };
}

/** A 4xx FhirError's messages, each put on the field its issue expression names (per `fields`), else on the form. */
export function errorsByField(err: FhirError, fields: Record<string, string>): { errors: Record<string, string>; formErrors: string[] } {
  const errors: Record<string, string> = {};
  const formErrors: string[] = [];
  for (const i of err.issues) {
    if (i.severity !== 'error' && i.severity !== 'fatal') continue;
    const text = i.diagnostics ?? i.details?.text ?? err.message;
    const f = fields[i.expression?.[0] ?? ''];
    if (f && !errors[f]) errors[f] = text; else formErrors.push(text);
  }
  if (!Object.keys(errors).length && !formErrors.length) formErrors.push(err.message);
  return { errors, formErrors };
}

