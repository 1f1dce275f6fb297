/**
 * Edit and create forms generated from the Plan-Net profiles: the StructureDefinition snapshots the JSON Schemas in
 * profiles/ are generated from (profiles/source/plan-net/), their flattened 1.2.0 value sets, and the FHIR R4 base
 * schema's code enums. Nothing here is written per resource type.
 *
 * What a form covers (the "common elements"): every top-level element the profile marks must-support or requires
 * (min ≥ 1), when its type is one of string, markdown, url, uri, boolean, code, Coding, CodeableConcept,
 * ContactPoint (system, value, use), Address (two lines, city, state, ZIP), Identifier (system, value), HumanName
 * (prefix, given, family, suffix), Reference (target type + id) or Period (start, end); and the Plan-Net
 * extensions newpatients (acceptingPatients), network-reference, location-reference and org-description. Codes of a
 * value set the profile names are options (a select up to 50 codes, a text field with a list of suggestions beyond);
 * required-binding `code` elements take the base schema's enum. Not covered (kept exactly as stored, listed on the
 * form): BackboneElements (availableTime, contact, qualification, hoursOfOperation, position, ...) and the other
 * extensions. Repeating elements show their entries plus one empty row (save to get another).
 *
 * Whether a value is acceptable is never decided here: the form only maps fields to FHIR JSON and back, and the
 * server's own validation (the same OperationOutcome the API answers) decides; `fieldOfIssue` maps an issue's
 * FHIRPath expression back to the control that produced the value. Entries the user did not change are kept as they
 * were, with everything the form does not show (extensions, periods of a telecom, other codings).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/config.ts';

export type Json = any; // FHIR resources and StructureDefinitions as parsed JSON

export type Datatype = 'string' | 'boolean' | 'code' | 'Coding' | 'CodeableConcept' | 'ContactPoint' | 'Address' | 'Identifier' | 'HumanName' | 'Reference' | 'Period';

export interface CodeOption { system?: string; code: string; display?: string }

export interface ElementSpec {
  /** Element name (`telecom`), or `ext-<name>` for an extension slice. */
  key: string;
  label: string;
  /** The profile's short description. */
  hint?: string;
  datatype: Datatype;
  min: number;
  /** Infinity for `*`: how many entries the form offers. */
  max: number;
  /** Whether the element is a JSON array (the base resource's cardinality, which may exceed the profile's). */
  array: boolean;
  mustSupport: boolean;
  /** Codes from the bound value set (or the base schema's enum). */
  options?: CodeOption[];
  valueSet?: string;
  /** Resource types a Reference may point to. */
  targets?: string[];
  /** For extension slices: the extension url, and which sub-extension (`acceptingPatients`) holds the value, if any. */
  extUrl?: string;
  subExt?: string;
}

export interface FormSpec {
  /** Profile name, e.g. `plannet-Network`. */
  profile: string;
  canonical: string;
  type: string;
  title: string;
  elements: ElementSpec[];
  /** Must-support elements the form does not edit (kept as stored). */
  notCovered: string[];
}

export interface Control {
  /** Form field name, e.g. `telecom[1].value`; an issue's expression maps back to it. */
  name: string;
  label: string;
  kind: 'text' | 'select' | 'list';
  options?: { value: string; label: string }[];
  /** For `list`: the id of the shared datalist of suggestions. */
  listId?: string;
  hint?: string;
}

export interface ControlGroup { key: string; legend: string; hint?: string; required: boolean; rows: Control[][]; repeats: boolean }

const SOURCE_DIR = path.join(PROJECT_ROOT, 'profiles', 'source', 'plan-net');
const PACKAGE_DIR = path.join(SOURCE_DIR, 'v1.1.0-package');
const BASE_SCHEMA = path.join(PROJECT_ROOT, 'profiles', 'fhir-r4-base.schema.json');
const PN_SD = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/';
const SKIP = new Set(['id', 'meta', 'implicitRules', 'language', 'text', 'contained', 'modifierExtension']);
const SUPPORTED: Record<string, Datatype> = {
  string: 'string', markdown: 'string', url: 'string', uri: 'string', boolean: 'boolean', code: 'code', Coding: 'Coding',
  CodeableConcept: 'CodeableConcept', ContactPoint: 'ContactPoint', Address: 'Address', Identifier: 'Identifier', HumanName: 'HumanName',
  Reference: 'Reference', Period: 'Period',
};
/** Extensions the forms edit: url tail → [datatype, sub-extension holding the value, label]. */
const EXTENSIONS: Record<string, [Datatype, string | undefined, string]> = {
  newpatients: ['CodeableConcept', 'acceptingPatients', 'Accepting new patients'],
  'network-reference': ['Reference', undefined, 'Network'],
  'location-reference': ['Reference', undefined, 'Coverage area (locations)'],
  'org-description': ['string', undefined, 'Description'],
};
/** Value sets with more codes than this are a text field with suggestions rather than a select. */
const SELECT_MAX = 50;

let cache: Map<string, FormSpec> | undefined;
let valueSets: Record<string, { codes: CodeOption[] }> | undefined;

const readJson = (f: string): Json => JSON.parse(fs.readFileSync(f, 'utf8'));

function loadValueSets() {
  if (!valueSets) {
    const raw = readJson(path.join(SOURCE_DIR, 'value-sets-1.2.0.json')).valueSets as Record<string, { codes: Json[] }>;
    // absent system/display are null in the file: drop them so they never reach a resource
    valueSets = Object.fromEntries(Object.entries(raw).map(([url, vs]) => [url, { codes: vs.codes.map((c) => ({ ...(c.system ? { system: c.system } : {}), code: c.code, ...(c.display ? { display: c.display } : {}) })) }]));
  }
  return valueSets;
}

/** The codes of a value set, by canonical (version suffix ignored); undefined when the set is not enumerable here. */
export function valueSetCodes(url: string | undefined): CodeOption[] | undefined {
  if (!url) return undefined;
  return loadValueSets()[url.split('|')[0]!]?.codes;
}

const typeOfProfile = (canonical: string): string | undefined => {
  const name = canonical.split('/').pop() ?? '';
  if (name === 'plannet-Network') return 'Organization';
  if (name.startsWith('plannet-')) return name.slice('plannet-'.length);
  if (/^[A-Z][A-Za-z]+$/.test(name)) return name;
  return undefined;
};

const humanize = (s: string) => {
  const w = s.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return w.charAt(0).toUpperCase() + w.slice(1);
};

/** All form specs, keyed by profile name (`plannet-Practitioner`, `plannet-Network`, ...). */
export function formSpecs(): Map<string, FormSpec> {
  if (cache) return cache;
  const base = readJson(BASE_SCHEMA).definitions as Record<string, Json>;
  const extSds = new Map<string, Json>();
  for (const f of fs.readdirSync(PACKAGE_DIR)) {
    if (!f.startsWith('StructureDefinition-') || f.startsWith('StructureDefinition-plannet-')) continue;
    const sd = readJson(path.join(PACKAGE_DIR, f));
    extSds.set(sd.url, sd);
  }
  const out = new Map<string, FormSpec>();
  for (const f of fs.readdirSync(PACKAGE_DIR).filter((x) => x.startsWith('StructureDefinition-plannet-')).sort()) {
    const sd = readJson(path.join(PACKAGE_DIR, f));
    const type: string = sd.type;
    const elements: ElementSpec[] = [];
    const notCovered: string[] = [];
    for (const e of sd.snapshot.element as Json[]) {
      const parts = String(e.path).split('.');
      if (parts.length !== 2) continue;
      const name = parts[1]!;
      if (SKIP.has(name) || e.max === '0') continue;
      if (!e.mustSupport && !(e.min > 0)) continue;
      const max = e.max === '*' ? Infinity : Number(e.max);
      if (name === 'extension') {
        if (!e.sliceName) continue;
        const url: string | undefined = e.type?.[0]?.profile?.[0];
        const tail = url?.split('/').pop() ?? '';
        const known = url?.startsWith(PN_SD) ? EXTENSIONS[tail] : undefined;
        if (!known || !url) { notCovered.push(`extension ${e.sliceName}`); continue; }
        const [datatype, subExt, label] = known;
        const ext = extSds.get(url);
        const valueEl = (ext?.snapshot.element as Json[] | undefined)?.find((x) => x.id === (subExt ? `Extension.extension:${subExt}.value[x]` : 'Extension.value[x]'));
        const vs: string | undefined = valueEl?.binding?.valueSet;
        elements.push({
          key: `ext-${tail}`, label, hint: e.short, datatype, min: e.min ?? 0, max, array: max > 1, mustSupport: !!e.mustSupport, extUrl: url, subExt,
          valueSet: vs, options: valueSetCodes(vs),
          targets: datatype === 'Reference' ? targetsOf(valueEl?.type?.[0]?.targetProfile) : undefined,
        });
        continue;
      }
      if (e.sliceName) continue; // identifier:NPI and the like: the base element covers them
      const code: string | undefined = e.type?.length === 1 ? e.type[0].code : undefined;
      const datatype = code ? SUPPORTED[code] : undefined;
      if (!datatype) { notCovered.push(name); continue; }
      const vs: string | undefined = e.binding?.valueSet;
      let options = valueSetCodes(vs);
      if (!options && datatype === 'code') {
        const en: string[] | undefined = base[type]?.properties?.[name]?.enum ?? base[type]?.properties?.[name]?.items?.enum;
        if (en) options = en.map((c) => ({ code: c }));
      }
      elements.push({
        key: name, label: humanize(name), hint: e.short, datatype, min: e.min ?? 0, max, array: e.base?.max !== '1', mustSupport: !!e.mustSupport, valueSet: vs, options,
        targets: datatype === 'Reference' ? targetsOf(e.type[0].targetProfile) : undefined,
      });
    }
    const profile = String(sd.url).split('/').pop()!;
    out.set(profile, { profile, canonical: sd.url, type, title: sd.title ?? sd.name, elements, notCovered: [...new Set(notCovered)] });
  }
  // sub-field code lists from the base schema
  subOptions.contactSystem = (base.ContactPoint.properties.system.enum as string[]).map((c) => ({ value: c, label: c }));
  subOptions.contactUse = (base.ContactPoint.properties.use.enum as string[]).map((c) => ({ value: c, label: c }));
  cache = out;
  return out;
}

const subOptions: { contactSystem: { value: string; label: string }[]; contactUse: { value: string; label: string }[] } = { contactSystem: [], contactUse: [] };

function targetsOf(profiles: string[] | undefined): string[] {
  const t = (profiles ?? []).map(typeOfProfile).filter((x): x is string => !!x);
  return [...new Set(t.length ? t : ['Organization'])];
}

/** The form spec for a profile canonical or name. */
export function formSpec(profile: string): FormSpec | undefined {
  return formSpecs().get(profile.split('|')[0]!.split('/').pop()!);
}

/** The profiles a new record of a type can be created with (Organization: Organization and Network). */
export function profilesOfType(type: string): FormSpec[] {
  return [...formSpecs().values()].filter((s) => s.type === type);
}

// ---- controls ----

const keyOf = (o: CodeOption) => `${o.system ?? ''}|${o.code}`;
const optionLabel = (o: CodeOption) => (o.display ? `${o.display} (${o.code})` : o.code);
export const listIdOf = (vs: string) => `vs-${vs.split('|')[0]!.split('/').pop()!.replace(/[^A-Za-z0-9_-]/g, '-')}`;

function codeControl(el: ElementSpec, name: string, label: string): Control {
  const opts = el.options;
  if (opts && opts.length <= SELECT_MAX) {
    return { name, label, kind: 'select', options: [{ value: '', label: 'None' }, ...opts.map((o) => ({ value: el.datatype === 'code' ? o.code : keyOf(o), label: optionLabel(o) }))] };
  }
  if (opts && el.valueSet) return { name, label, kind: 'list', listId: listIdOf(el.valueSet), hint: `A code from ${el.valueSet.split('|')[0]!.split('/').pop()}, e.g. ${opts[0]!.code}; or system|code` };
  return { name, label, kind: 'text', hint: el.datatype === 'code' ? undefined : 'system|code, or a code' };
}

function referenceControls(el: ElementSpec, p: string, label: string): Control[] {
  const targets = el.targets ?? ['Organization'];
  return [
    { name: `${p}.type`, label: `${label}: record type`, kind: 'select', options: targets.map((t) => ({ value: t, label: t })) },
    { name: `${p}.id`, label: `${label}: record id`, kind: 'text' },
  ];
}

/** The controls of one entry of an element, named under prefix `p` (`telecom[0]`, or `name` for a 0..1 element). */
function entryControls(el: ElementSpec, p: string, label: string): Control[] {
  switch (el.datatype) {
    case 'string': return [{ name: p, label, kind: 'text' }];
    case 'boolean': return [{ name: p, label, kind: 'select', options: [{ value: '', label: 'Not stated' }, { value: 'true', label: 'Yes' }, { value: 'false', label: 'No' }] }];
    case 'code': case 'Coding': case 'CodeableConcept': return [codeControl(el, p, label)];
    case 'ContactPoint': return [
      { name: `${p}.system`, label: `${label}: kind`, kind: 'select', options: [{ value: '', label: 'Not stated' }, ...subOptions.contactSystem] },
      { name: `${p}.value`, label: `${label}: number or address`, kind: 'text' },
      { name: `${p}.use`, label: `${label}: use`, kind: 'select', options: [{ value: '', label: 'Not stated' }, ...subOptions.contactUse] },
    ];
    case 'Address': return [
      { name: `${p}.line[0]`, label: `${label}: street`, kind: 'text' },
      { name: `${p}.line[1]`, label: `${label}: street, second line`, kind: 'text' },
      { name: `${p}.city`, label: `${label}: city`, kind: 'text' },
      { name: `${p}.state`, label: `${label}: state`, kind: 'text', hint: 'Two-letter code, e.g. CT' },
      { name: `${p}.postalCode`, label: `${label}: ZIP code`, kind: 'text' },
    ];
    case 'Identifier': return [
      { name: `${p}.system`, label: `${label}: system`, kind: 'text', hint: 'e.g. http://hl7.org/fhir/sid/us-npi for an NPI' },
      { name: `${p}.value`, label: `${label}: value`, kind: 'text' },
    ];
    case 'HumanName': return [
      { name: `${p}.prefix`, label: `${label}: prefix`, kind: 'text' },
      { name: `${p}.given`, label: `${label}: given names`, kind: 'text', hint: 'Separated by spaces' },
      { name: `${p}.family`, label: `${label}: family name`, kind: 'text' },
      { name: `${p}.suffix`, label: `${label}: suffix`, kind: 'text', hint: 'e.g. MD; separated by spaces' },
    ];
    case 'Reference': return referenceControls(el, p, label);
    case 'Period': return [
      { name: `${p}.start`, label: `${label}: start`, kind: 'text', hint: 'YYYY-MM-DD' },
      { name: `${p}.end`, label: `${label}: end`, kind: 'text', hint: 'YYYY-MM-DD' },
    ];
  }
}

const repeats = (el: ElementSpec) => el.max > 1;
const prefixOf = (el: ElementSpec, row: number) => (el.array ? `${el.key}[${row}]` : el.key);

/** The groups of controls of a form: one group per element, `rows` entries each (repeating elements). */
export function controlsOf(spec: FormSpec, rowsOf: (el: ElementSpec) => number): ControlGroup[] {
  return spec.elements.map((el) => {
    const n = repeats(el) ? Math.max(1, Math.min(rowsOf(el), 50)) : 1;
    const rows: Control[][] = [];
    for (let i = 0; i < n; i++) rows.push(entryControls(el, prefixOf(el, i), repeats(el) ? `${el.label} ${i + 1}` : el.label));
    return { key: el.key, legend: el.label, hint: el.hint, required: el.min > 0, rows, repeats: repeats(el) };
  });
}

// ---- resource → form values ----

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** The entries of an element in a resource (extension slices: the matching extensions). */
function entriesOf(el: ElementSpec, r: Json): Json[] {
  if (el.extUrl) return arr(r.extension).filter((x) => x?.url === el.extUrl);
  return arr(r[el.key]);
}

function codingOf(el: ElementSpec, v: Json): Json | undefined {
  if (el.datatype === 'Coding') return v;
  const codings: Json[] = arr(v?.coding);
  const inSet = el.options ? codings.find((c) => el.options!.some((o) => o.code === c.code && (!o.system || o.system === c.system))) : undefined;
  return inSet ?? codings[0];
}

function codeValue(el: ElementSpec, c: Json | undefined, control: Control): string {
  if (!c) return '';
  if (el.datatype === 'code') return typeof c === 'string' ? c : '';
  if (control.kind === 'list') {
    const known = el.options?.find((o) => o.code === c.code && (o.system ?? '') === (c.system ?? ''));
    return known ? c.code : `${c.system ?? ''}|${c.code ?? ''}`;
  }
  return `${c.system ?? ''}|${c.code ?? ''}`;
}

const refParts = (ref: Json): [string, string] => {
  const s = typeof ref?.reference === 'string' ? ref.reference : '';
  const m = /^([A-Z][A-Za-z]+)\/([^/]+)$/.exec(s);
  return m ? [m[1]!, m[2]!] : ['', s];
};

/** The value an entry shows, per control name. */
function entryValues(el: ElementSpec, p: string, v: Json, controls: Control[]): Record<string, string> {
  const o: Record<string, string> = {};
  const value = el.extUrl ? (el.subExt ? arr(v?.extension).find((x) => x?.url === el.subExt) : v) : { value: v };
  const inner = el.extUrl ? (el.datatype === 'Reference' ? value?.valueReference : el.datatype === 'string' ? value?.valueString : value?.valueCodeableConcept) : v;
  switch (el.datatype) {
    case 'string': o[p] = typeof inner === 'string' ? inner : ''; break;
    case 'boolean': o[p] = inner === true ? 'true' : inner === false ? 'false' : ''; break;
    case 'code': case 'Coding': case 'CodeableConcept': o[p] = codeValue(el, el.datatype === 'code' ? inner : codingOf(el, inner), controls[0]!); break;
    case 'ContactPoint': o[`${p}.system`] = inner?.system ?? ''; o[`${p}.value`] = inner?.value ?? ''; o[`${p}.use`] = inner?.use ?? ''; break;
    case 'Address': o[`${p}.line[0]`] = inner?.line?.[0] ?? ''; o[`${p}.line[1]`] = inner?.line?.[1] ?? ''; o[`${p}.city`] = inner?.city ?? ''; o[`${p}.state`] = inner?.state ?? ''; o[`${p}.postalCode`] = inner?.postalCode ?? ''; break;
    case 'Identifier': o[`${p}.system`] = inner?.system ?? ''; o[`${p}.value`] = inner?.value ?? ''; break;
    case 'HumanName': o[`${p}.prefix`] = arr(inner?.prefix).join(' '); o[`${p}.given`] = arr(inner?.given).join(' '); o[`${p}.family`] = inner?.family ?? ''; o[`${p}.suffix`] = arr(inner?.suffix).join(' '); break;
    case 'Reference': { const [t, id] = refParts(inner); o[`${p}.type`] = t || (el.targets?.[0] ?? ''); o[`${p}.id`] = id; break; }
    case 'Period': o[`${p}.start`] = inner?.start ?? ''; o[`${p}.end`] = inner?.end ?? ''; break;
  }
  return o;
}

/** What the form shows for a resource: values per control name and the number of rows per repeating element. */
export function formValues(spec: FormSpec, r: Json, extraRow = true): { values: Record<string, string>; rows: Record<string, number> } {
  const values: Record<string, string> = {};
  const rows: Record<string, number> = {};
  for (const el of spec.elements) {
    const entries = entriesOf(el, r);
    const n = repeats(el) ? Math.min(entries.length + (extraRow && entries.length < el.max ? 1 : 0), 50) : 1;
    rows[el.key] = Math.max(1, n);
    for (let i = 0; i < rows[el.key]!; i++) {
      const p = prefixOf(el, i);
      Object.assign(values, entryValues(el, p, entries[i], entryControls(el, p, '')));
    }
  }
  return { values, rows };
}

/** Rows per repeating element in a submitted form (the highest row index present + 1). */
export function submittedRows(spec: FormSpec, values: Record<string, string>): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const el of spec.elements) {
    let n = 1;
    const re = new RegExp(`^${el.key.replace(/[-]/g, '\\-')}\\[(\\d+)\\]`);
    for (const k of Object.keys(values)) { const m = re.exec(k); if (m) n = Math.max(n, Number(m[1]) + 1); }
    rows[el.key] = Math.min(n, 50);
  }
  return rows;
}

// ---- form values → resource ----

function parseCode(el: ElementSpec, s: string): Json | undefined {
  if (!s) return undefined;
  if (el.datatype === 'code') return s;
  let system: string | undefined, code: string;
  const bar = s.indexOf('|');
  if (bar >= 0) { system = s.slice(0, bar) || undefined; code = s.slice(bar + 1); } else {
    code = s;
    system = el.options?.find((o) => o.code === s)?.system;
  }
  const display = el.options?.find((o) => o.code === code && (o.system ?? undefined) === system)?.display;
  const coding: Json = { ...(system ? { system } : {}), code, ...(display ? { display } : {}) };
  return el.datatype === 'Coding' ? coding : { coding: [coding] };
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);
const setOrDelete = (o: Json, k: string, v: unknown) => { if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) delete o[k]; else o[k] = v; };

/** Builds one entry from its controls' values, on top of the stored entry (keeping what the form does not show). */
function buildEntry(el: ElementSpec, p: string, v: Record<string, string>, orig: Json): Json | undefined {
  const g = (k: string) => (v[k] ?? '').trim();
  let inner: Json;
  const origInner = el.extUrl
    ? (el.subExt ? arr(orig?.extension).find((x) => x?.url === el.subExt) : orig)?.[el.datatype === 'Reference' ? 'valueReference' : el.datatype === 'string' ? 'valueString' : 'valueCodeableConcept']
    : orig;
  switch (el.datatype) {
    case 'string': inner = g(p) || undefined; break;
    case 'boolean': inner = g(p) === 'true' ? true : g(p) === 'false' ? false : undefined; break;
    case 'code': case 'Coding': case 'CodeableConcept': inner = parseCode(el, g(p)); break;
    case 'ContactPoint': inner = { ...(origInner ?? {}) }; setOrDelete(inner, 'system', g(`${p}.system`)); setOrDelete(inner, 'value', g(`${p}.value`)); setOrDelete(inner, 'use', g(`${p}.use`)); break;
    case 'Address': {
      inner = { ...(origInner ?? {}) };
      delete inner.text;
      const lines = [g(`${p}.line[0]`), g(`${p}.line[1]`)];
      setOrDelete(inner, 'line', [...lines.filter(Boolean), ...arr(origInner?.line).slice(2)]);
      for (const k of ['city', 'state', 'postalCode']) setOrDelete(inner, k, g(`${p}.${k}`));
      break;
    }
    case 'Identifier': inner = { ...(origInner ?? {}) }; setOrDelete(inner, 'system', g(`${p}.system`)); setOrDelete(inner, 'value', g(`${p}.value`)); break;
    case 'HumanName': {
      inner = { ...(origInner ?? {}) };
      delete inner.text;
      setOrDelete(inner, 'prefix', words(g(`${p}.prefix`))); setOrDelete(inner, 'given', words(g(`${p}.given`)));
      setOrDelete(inner, 'family', g(`${p}.family`)); setOrDelete(inner, 'suffix', words(g(`${p}.suffix`)));
      break;
    }
    case 'Reference': {
      const id = g(`${p}.id`);
      const t = g(`${p}.type`) || el.targets?.[0] || '';
      inner = id ? { reference: id.includes('/') ? id : `${t}/${id}` } : undefined;
      if (inner && origInner?.reference === inner.reference) inner = origInner; // keeps display and identifier
      break;
    }
    case 'Period': inner = { ...(origInner ?? {}) }; setOrDelete(inner, 'start', g(`${p}.start`)); setOrDelete(inner, 'end', g(`${p}.end`)); break;
  }
  const empty = inner === undefined || (typeof inner === 'object' && !Array.isArray(inner) && Object.keys(inner).filter((k) => k !== 'extension').length === 0 && !inner.extension);
  if (empty) return undefined;
  if (!el.extUrl) return inner;
  const key = el.datatype === 'Reference' ? 'valueReference' : el.datatype === 'string' ? 'valueString' : 'valueCodeableConcept';
  if (!el.subExt) return { ...(orig ?? {}), url: el.extUrl, [key]: inner };
  const subs: Json[] = arr(orig?.extension).filter((x) => x?.url !== el.subExt);
  return { ...(orig ?? {}), url: el.extUrl, extension: [{ url: el.subExt, [key]: inner }, ...subs] };
}

export interface Applied {
  resource: Json;
  /** Per element key: the form row each entry of the built resource came from. */
  rowMap: Record<string, number[]>;
  /** For `extension[i]` of the built resource: [element key, form row], when the form produced it. */
  extMap: ([string, number] | undefined)[];
}

/**
 * Applies the submitted values to a copy of the stored resource. Only elements whose controls were submitted change;
 * an entry whose values equal what the form showed for it is kept exactly as stored; an entry emptied is removed.
 */
export function applyForm(spec: FormSpec, stored: Json, values: Record<string, string>): Applied {
  const r: Json = structuredClone(stored);
  const rowMap: Record<string, number[]> = {};
  const extBuilt = new Map<string, { entry: Json; row: number }[]>();
  const shown = formValues(spec, stored, false).values;
  for (const el of spec.elements) {
    const names = Object.keys(values).filter((k) => k === el.key || k.startsWith(`${el.key}.`) || k.startsWith(`${el.key}[`));
    const origEntries = entriesOf(el, stored);
    if (names.length === 0) { rowMap[el.key] = origEntries.map((_, i) => i); if (el.extUrl) extBuilt.set(el.key, origEntries.map((entry, row) => ({ entry, row }))); continue; }
    const n = repeats(el) ? submittedRows(spec, values)[el.key]! : 1;
    const built: { entry: Json; row: number }[] = [];
    for (let i = 0; i < Math.max(n, repeats(el) ? 0 : 1); i++) {
      const p = prefixOf(el, i);
      const controls = entryControls(el, p, '');
      const mine = Object.fromEntries(controls.map((c) => [c.name, values[c.name] ?? (shown[c.name] ?? '')]));
      const unchanged = i < origEntries.length && controls.every((c) => (mine[c.name] ?? '').trim() === (entryValues(el, p, origEntries[i], controls)[c.name] ?? '').trim());
      const entry = unchanged ? origEntries[i] : buildEntry(el, p, mine, origEntries[i]);
      if (entry !== undefined) built.push({ entry, row: i });
    }
    // entries beyond the submitted rows (the form showed at most 50) are kept
    for (let i = n; i < origEntries.length; i++) if (el.array) built.push({ entry: origEntries[i], row: -1 });
    rowMap[el.key] = built.map((b) => b.row);
    if (el.extUrl) { extBuilt.set(el.key, built); continue; }
    if (el.array) setOrDelete(r, el.key, built.map((b) => b.entry));
    else setOrDelete(r, el.key, built[0]?.entry);
  }
  // extensions: in their stored order, each edited slice's entries taking the places of the stored ones; new ones last
  const extMap: ([string, number] | undefined)[] = [];
  const byUrl = new Map(spec.elements.filter((e) => e.extUrl).map((e) => [e.extUrl!, e.key]));
  const queues = new Map([...extBuilt].map(([k, v]) => [k, [...v]]));
  const ext: Json[] = [];
  const emit = (key: string, b: { entry: Json; row: number }) => { ext.push(b.entry); extMap.push(b.row >= 0 ? [key, b.row] : undefined); };
  for (const x of arr(stored.extension)) {
    const key = byUrl.get(x?.url);
    if (!key) { ext.push(x); extMap.push(undefined); continue; }
    const b = queues.get(key)?.shift();
    if (b) emit(key, b);
  }
  for (const [key, rest] of queues) for (const b of rest) emit(key, b);
  setOrDelete(r, 'extension', ext);
  return { resource: r, rowMap, extMap };
}

// ---- issue expression → control ----

/**
 * The control an OperationOutcome issue's expression (`Organization.telecom[0].value`) belongs to, in a form built for
 * `applied`: the row the entry came from, then the control whose name the rest of the path starts with (else the
 * entry's first control). Undefined for issues about elements the form does not show.
 */
export function fieldOfIssue(spec: FormSpec, applied: Applied, expression: string): string | undefined {
  const rest = expression.replace(/^[A-Z][A-Za-z]+\.?/, '');
  const m = /^([A-Za-z]+)(?:\[(\d+)\])?(.*)$/.exec(rest);
  if (!m) return undefined;
  const [, name, idx, tail] = m;
  let el: ElementSpec | undefined;
  let row = 0;
  let sub = '';
  if (name === 'extension') {
    const hit = idx !== undefined ? applied.extMap[Number(idx)] : undefined;
    if (!hit) return undefined;
    el = spec.elements.find((e) => e.key === hit[0]);
    row = hit[1];
  } else {
    el = spec.elements.find((e) => e.key === name && !e.extUrl);
    if (!el) return undefined;
    if (el.array && idx !== undefined) row = applied.rowMap[el.key]?.[Number(idx)] ?? 0;
    if (row < 0) return undefined;
    sub = (tail ?? '').replace(/^\./, '').replace(/^reference\b/, 'id');
  }
  if (!el) return undefined;
  const p = prefixOf(el, row);
  const controls = entryControls(el, p, '');
  if (sub) {
    const norm = (s: string) => s.replace(/\[\d+\]$/, '');
    const hit = controls.find((c) => c.name === `${p}.${sub}`) ?? controls.find((c) => `${p}.${sub}`.startsWith(`${c.name}.`) || `${p}.${sub}`.startsWith(`${c.name}[`))
      ?? controls.find((c) => norm(c.name) === `${p}.${norm(sub.split('.')[0]!)}`);
    if (hit) return hit.name;
  }
  return controls[0]?.name;
}

/** The datalists a form needs (large value sets): id → options. */
export function datalistsOf(groups: ControlGroup[], spec: FormSpec): { id: string; options: CodeOption[] }[] {
  const out = new Map<string, CodeOption[]>();
  for (const el of spec.elements) {
    if (!el.valueSet || !el.options || el.options.length <= SELECT_MAX) continue;
    if (groups.some((g) => g.key === el.key)) out.set(listIdOf(el.valueSet), el.options);
  }
  return [...out].map(([id, options]) => ({ id, options }));
}
