/**
 * Criterion → SQL condition on a resource's rid. Every value is a bound parameter; every index table is filtered on
 * the tenant ($1) and joined on tenant_id, so neither a chain nor `_has` can reach another tenant's rows (and RLS
 * would hide them anyway).
 *
 * A condition is written as `rid IN (SELECT rid FROM <index> WHERE ...)` so PostgreSQL can run it as a semi-join
 * (for one value, an index range already in rid order) or as a hashed subplan; negations are NOT EXISTS (anti-join).
 */
import { dateCondition, instantCondition } from '../date-range.ts';
import type { ColumnMatch, Criterion, Match, RefValue } from '../parse/query.ts';
import type { SearchParam } from '../registry/registry.ts';
import type { TokenValue } from '../parse/values.ts';
import { normalizeString, unresolvedRid } from '../index/normalize.ts';

/** Collects bound parameters; `$1` is always the tenant. */
export class Binder {
  readonly values: unknown[];
  /** `Type/id` → rid of reference targets looked up before the query was built (see resolveTargets). */
  readonly resolved: Map<string, number> | undefined;
  #alias = 0;
  constructor(tenant: string, resolved?: Map<string, number>) { this.values = [tenant]; this.resolved = resolved; }
  add(v: unknown): string { this.values.push(v); return `$${this.values.length}`; }
  alias(prefix: string): string { return `${prefix}${++this.#alias}`; }
}

/** Largest code point: `p <= s < p || MAX_CHAR` is "s starts with p" for the C collation. */
const MAX_CHAR = '\u{10FFFF}';

export function escapeLike(s: string): string { return s.replace(/[\\%_]/g, (c) => `\\${c}`); }

const TABLE: Record<string, string> = { token: 'search_token', string: 'search_string', reference: 'search_reference', date: 'search_date', uri: 'search_uri', geo: 'search_geo' };

type Cond = (alias: string) => string;

/** The rids with a row in `table` for `pid` satisfying `cond`. */
function setIndex(b: Binder, table: string, pid: number, cond: Cond | undefined): string {
  const a = b.alias('i');
  return `SELECT ${a}.rid FROM ${table} ${a} WHERE ${a}.tenant_id = $1 AND ${a}.pid = ${b.add(pid)}${cond ? ` AND ${cond(a)}` : ''}`;
}

function existsIndex(rid: string, b: Binder, table: string, pid: number, cond: Cond | undefined, negate: boolean): string {
  const a = b.alias('x');
  return `${negate ? 'NOT ' : ''}EXISTS (SELECT 1 FROM ${table} ${a} WHERE ${a}.tenant_id = $1 AND ${a}.pid = ${b.add(pid)} AND ${a}.rid = ${rid}${cond ? ` AND ${cond(a)}` : ''})`;
}

const or = (parts: string[]) => (parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`);

function tokenCond(a: string, values: TokenValue[], b: Binder): string {
  const codesOnly = values.filter((v) => v.system === undefined && v.code !== undefined).map((v) => v.code!);
  const parts: string[] = [];
  if (codesOnly.length === 1) parts.push(`${a}.code = ${b.add(codesOnly[0])}`);
  else if (codesOnly.length > 1) parts.push(`${a}.code = ANY(${b.add(codesOnly)}::text[])`);
  for (const v of values) {
    if (v.system === undefined) continue;
    const sys = v.system === null ? `${a}.system IS NULL` : `${a}.system = ${b.add(v.system)}`;
    parts.push(v.code === undefined ? sys : `(${a}.code = ${b.add(v.code)} AND ${sys})`);
  }
  return or(parts);
}

function prefixCond(col: string, norms: string[], b: Binder): string {
  const parts = norms.map((n) => `(${col} >= ${b.add(n)} AND ${col} < ${b.add(n + MAX_CHAR)})`);
  return parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`;
}

/**
 * Reference values: every reference row has a target_rid (the target's rid, or the stand-in of an unresolved or
 * external reference, see index/normalize.ts), so each value is one equality on search_reference_target. Targets are
 * looked up before the query is built (resolveTargets), so the condition is `target_rid = $n`: a constant the index
 * can range on, in rid order — a page then reads only _count entries however many resources point at a popular
 * target. (A subquery there would not do: under row-level security PostgreSQL will not use a qual containing one as
 * an index condition.) Without a lookup (streaming callers) the rid is resolved inside the query instead.
 */
function refSet(p: SearchParam, m: { values: RefValue[]; types: string[] }, b: Binder): string {
  const targets: string[] = [];
  for (const v of m.values) {
    if (v.url !== undefined) { targets.push(`${b.add(unresolvedRid(v.url))}::bigint`); continue; }
    if (v.type && !m.types.includes(v.type)) continue;
    for (const type of v.type ? [v.type] : m.types) {
      const key = `${type}/${v.id}`;
      if (b.resolved) targets.push(`${b.add(b.resolved.get(key) ?? unresolvedRid(key))}::bigint`);
      else targets.push(`coalesce((SELECT t.rid FROM resources t WHERE t.tenant_id = $1 AND t.resource_type = ${b.add(type)} AND t.id = ${b.add(v.id)}), ${b.add(unresolvedRid(key))}::bigint)`);
    }
  }
  if (targets.length === 0) return 'SELECT NULL::bigint AS rid WHERE false';
  return setIndex(b, 'search_reference', p.pid, (a) => (targets.length === 1 ? `${a}.target_rid = ${targets[0]}` : `${a}.target_rid = ANY(ARRAY[${targets.join(', ')}]::bigint[])`));
}

/** Every local `Type/id` a request's reference values (at any depth) may name. */
export function referenceKeys(criteria: Criterion[]): string[] {
  const out = new Set<string>();
  const walk = (c: Criterion) => {
    if (c.kind === 'param' && c.match.op === 'reference') {
      for (const v of c.match.values) if (v.url === undefined) for (const t of v.type ? [v.type] : c.match.types) if (c.match.types.includes(t)) out.add(`${t}/${v.id}`);
    } else if (c.kind === 'chain') for (const inner of c.inner.values()) walk(inner);
    else if (c.kind === 'has') walk(c.inner);
  };
  for (const c of criteria) walk(c);
  return [...out];
}

/** All prefixes of a URI at path boundaries (for `:above`). */
function uriAncestors(uri: string): string[] {
  const out = new Set<string>([uri]);
  for (let i = uri.indexOf('/', uri.indexOf('://') + 3); i > 0; i = uri.indexOf('/', i + 1)) out.add(uri.slice(0, i));
  return [...out];
}

/** The rids matching a positive parameter test; undefined for the negations (:not, :missing=true). */
function paramSet(p: SearchParam, m: Match, b: Binder, strategy?: 'collect' | 'walk'): string | undefined {
  switch (m.op) {
    case 'missing':
      if (m.missing) return undefined;
      // a token whose CodeableConcept only has text is still present
      return p.storage === 'token'
        ? `${setIndex(b, 'search_token', p.pid, undefined)} UNION ALL ${setIndex(b, 'search_string', p.textPid, undefined)}`
        : setIndex(b, TABLE[p.storage], p.pid, undefined);
    case 'token':
      return m.not ? undefined : setIndex(b, 'search_token', p.pid, (a) => tokenCond(a, m.values, b));
    case 'text':
      return setIndex(b, 'search_string', p.textPid, (a) => prefixCond(`${a}.norm`, m.values, b));
    case 'of-type':
      return setIndex(b, 'search_token', p.ofTypePid, (a) => tokenCond(a, m.values, b));
    case 'string':
      if (m.mode === 'contains') {
        return m.values.map((v) => { const f = b.alias('f'); return `SELECT ${f} AS rid FROM search_string_contains(${b.add(p.pid)}, ${b.add(`%${escapeLike(normalizeString(v))}%`)}, ${b.add(p.trigram)}::boolean) ${f}`; }).join(' UNION ALL ');
      }
      if (m.mode === 'exact') {
        return setIndex(b, 'search_string', p.pid, (a) => or(m.values.map((v) => `(${a}.norm = ${b.add(normalizeString(v))} AND ${a}.exact = ${b.add(v)})`)));
      }
      if (strategy === 'walk') {
        // the same test, written so it cannot be a range of search_string_value: the page walks search_string_source
        // (tenant_id, pid, rid) INCLUDE (norm) in rid order and stops after a page of matches
        return setIndex(b, 'search_string', p.pid, (a) => or(m.values.map(normalizeString).map((n) => `left(${a}.norm, ${[...n].length}) = ${b.add(n)}`)));
      }
      // collect: the value index's range, sorted afterwards (OFFSET 0 keeps the planner from walking instead on its
      // estimate, which is per table, not per parameter)
      return `${setIndex(b, 'search_string', p.pid, (a) => prefixCond(`${a}.norm`, m.values.map(normalizeString), b))}${strategy === 'collect' ? ' OFFSET 0' : ''}`;
    case 'reference':
      return refSet(p, m, b);
    case 'date':
      return setIndex(b, 'search_date', p.pid, (a) => or(m.values.map((v) => dateCondition(`${a}.lo`, `${a}.hi`, v.prefix, v.range, (x) => `${b.add(x)}::timestamptz`))));
    case 'uri':
      return setIndex(b, 'search_uri', p.pid, (a) => or(m.values.map((v) => m.mode === 'eq' ? `${a}.uri = ${b.add(v)}`
        : m.mode === 'below' ? `(${a}.uri >= ${b.add(v)} AND ${a}.uri < ${b.add(v + MAX_CHAR)})`
          : `${a}.uri = ANY(${b.add(uriAncestors(v))}::text[])`)));
    case 'near': {
      const n = b.alias('n');
      return `SELECT ${n}.rid FROM search_geo_near(${b.add(p.pid)}, ${b.add(m.lat)}::float8, ${b.add(m.lon)}::float8, ${b.add(m.meters)}::float8) ${n}`;
    }
  }
}

/** The negated parameter tests as conditions on `rid`. */
function paramNegation(rid: string, p: SearchParam, m: Match, b: Binder): string {
  if (m.op === 'missing') {
    const has = existsIndex(rid, b, TABLE[p.storage], p.pid, undefined, false);
    return `NOT ${p.storage === 'token' ? `(${has} OR ${existsIndex(rid, b, 'search_string', p.textPid, undefined, false)})` : has}`;
  }
  if (m.op === 'token') return existsIndex(rid, b, 'search_token', p.pid, (a) => tokenCond(a, m.values, b), true);
  throw new Error(`no negation for ${m.op}`);
}

function columnCond(r: string, m: ColumnMatch, b: Binder): string {
  if (m.op === 'missing') return m.missing ? 'false' : 'true';
  if (m.op === 'id') return `${m.not ? 'NOT ' : ''}${r}.id = ANY(${b.add(m.values)}::text[])`;
  return or(m.values.map((v) => instantCondition(`${r}.last_updated`, v.prefix, v.range, (x) => `${b.add(x)}::timestamptz`)));
}

function columnSet(type: string, m: ColumnMatch, b: Binder): string {
  const r = b.alias('c');
  return `SELECT ${r}.rid FROM resources ${r} WHERE ${r}.tenant_id = $1 AND ${r}.resource_type = ${b.add(type)} AND NOT ${r}.deleted AND ${columnCond(r, m, b)}`;
}

/**
 * True when matching `c` already implies a live resource of `c.type` (its index rows exist only for those); false for
 * negations and `_has`, which need an explicit check when nested.
 */
function selfValidating(c: Criterion): boolean {
  switch (c.kind) {
    case 'param': return !((c.match.op === 'missing' && c.match.missing) || (c.match.op === 'token' && c.match.not));
    case 'column': return c.match.op !== 'missing';
    case 'chain': return true;
    case 'has': return false;
  }
}

/**
 * A query selecting the rids (column `rid`) that match `c`, for positive criteria; undefined for negations, which are
 * only expressible as conditions on a known rid (NOT EXISTS).
 */
export function ridSetSql(c: Criterion, b: Binder): string | undefined {
  switch (c.kind) {
    case 'param':
      return paramSet(c.param, c.match, b, c.strategy);
    case 'column':
      return c.match.op === 'missing' ? undefined : columnSet(c.type, c.match, b);
    case 'chain': {
      // references resolved to the target's rid: index to index, the target type is implied by its parameters
      const ref = b.alias('ref');
      const perType = [...c.inner].map(([type, inner]) => {
        const cond = criterionSql(inner, `${ref}.target_rid`, b);
        return selfValidating(inner) ? cond : `(${cond} AND ${liveSql(`${ref}.target_rid`, type, b)})`;
      });
      // walk: `OR false` keeps the target set a hashed subplan (PostgreSQL only turns top-level IN into joins), so the
      // page scans search_reference_source in rid order and stops after a page of matches
      const cond = c.strategy === 'walk' ? `(${or(perType)} OR false)` : or(perType);
      return `SELECT ${ref}.rid FROM search_reference ${ref} WHERE ${ref}.tenant_id = $1 AND ${ref}.pid = ${b.add(c.param.pid)} AND ${cond}${c.strategy === 'collect' ? ' OFFSET 0' : ''}`;
    }
    case 'has': {
      // the referencing rows exist only for live sources; whether a target_rid is a live resource of c.type is the
      // caller's check (the page query's own resources row, the driver's index rows, or liveSql inside a chain)
      if (c.strategy === 'walk') return undefined;
      const ref = b.alias('ref');
      if (c.strategy === 'hash' || c.strategy === 'scan') {
        // the references in target order (search_reference_target), each referrer checked against the hashed sources
        // (`OR false` keeps them a hashed subplan) or probed: a page in rid order stops after its last target
        // page (cost ∝ page / density, sequential index reads); the CASE checks that a matching target is a live
        // resource of the type only after its referrer matched (PostgreSQL would order the two by cost)
        const inner = ridSetSql(c.inner, b);
        const check = inner === undefined ? criterionSql(c.inner, `${ref}.rid`, b)
          : c.strategy === 'hash' ? `(${ref}.rid IN (${inner}) OR false)` : `EXISTS (SELECT 1 FROM (${inner}) z WHERE z.rid = ${ref}.rid OFFSET 0)`;
        return `SELECT ${ref}.target_rid AS rid FROM search_reference ${ref}
           WHERE ${ref}.tenant_id = $1 AND ${ref}.pid = ${b.add(c.ref.pid)} AND ${ref}.target_rid > 0
             AND CASE WHEN ${check} THEN ${liveCheck(`${ref}.target_rid`, c.type, b)} ELSE false END`;
      }
      const inner = c.strategy === 'probe' ? ridSetSql(c.inner, b) : undefined;
      if (inner !== undefined) {
        // few sources: each one's reference rows, probed by rid (OFFSET 0 keeps the planner from flattening the probe)
        const l = b.alias('l'), src = b.alias('s');
        return `SELECT ${l}.target_rid AS rid FROM (${inner}) ${src} CROSS JOIN LATERAL (
          SELECT ${ref}.target_rid FROM search_reference ${ref} WHERE ${ref}.tenant_id = $1 AND ${ref}.rid = ${src}.rid AND ${ref}.pid = ${b.add(c.ref.pid)} OFFSET 0) ${l}`;
      }
      return `SELECT ${ref}.target_rid AS rid FROM search_reference ${ref}
         WHERE ${ref}.tenant_id = $1 AND ${ref}.pid = ${b.add(c.ref.pid)} AND ${criterionSql(c.inner, `${ref}.rid`, b)}`;
    }
  }
}

/** `_has` by walking: does the candidate `rid` have a referrer matching the inner criterion? (checked per candidate) */
function hasWalk(c: Extract<Criterion, { kind: 'has' }>, rid: string, b: Binder): string {
  const ref = b.alias('ref');
  const set = ridSetSql(c.inner, b);
  const innerCond = set !== undefined
    ? `EXISTS (SELECT 1 FROM (${set}) z WHERE z.rid = ${ref}.rid OFFSET 0)`
    : criterionSql(c.inner, `${ref}.rid`, b);
  return `EXISTS (SELECT 1 FROM search_reference ${ref} WHERE ${ref}.tenant_id = $1 AND ${ref}.pid = ${b.add(c.ref.pid)} AND ${ref}.target_rid = ${rid} AND ${innerCond} OFFSET 0)`;
}

/**
 * The SQL condition "the resource with rid `rid` matches `c`". `onResourceRow` names the `resources` alias when the
 * condition is evaluated on the resource row itself (column criteria then test its columns directly).
 */
export function criterionSql(c: Criterion, rid: string, b: Binder, onResourceRow?: string): string {
  if (c.kind === 'column' && (onResourceRow || c.match.op === 'missing')) return columnCond(onResourceRow ?? 'c', c.match, b);
  if (c.kind === 'has' && c.strategy === 'walk') return hasWalk(c, rid, b);
  const set = ridSetSql(c, b);
  if (set !== undefined) return `${rid} IN (${set})`;
  if (c.kind !== 'param') throw new Error(`no condition for ${c.kind}`);
  return paramNegation(rid, c.param, c.match, b);
}

/** Whether `c` can drive a page: its rid set already holds only live resources of its type. */
export function canDrive(c: Criterion): boolean {
  return c.kind !== 'column' && c.kind !== 'has' && selfValidating(c);
}

/** `rid` is a live resource of `type`. */
function liveSql(rid: string, type: string, b: Binder): string {
  const a = b.alias('l');
  return `${rid} IN (SELECT ${a}.rid FROM resources ${a} WHERE ${a}.tenant_id = $1 AND ${a}.resource_type = ${b.add(type)} AND NOT ${a}.deleted)`;
}

/** `rid` is a live resource of `type`, checked per row (an index probe; for the few candidates of a page). */
export function liveCheck(rid: string, type: string, b: Binder): string {
  const a = b.alias('l');
  return `EXISTS (SELECT 1 FROM resources ${a} WHERE ${a}.tenant_id = $1 AND ${a}.rid = ${rid} AND ${a}.resource_type = ${b.add(type)} AND NOT ${a}.deleted OFFSET 0)`;
}

/** A `_has` that scans references in target order (strategy hash or scan): its set holds only live resources of its type, in rid order, so it drives a page. */
export function drivesInTargetOrder(c: Criterion): boolean {
  return c.kind === 'has' && (c.strategy === 'hash' || c.strategy === 'scan');
}
