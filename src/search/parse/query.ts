/**
 * URL query → SearchRequest. Knows FHIR's search grammar (modifiers, prefixes, chains, `_has`, `_include`), asks the
 * registry what each name means, and rejects malformed input with a 400 naming the parameter. Unknown parameters are
 * collected (the engine reports or, under `Prefer: handling=strict`, rejects them).
 */
import { badRequest } from '../../fhir/outcome/errors.ts';
import type { SearchParam, SearchParamRegistry } from '../registry/registry.ts';
import { normalizeString, parseReference } from '../index/normalize.ts';
import { orValues, parseBoolean, parseDate, parseNear, parseOfType, parseToken, splitEscaped, unescape, type DateValue, type TokenValue } from './values.ts';

export type QueryPairs = [string, string][];

export interface RefValue { type?: string; id?: string; url?: string }

export type Match =
  | { op: 'missing'; missing: boolean }
  | { op: 'token'; not: boolean; values: TokenValue[] }
  | { op: 'text'; values: string[] }
  | { op: 'of-type'; values: { system: string | null; code: string }[] }
  | { op: 'string'; mode: 'prefix' | 'exact' | 'contains'; values: string[] }
  | { op: 'reference'; values: RefValue[]; types: string[] }
  | { op: 'date'; values: DateValue[] }
  | { op: 'uri'; mode: 'eq' | 'below' | 'above'; values: string[] }
  | { op: 'near'; lat: number; lon: number; meters: number };

export type ColumnMatch = { op: 'missing'; missing: boolean } | { op: 'id'; values: string[]; not: boolean } | { op: 'date'; values: DateValue[] };

export type Criterion =
  /**
   * A value test on one parameter of the resource itself. `strategy` (string prefixes driving a page in rid order, see
   * search-engine.ts planCriteria): collect the matches and sort them, or walk the parameter's values in rid order.
   */
  | { kind: 'param'; type: string; param: SearchParam; match: Match; strategy?: 'collect' | 'walk' }
  /** `_id` / `_lastUpdated`, which are columns of `resources`. */
  | { kind: 'column'; type: string; column: '_id' | '_lastUpdated'; match: ColumnMatch }
  /**
   * `ref.chained=value`: the resource references (through `param`) a resource of one of the types matching `inner`.
   * `strategy` (when it drives a page in rid order): collect the references to the matching targets and sort them, or
   * walk the parameter's references in rid order against the hashed target set.
   */
  | { kind: 'chain'; type: string; param: SearchParam; inner: Map<string, Criterion>; strategy?: 'collect' | 'walk' }
  /**
   * `_has:Source:ref:criterion`: some Source resource matching `inner` references this one through `ref`. `strategy`
   * is chosen before the query is built (see search-engine.ts planCriteria): probe the few sources' references; walk
   * the candidates checking each one's referrers; or (pages in rid order with no other driver) scan the references in
   * target order against the hashed sources (`hash`) or probing each referrer (`scan`).
   */
  | { kind: 'has'; type: string; source: string; ref: SearchParam; inner: Criterion; strategy?: 'probe' | 'walk' | 'hash' | 'scan' };

export interface SortKey { name: string; desc: boolean; param?: SearchParam; column?: '_id' | '_lastUpdated'; near?: boolean }

export interface IncludeSpec { sourceType: string; param?: SearchParam; targetType?: string; iterate: boolean; wildcard: boolean; raw: string }

export interface SearchRequest {
  resourceType: string;
  criteria: Criterion[];
  /** Parameters not understood, with the reason (ignored, or a 400 in strict mode). */
  unknown: { name: string; reason: string }[];
  count: number;
  sort: SortKey[];
  total: 'none' | 'estimate' | 'accurate';
  summary?: 'true' | 'false' | 'count' | 'data' | 'text';
  elements?: string[];
  includes: IncludeSpec[];
  revincludes: IncludeSpec[];
  cursor?: string;
  /** The parameters that took effect, for the self link (no _cursor). */
  selfPairs: QueryPairs;
  /** rids of the reference targets the criteria name, looked up before building SQL (undefined: not looked up). */
  resolved?: Map<string, number>;
  /** The `near` criterion of the top level, for sorting by distance. */
  near?: { param: SearchParam; lat: number; lon: number; meters: number };
}

export interface ParseOptions { baseUrl: string; defaultCount: number; maxCount: number }

/** Handled by the HTTP layer (content negotiation): kept in links, no effect on the search. */
const HTTP_PARAMS = new Set(['_format', '_pretty']);
const MAX_CHAIN_DEPTH = 4;

class UnknownParam extends Error {}

export function parseSearch(registry: SearchParamRegistry, resourceType: string, query: QueryPairs, opts: ParseOptions): SearchRequest {
  const req: SearchRequest = {
    resourceType, criteria: [], unknown: [], count: opts.defaultCount, sort: [], total: 'none', includes: [], revincludes: [], selfPairs: [],
  };
  const once = new Set<string>();
  const single = (name: string) => {
    if (once.has(name)) throw badRequest(`Parameter ${name} may appear only once`, name);
    once.add(name);
  };
  for (const [name, value] of query) {
    const [base, ...mods] = name.split(':');
    switch (base) {
      case '_count': {
        single(name);
        if (!/^\d{1,9}$/.test(value)) throw badRequest(`_count must be a non-negative integer, got "${value}"`, '_count');
        req.count = Math.min(Number(value), opts.maxCount);
        break;
      }
      case '_total':
        single(name);
        if (value !== 'none' && value !== 'estimate' && value !== 'accurate') throw badRequest('_total must be none, estimate or accurate', '_total');
        req.total = value;
        break;
      case '_summary':
        single(name);
        if (!['true', 'false', 'count', 'data', 'text'].includes(value)) throw badRequest('_summary must be true, false, count, data or text', '_summary');
        req.summary = value as SearchRequest['summary'];
        break;
      case '_elements':
        single(name);
        req.elements = value.split(',').map((s) => s.trim()).filter(Boolean).map((s) => s.replace(/^[A-Z][A-Za-z]+\./, ''));
        if (req.elements.some((e) => !/^[a-z][A-Za-z0-9]*(\[x\])?$/.test(e))) throw badRequest(`_elements: "${value}" must be a comma-separated list of element names`, '_elements');
        break;
      case '_sort':
        single(name);
        req.sort = parseSort(registry, resourceType, value);
        break;
      case '_cursor':
        req.cursor = value;
        continue;
      case '_include': case '_revinclude': {
        const iterate = mods.includes('iterate') || mods.includes('recurse');
        if (mods.some((m) => m !== 'iterate' && m !== 'recurse')) throw badRequest(`${name}: unknown modifier (use :iterate)`, name);
        const spec = parseInclude(registry, resourceType, value, base === '_revinclude', iterate, name);
        if (!spec) { req.unknown.push({ name: `${name}=${value}`, reason: `${value} is not a known search parameter` }); continue; }
        (base === '_include' ? req.includes : req.revincludes).push(spec);
        break;
      }
      default: {
        if (HTTP_PARAMS.has(base)) break;
        try {
          const c = parseCriterion(registry, resourceType, name, value, opts, 0);
          req.criteria.push(c);
          if (c.kind === 'param' && c.match.op === 'near' && !req.near) req.near = { param: c.param, lat: c.match.lat, lon: c.match.lon, meters: c.match.meters };
        } catch (err) {
          if (err instanceof UnknownParam) { req.unknown.push({ name, reason: err.message }); continue; }
          throw err;
        }
      }
    }
    req.selfPairs.push([name, value]);
  }
  for (const s of req.sort) {
    if (s.near && !req.near) throw badRequest('_sort=near needs a near search parameter', '_sort');
  }
  return req;
}

function parseSort(registry: SearchParamRegistry, type: string, value: string): SortKey[] {
  const keys = value.split(',').map((s) => s.trim()).filter(Boolean).map((s): SortKey => {
    const desc = s.startsWith('-');
    const name = desc ? s.slice(1) : s;
    if (name === '_lastUpdated' || name === '_id') return { name, desc, column: name };
    const param = registry.get(type, name);
    if (!param || param.storage === 'column') throw badRequest(`_sort: "${name}" is not a search parameter of ${type}`, '_sort');
    if (param.storage === 'geo') return { name, desc, param, near: true };
    return { name, desc, param };
  });
  if (keys.length === 0) throw badRequest('_sort needs at least one parameter', '_sort');
  if (new Set(keys.map((k) => k.name)).size !== keys.length) throw badRequest('_sort names a parameter twice', '_sort');
  return keys;
}

function parseInclude(registry: SearchParamRegistry, type: string, value: string, reverse: boolean, iterate: boolean, name: string): IncludeSpec | undefined {
  if (value === '*') return { sourceType: reverse ? '*' : type, iterate, wildcard: true, raw: value };
  const parts = value.split(':');
  if (parts.length < 2 || parts.length > 3) throw badRequest(`${name}: "${value}" must be Type:parameter[:targetType] or *`, name);
  const [sourceType, code, targetType] = parts;
  if (!registry.types.includes(sourceType)) return undefined;
  if (targetType !== undefined && !registry.types.includes(targetType)) return undefined;
  if (code === '*') return { sourceType, targetType, iterate, wildcard: true, raw: value };
  const param = registry.get(sourceType, code);
  if (!param) return undefined;
  if (param.storage !== 'reference') throw badRequest(`${name}: ${sourceType}:${code} is not a reference parameter`, name);
  return { sourceType, param, targetType, iterate, wildcard: false, raw: value };
}

/**
 * One `name=value` pair on `type`. `name` may carry a modifier, a chain (`a.b`, `a:Type.b`) or be `_has:...`.
 * Throws UnknownParam for names that mean nothing here, a 400 for malformed values or unsupported modifiers.
 */
export function parseCriterion(registry: SearchParamRegistry, type: string, name: string, value: string, opts: ParseOptions, depth: number): Criterion {
  if (depth > MAX_CHAIN_DEPTH) throw badRequest(`Parameter ${name}: chains and _has nest at most ${MAX_CHAIN_DEPTH} deep`, name);
  if (name.startsWith('_has:')) {
    const parts = name.split(':');
    if (parts.length < 4) throw badRequest(`Parameter ${name}: use _has:Type:reference-parameter:search-parameter`, name);
    const [, source, refCode] = parts;
    const rest = parts.slice(3).join(':');
    if (!registry.types.includes(source)) throw new UnknownParam(`_has: unknown resource type ${source}`);
    const ref = registry.get(source, refCode);
    if (!ref || ref.storage !== 'reference') throw new UnknownParam(`_has: ${source} has no reference parameter ${refCode}`);
    if (!ref.targets.includes(type)) throw new UnknownParam(`_has: ${source}.${refCode} cannot refer to ${type}`);
    return { kind: 'has', type, source, ref, inner: parseCriterion(registry, source, rest, value, opts, depth + 1) };
  }
  const dot = name.indexOf('.');
  const head = dot >= 0 ? name.slice(0, dot) : name;
  const [code, ...mods] = head.split(':');
  if (mods.length > 1) throw badRequest(`Parameter ${name}: at most one modifier`, name);
  const modifier = mods[0];

  if (code === '_id' || code === '_lastUpdated') {
    if (dot >= 0) throw new UnknownParam(`${code} cannot be chained`);
    return { kind: 'column', type, column: code, match: columnMatch(code, modifier, value, name) };
  }
  const param = registry.get(type, code);
  if (!param) throw new UnknownParam(`${type} has no search parameter "${code}"`);

  if (dot >= 0) {
    if (param.storage !== 'reference') throw badRequest(`Parameter ${name}: only reference parameters can be chained`, name);
    let targets = param.targets;
    if (modifier) {
      if (!param.targets.includes(modifier)) throw badRequest(`Parameter ${name}: ${code} cannot refer to ${modifier}`, name);
      targets = [modifier];
    }
    const rest = name.slice(dot + 1);
    const inner = new Map<string, Criterion>();
    for (const t of targets) {
      try { inner.set(t, parseCriterion(registry, t, rest, value, opts, depth + 1)); } catch (err) { if (!(err instanceof UnknownParam)) throw err; }
    }
    if (inner.size === 0) throw new UnknownParam(`${name}: "${rest}" is not a search parameter of ${targets.join(' or ')}`);
    return { kind: 'chain', type, param, inner };
  }
  return { kind: 'param', type, param, match: paramMatch(param, modifier, value, name, opts) };
}

function columnMatch(code: '_id' | '_lastUpdated', modifier: string | undefined, value: string, name: string): ColumnMatch {
  if (modifier === 'missing') return { op: 'missing', missing: parseBoolean(value, name) };
  if (code === '_id') {
    if (modifier && modifier !== 'not') throw badRequest(`Parameter ${name}: modifier :${modifier} is not supported`, name);
    return { op: 'id', values: orValues(value, name).map(unescape), not: modifier === 'not' };
  }
  if (modifier) throw badRequest(`Parameter ${name}: modifier :${modifier} is not supported`, name);
  return { op: 'date', values: orValues(value, name).map((v) => parseDate(v, name, [])) };
}

function paramMatch(p: SearchParam, modifier: string | undefined, value: string, name: string, opts: ParseOptions): Match {
  if (modifier === 'missing') return { op: 'missing', missing: parseBoolean(value, name) };
  const unsupported = () => badRequest(`Parameter ${name}: modifier :${modifier} is not supported for ${p.type} parameter ${p.code}`, name);
  if (modifier && p.storage !== 'reference' && !p.modifiers.includes(modifier)) throw unsupported();
  const values = () => orValues(value, name);
  switch (p.storage) {
    case 'token':
      if (modifier === 'text') return { op: 'text', values: values().map((v) => nonEmptyNorm(unescape(v), name)) };
      if (modifier === 'of-type') return { op: 'of-type', values: values().map((v) => { const o = parseOfType(v, name); return { system: o.system, code: `${o.code}|${o.value}` }; }) };
      return { op: 'token', not: modifier === 'not', values: values().map((v) => parseToken(v, name)) };
    case 'string':
      return { op: 'string', mode: modifier === 'exact' ? 'exact' : modifier === 'contains' ? 'contains' : 'prefix',
        values: values().map((v) => { const s = unescape(v); nonEmptyNorm(s, name); return s; }) };
    case 'reference': {
      let types = p.targets;
      if (modifier) {
        if (modifier === 'identifier' || modifier === 'above' || modifier === 'below') throw unsupported();
        if (!p.targets.includes(modifier)) throw badRequest(`Parameter ${name}: ${p.code} cannot refer to ${modifier}`, name);
        types = [modifier];
      }
      return { op: 'reference', types, values: values().map((v) => parseRefValue(unescape(v), modifier, opts.baseUrl)) };
    }
    case 'date':
      return { op: 'date', values: values().map((v) => parseDate(v, name, p.comparators)) };
    case 'uri':
      return { op: 'uri', mode: modifier === 'below' ? 'below' : modifier === 'above' ? 'above' : 'eq', values: values().map(unescape) };
    case 'geo': {
      if (splitEscaped(value, ',').length > 1) throw badRequest(`Parameter ${name}: one location per near parameter`, name);
      return { op: 'near', ...parseNear(value, name) };
    }
    default:
      throw new UnknownParam(`${p.code} cannot be searched`);
  }
}

function nonEmptyNorm(s: string, name: string): string {
  const n = normalizeString(s);
  if (n === '') throw badRequest(`Parameter ${name}: empty value`, name);
  return n;
}

function parseRefValue(v: string, typeModifier: string | undefined, baseUrl: string): RefValue {
  if (/^[a-z][a-z0-9+.-]*:/i.test(v)) {
    // an absolute URL: ours means a local reference
    if (v.startsWith(`${baseUrl}/`)) {
      const local = parseReference(v.slice(baseUrl.length + 1));
      if (local && local.url === null) return { type: local.type, id: local.id };
    }
    return { url: parseReference(v)?.url ?? v };
  }
  const local = parseReference(v);
  if (local && local.url === null) return { type: local.type, id: local.id };
  return { type: typeModifier, id: v };
}
