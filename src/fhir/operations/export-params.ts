/**
 * `$export` kick-off parameters (Bulk Data IG v2, system level) → normalized ExportParams.
 *
 * Supported: `_outputFormat` (NDJSON only, in its three spellings), `_since`, `_type`, `_elements`, `_typeFilter`.
 * Known but unsupported: `includeAssociatedData`, `organizeOutputBy`, `allowPartialManifests`, `_until`; these and
 * unknown parameters are a 400 OperationOutcome, or — with `Prefer: handling=lenient` — ignored and reported in the
 * manifest's `error` file. `patient` is always a 400 (not meaningful for a system-level export of a directory).
 * Repeated list parameters are joined, as the IG requires.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError, badRequest } from '../outcome/errors.ts';
import { isPlanNetType, PLAN_NET_TYPES } from '../../validation/validator.ts';
import type { QueryPairs } from '../../search/engine.ts';
import type { ExportParams } from '../../jobs/export/types.ts';

export const OUTPUT_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];
const KNOWN_UNSUPPORTED = new Set(['includeAssociatedData', 'organizeOutputBy', 'allowPartialManifests', '_until']);
const IGNORED = new Set(['_format', '_pretty']);
const LIST_PARAMS = new Set(['_type', '_elements', '_typeFilter']);
/** Result parameters that make no sense inside a _typeFilter (the IG forbids _include and _sort). */
const FILTER_FORBIDDEN = new Set(['_include', '_revinclude', '_sort', '_count', '_summary', '_elements', '_total', '_cursor', '_contained', '_containedType', '_format', '_pretty']);
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;
const ELEMENT = /^[a-z][A-Za-z0-9]{0,63}$/;

export interface PreferExport { respondAsync: boolean; lenient: boolean }

/** `Prefer` as an RFC 7240 list: `respond-async, handling=lenient`. */
export function parsePreferExport(header: string | string[] | undefined): PreferExport {
  const tokens = [header ?? ''].flat().join(',').split(',').flatMap((p) => p.split(';')).map((t) => t.trim().toLowerCase().replace(/\s*=\s*/, '='));
  return { respondAsync: tokens.includes('respond-async'), lenient: tokens.includes('handling=lenient') };
}

/** Pairs from a POST `Parameters` body (valueString, valueInstant, valueCode, ... all taken as text). */
export function pairsFromParameters(body: unknown): [string, string][] {
  const b = body as { resourceType?: string; parameter?: { name?: string; [k: string]: unknown }[] } | undefined;
  if (!b || typeof b !== 'object' || Object.keys(b).length === 0) return [];
  if (b.resourceType !== 'Parameters') throw badRequest('A POST kick-off body must be a Parameters resource');
  const out: [string, string][] = [];
  for (const p of b.parameter ?? []) {
    if (typeof p?.name !== 'string') throw badRequest('Every Parameters.parameter needs a name');
    const valueKey = Object.keys(p).find((k) => k.startsWith('value'));
    const v = valueKey ? p[valueKey] : undefined;
    if (valueKey === 'valueReference' || (v !== undefined && typeof v === 'object')) {
      out.push([p.name, JSON.stringify(v)]);
    } else if (v === undefined) throw badRequest(`Parameter ${p.name} has no value`, p.name);
    else out.push([p.name, String(v)]);
  }
  return out;
}

export interface ParseInput {
  pairs: [string, string][];
  lenient: boolean;
  /** Types the caller may export (from their scopes or roles). */
  readable: readonly string[];
  now?: Date;
}

export function parseExportParams(input: ParseInput): ExportParams {
  const issues: OperationOutcomeIssue[] = [];
  const now = input.now ?? new Date();
  /** Unsupported input: a 400, or under handling=lenient a note in the error file. */
  const refuse = (message: string, expression: string) => {
    if (!input.lenient) throw badRequest(message, expression);
    issues.push({ severity: 'warning', code: 'not-supported', diagnostics: `${message}; ignored (Prefer: handling=lenient)`, expression: [expression] });
  };
  const grouped = new Map<string, string[]>();
  for (const [k, v] of input.pairs) grouped.set(k, [...(grouped.get(k) ?? []), v]);

  for (const name of grouped.keys()) {
    if (name === 'patient') throw badRequest('patient is not supported: this is a system-level export of a provider directory (no Patient compartment)', 'patient');
    if (IGNORED.has(name) || ['_outputFormat', '_since'].includes(name) || LIST_PARAMS.has(name)) continue;
    if (KNOWN_UNSUPPORTED.has(name)) refuse(`The parameter ${name} is not supported by this server`, name);
    else refuse(`Unknown $export parameter "${name}"`, name);
  }

  const single = (name: string): string | undefined => {
    const vals = [...new Set(grouped.get(name) ?? [])];
    if (vals.length > 1) throw badRequest(`${name} was given ${vals.length} different values`, name);
    return vals[0];
  };
  const list = (name: string): string[] => (grouped.get(name) ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);

  const format = single('_outputFormat');
  if (format !== undefined && !OUTPUT_FORMATS.includes(format.trim())) {
    throw badRequest(`_outputFormat ${format} is not supported; use application/fhir+ndjson (or application/ndjson, ndjson)`, '_outputFormat');
  }

  let since: string | undefined;
  const rawSince = single('_since');
  if (rawSince !== undefined) {
    // a `+` sent unencoded arrives decoded as a space: take it as the `+` it was
    const s = rawSince.trim().replace(/ (\d{2}:\d{2})$/, '+$1');
    const m = INSTANT.exec(s);
    const t = m ? Date.parse(s) : NaN;
    if (!m || Number.isNaN(t) || Number(m[2]) > 12 || Number(m[3]) > 31 || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) {
      throw badRequest(`_since must be a FHIR instant such as 2024-01-31T12:00:00Z, got "${rawSince}"`, '_since');
    }
    if (t > now.getTime()) throw badRequest(`_since ${rawSince} is in the future`, '_since');
    since = new Date(t).toISOString();
  }

  // _type: Plan-Net types only; each must be within the caller's scopes
  let types: string[];
  const requested = [...new Set(list('_type'))];
  if (requested.length > 0) {
    types = [];
    for (const t of requested) {
      if (!isPlanNetType(t)) { refuse(`Resource type ${t} is not served by this directory (Plan-Net types: ${PLAN_NET_TYPES.join(', ')})`, '_type'); continue; }
      if (!input.readable.includes(t)) throw new FhirError('forbidden', `Your access does not cover ${t}: export needs read access to every type in _type`, { expression: '_type' });
      types.push(t);
    }
  } else {
    types = [...input.readable];
  }
  types.sort();

  const elements: { type?: string; name: string }[] = [];
  for (const e of [...new Set(list('_elements'))]) {
    const dot = e.indexOf('.');
    const type = dot > 0 ? e.slice(0, dot) : undefined;
    const name = dot > 0 ? e.slice(dot + 1) : e;
    if (type !== undefined && !isPlanNetType(type)) { refuse(`_elements names ${type}, which is not a Plan-Net type`, '_elements'); continue; }
    if (!ELEMENT.test(name)) { refuse(`_elements entry "${e}" is not a top-level element name`, '_elements'); continue; }
    elements.push(type ? { type, name } : { name });
  }

  const typeFilters: Record<string, QueryPairs[]> = {};
  for (const raw of (grouped.get('_typeFilter') ?? []).flatMap((v) => v.split(/,(?=[A-Z][A-Za-z]+\?)/)).map((s) => s.trim()).filter(Boolean)) {
    const q = raw.indexOf('?');
    const type = q > 0 ? raw.slice(0, q) : '';
    if (!TYPE_NAME.test(type)) { refuse(`_typeFilter entry "${raw}" is not of the form Type?query`, '_typeFilter'); continue; }
    if (!isPlanNetType(type)) { refuse(`_typeFilter names ${type}, which is not a Plan-Net type`, '_typeFilter'); continue; }
    if (!types.includes(type)) { refuse(`_typeFilter for ${type}, which is not among the exported types`, '_typeFilter'); continue; }
    const pairs: QueryPairs = [];
    for (const [k, v] of new URLSearchParams(raw.slice(q + 1))) {
      if (FILTER_FORBIDDEN.has(k)) { refuse(`${k} cannot be used in a _typeFilter`, '_typeFilter'); continue; }
      pairs.push([k, v]);
    }
    if (pairs.length === 0) { refuse(`_typeFilter entry "${raw}" has no search criteria`, '_typeFilter'); continue; }
    (typeFilters[type] ??= []).push(pairs);
  }

  return {
    types,
    ...(since ? { since } : {}),
    ...(Object.keys(typeFilters).length ? { typeFilters } : {}),
    ...(elements.length ? { elements } : {}),
    issues,
  };
}
