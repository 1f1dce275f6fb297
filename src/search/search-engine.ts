/**
 * The SearchParameter-driven engine behind the SearchEngine interface: parse (parse/), one page query (sql/page.ts),
 * includes (sql/include.ts), then the searchset Bundle assembled from stored JSON (trimmed only for _summary /
 * _elements). Writes reach it through `indexer` (index/indexer.ts).
 */
import type { BundleLink, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { TenantTx } from '../storage/db.ts';
import type { Indexer } from '../storage/resource-store.ts';
import { badRequest } from '../fhir/outcome/errors.ts';
import { serializeBundle, type RawEntry } from '../fhir/bundle/bundle.ts';
import type { QueryPairs, SearchEngine, SearchOptions, SearchResult, SupportedParam } from './engine.ts';
import { SearchParamRegistry, type SearchParam } from './registry/registry.ts';
import { SearchIndexer } from './index/indexer.ts';
import { parseSearch, type SearchRequest } from './parse/query.ts';
import { countQuery, decodeCursor, encodeCursor, pageQuery, ridsQuery, sortSignature, type CursorState } from './sql/page.ts';
import { loadIncludes, type PageResource } from './sql/include.ts';
import { Binder, canDrive, referenceKeys, ridSetSql } from './sql/criteria.ts';
import { needsTrimming, trimResource } from './result/summary.ts';

/** Most included resources returned with one page. */
export const MAX_INCLUDED = 1000;

export class RegistrySearchEngine implements SearchEngine {
  readonly registry: SearchParamRegistry;
  readonly indexer: Indexer;

  constructor(registry = new SearchParamRegistry()) {
    this.registry = registry;
    this.indexer = new SearchIndexer(registry);
  }

  parse(resourceType: string, query: QueryPairs, opts: SearchOptions): SearchRequest {
    const req = parseSearch(this.registry, resourceType, query, { baseUrl: opts.baseUrl, defaultCount: opts.defaultCount, maxCount: opts.maxCount });
    if (opts.strict && req.unknown.length > 0) {
      const u = req.unknown[0];
      throw badRequest(`Unknown or unsupported search parameter "${u.name}": ${u.reason}`, u.name.split('=')[0]);
    }
    // A _lastUpdated crawl with no indexed criterion reads in _lastUpdated order (one index range per page): in rid
    // order the planner would filter its way through every older resource, since it cannot see that recently
    // updated resources cluster at the end.
    if (req.sort.length === 0 && !req.criteria.some(canDrive) && req.criteria.some((c) => c.kind === 'column' && c.column === '_lastUpdated' && c.match.op === 'date')) {
      req.sort = [{ name: '_lastUpdated', desc: false, column: '_lastUpdated' }];
    }
    return req;
  }

  async findIds(tx: TenantTx, resourceType: string, query: QueryPairs, limit: number): Promise<string[]> {
    const req = this.parse(resourceType, query, { baseUrl: '', strict: true, defaultCount: limit, maxCount: limit });
    req.sort = [];
    await resolveTargets(tx, req);
    await planCriteria(tx, req);
    const q = pageQuery(req, tx.tenant, Math.max(1, Math.floor(limit)), undefined);
    const { rows } = await tx.query(q.text, q.values);
    return rows.map((r) => r.id as string);
  }

  /** SQL selecting the rid of every current match, unpaged (bulk export's _typeFilter); strict: unknown parameters are 400s. */
  matchingRidsQuery(tenant: string, resourceType: string, query: QueryPairs): { text: string; values: unknown[] } {
    const req = this.parse(resourceType, query, { baseUrl: '', strict: true, defaultCount: 1, maxCount: 1 });
    return ridsQuery(req, tenant);
  }

  async search(tx: TenantTx, resourceType: string, query: QueryPairs, opts: SearchOptions): Promise<SearchResult> {
    const req = this.parse(resourceType, query, opts);
    await resolveTargets(tx, req);
    await planCriteria(tx, req);
    const signature = sortSignature(req.sort);
    const cursor = req.cursor ? decodeCursor(req.cursor, signature) : undefined;
    const summaryCount = req.summary === 'count';

    let total: number | undefined;
    if (summaryCount || req.total === 'accurate') {
      const q = countQuery(req, tx.tenant);
      total = (await tx.query(q.text, q.values)).rows[0].n;
    } else if (req.total === 'estimate') {
      total = await estimate(tx, req);
    }

    const entries: RawEntry[] = [];
    const link: BundleLink[] = [];
    const warnings: OperationOutcomeIssue[] = req.unknown.map((u) => ({
      severity: 'warning', code: 'not-supported', diagnostics: `Search parameter "${u.name}" was ignored: ${u.reason}`, expression: [u.name.split('=')[0]],
    }));
    const self = req.selfPairs;
    link.push({ relation: 'self', url: searchUrl(opts.baseUrl, resourceType, req.cursor ? [...self, ['_cursor', req.cursor]] : self) });

    if (!summaryCount && req.count > 0) {
      const q = pageQuery(req, tx.tenant, req.count + 1, cursor);
      const { rows } = await tx.query(q.text, q.values);
      const back = cursor?.back === true;
      const more = rows.length > req.count;
      if (more) rows.length = req.count;
      if (back) rows.reverse();
      const keyOf = (row: Record<string, unknown>): Omit<CursorState, 'back'> => ({
        v: 1, s: signature,
        k: Array.from({ length: q.keyCount }, (_, i) => serializeKey(row[`k${i}`])),
        t: q.tiebreak === 'rid' ? Number(row.rid) : String(row.id),
      });
      if (rows.length > 0) {
        // forward: "next" exists if we read one row too many; "previous" whenever we arrived through a cursor
        const hasNext = back ? true : more;
        const hasPrev = back ? more : cursor !== undefined;
        if (hasPrev) link.push({ relation: 'previous', url: searchUrl(opts.baseUrl, resourceType, [...self, ['_cursor', encodeCursor({ ...keyOf(rows[0]), back: true })]]) });
        if (hasNext) link.push({ relation: 'next', url: searchUrl(opts.baseUrl, resourceType, [...self, ['_cursor', encodeCursor(keyOf(rows[rows.length - 1]) as CursorState)]]) });
      } else if (back && cursor) {
        link.push({ relation: 'next', url: searchUrl(opts.baseUrl, resourceType, [...self, ['_cursor', encodeCursor({ ...cursor, back: undefined } as CursorState)]]) });
      }
      const trim = needsTrimming(req.summary, req.elements);
      const matches: PageResource[] = rows.map((r) => ({ rid: Number(r.rid), type: resourceType, id: r.id, content: r.content }));
      for (const m of matches) {
        entries.push({ fullUrl: `${opts.baseUrl}/${resourceType}/${m.id}`, resourceJson: trim ? trimResource(m.content, req.summary, req.elements) : m.content, search: { mode: 'match' } });
      }
      if ((req.includes.length || req.revincludes.length) && matches.length) {
        const { included, truncated } = await loadIncludes(tx, this.registry, req.includes, req.revincludes, matches, MAX_INCLUDED);
        for (const r of included) entries.push({ fullUrl: `${opts.baseUrl}/${r.type}/${r.id}`, resourceJson: r.content, search: { mode: 'include' } });
        if (truncated) warnings.push({ severity: 'warning', code: 'too-costly', diagnostics: `Only the first ${MAX_INCLUDED} included resources are returned with a page; use a smaller _count` });
      }
    }
    if (warnings.length > 0) {
      entries.push({ resourceJson: JSON.stringify({ resourceType: 'OperationOutcome', issue: warnings }), search: { mode: 'outcome' } });
    }
    return { json: serializeBundle({ type: 'searchset', total, link, entries }), matchCount: entries.length };
  }

  supportedParams(resourceType: string): SupportedParam[] {
    return this.registry.forType(resourceType)
      .sort((a, b) => Number(b.code.startsWith('_')) - Number(a.code.startsWith('_')) || a.code.localeCompare(b.code))
      .map((p) => ({ name: p.code, type: p.type, definition: p.url, documentation: documentation(this.registry, p) }));
  }

  searchInclude(resourceType: string): string[] {
    const refs = this.registry.referenceParams(resourceType).map((p) => `${resourceType}:${p.code}`);
    return refs.length ? [...refs, `${resourceType}:*`, '*'] : [];
  }

  searchRevInclude(resourceType: string): string[] {
    return this.registry.revIncludesOf(resourceType).map((p) => `${p.resourceType}:${p.code}`);
  }
}

/** A sort key value as JSON for the cursor (pg gives ±Infinity for ±infinity timestamps). */
function serializeKey(v: unknown): string | number {
  if (v === Infinity) return 'infinity';
  if (v === -Infinity) return '-infinity';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'infinity' : v.toISOString();
  if (typeof v === 'number') return v;
  return String(v);
}

/** Looks up the rids of the reference targets the request names (one query, only when there are any). */
export async function resolveTargets(tx: TenantTx, req: SearchRequest): Promise<void> {
  const keys = referenceKeys(req.criteria);
  req.resolved = new Map();
  if (keys.length === 0) return;
  const types = keys.map((k) => k.slice(0, k.indexOf('/'))), ids = keys.map((k) => k.slice(k.indexOf('/') + 1));
  const { rows } = await tx.query(
    `SELECT r.resource_type, r.id, r.rid FROM resources r JOIN unnest($2::text[], $3::text[]) AS k(t, i) ON r.resource_type = k.t AND r.id = k.i
      WHERE r.tenant_id = $1`, [tx.tenant, types, ids]);
  for (const r of rows) req.resolved.set(`${r.resource_type}/${r.id}`, Number(r.rid));
}

/** With a driver or a `_sort`: `_has` sources counted up to this many are probed; more, and the candidates are walked. */
export const HAS_PROBE_LIMIT = 2500;
/** A `_has` alone in rid order: up to this many sources are probed, up to HAS_SCAN_MIN hashed, more probed per referrer. */
export const HAS_HASH_MIN = 300;
export const HAS_SCAN_MIN = 15000;
/** A chain driving a page in rid order: up to this many matching targets are collected, more walked. */
export const CHAIN_WALK_MIN = 160;
/** A string prefix driving a page in rid order: up to this many matching values are collected, more walked. */
export const PREFIX_WALK_MIN = 4500;

/**
 * Chooses how the criteria whose cost depends on how many rows match run, from bounded counts (index-only scans of at
 * most 15,000 entries, all in one round trip; reused for a minute per set, see strategyCounts). PostgreSQL's own choice rests on estimates that are off by
 * orders of magnitude here: string statistics are per table, not per parameter, and join estimates for popular values.
 *
 * - `_has` with a driver or `_sort`: few sources → probe their references (cost ∝ sources); many → walk the candidates,
 *   checking each one's referrers. Alone in rid order: few → probe; some → scan the references in target order against
 *   the hashed sources; many → the same scan probing each referrer (cost ∝ page / density, sequential index reads).
 * - The driver of a page in rid order, when it is a chain or a string prefix: few matches → collect and sort them
 *   (cost ∝ matches); many → walk the parameter's index rows in rid order (search_reference_source,
 *   search_string_source) and stop after a page (cost ∝ page / density).
 */
export async function planCriteria(tx: TenantTx, req: SearchRequest): Promise<void> {
  const b = new Binder(tx.tenant, req.resolved);
  const checks: { sql: string; limit: number; apply(n: number): void }[] = [];
  const ridOrder = req.sort.length === 0;
  const di = req.criteria.findIndex(canDrive);
  for (const c of req.criteria) {
    if (c.kind !== 'has') continue;
    const set = ridSetSql(c.inner, b);
    if (set === undefined) continue;
    if (ridOrder && di < 0) {
      checks.push({ sql: set, limit: HAS_SCAN_MIN, apply: (n) => { c.strategy = n <= HAS_HASH_MIN ? 'probe' : n <= HAS_SCAN_MIN ? 'hash' : 'scan'; } });
    } else {
      checks.push({ sql: set, limit: HAS_PROBE_LIMIT, apply: (n) => { c.strategy = n <= HAS_PROBE_LIMIT ? 'probe' : 'walk'; } });
    }
  }
  const driver = ridOrder && di >= 0 ? req.criteria[di] : undefined;
  if (driver?.kind === 'chain') {
    const sets = [...driver.inner.values()].map((inner) => ridSetSql(inner, b));
    if (sets.every((s) => s !== undefined)) {
      checks.push({ sql: sets.join(' UNION ALL '), limit: CHAIN_WALK_MIN, apply: (n) => { driver.strategy = n <= CHAIN_WALK_MIN ? 'collect' : 'walk'; } });
    }
  } else if (driver?.kind === 'param' && driver.match.op === 'string' && driver.match.mode === 'prefix') {
    checks.push({ sql: ridSetSql(driver, b)!, limit: PREFIX_WALK_MIN, apply: (n) => { driver.strategy = n <= PREFIX_WALK_MIN ? 'collect' : 'walk'; } });
  }
  if (checks.length === 0) return;
  // counts of the same sets (same SQL, same values, the tenant among them) are reused for a while: they only choose
  // how a query runs, never what it returns, and the popular values that dominate the traffic are the costliest to count
  const now = Date.now();
  const bound = JSON.stringify(b.values);
  const todo: { key: string; sql: string; limit: number; apply(n: number): void }[] = [];
  for (const k of checks) {
    const key = `${k.limit}\u0000${k.sql}\u0000${bound}`;
    const hit = strategyCounts.get(key);
    if (hit && now - hit.at < STRATEGY_COUNT_TTL_MS) k.apply(hit.n);
    else todo.push({ ...k, key });
  }
  if (todo.length === 0) return;
  // ($1, the tenant, is named even when no set uses it, e.g. :contains, whose function reads the tenant itself)
  const { rows } = await tx.query(`SELECT $1::text AS tenant, ${todo.map((k, i) => `(SELECT count(*)::int FROM (${k.sql} LIMIT ${k.limit + 1}) x${i}) AS n${i}`).join(', ')}`, b.values);
  todo.forEach((k, i) => {
    const n = rows[0][`n${i}`] as number;
    k.apply(n);
    strategyCounts.delete(k.key);
    strategyCounts.set(k.key, { n, at: now });
    if (strategyCounts.size > STRATEGY_COUNT_CACHE_MAX) strategyCounts.delete(strategyCounts.keys().next().value!);
  });
}

/** How long, and for how many sets, planCriteria's bounded counts are reused (per process). */
export const STRATEGY_COUNT_TTL_MS = 60_000;
export const STRATEGY_COUNT_CACHE_MAX = 10_000;
const strategyCounts = new Map<string, { n: number; at: number }>();

/** Forgets the reused counts (tests and benchmarks that time the counts themselves). */
export function clearStrategyCounts(): void { strategyCounts.clear(); }

/** The planner's row estimate for the criteria (no execution). */
async function estimate(tx: TenantTx, req: SearchRequest): Promise<number> {
  const q = countQuery(req, tx.tenant);
  const { rows } = await tx.query(`EXPLAIN (FORMAT JSON) ${q.text.replace(/^SELECT count\((DISTINCT d\.rid|\*)\)::int AS n/, (_, what) => (what === '*' ? 'SELECT 1' : 'SELECT DISTINCT d.rid'))}`, q.values);
  const plan = (rows[0]['QUERY PLAN'] as { Plan: { 'Plan Rows': number } }[])[0].Plan;
  return Math.round(plan['Plan Rows']);
}

/** CapabilityStatement text for a parameter: its modifiers, comparators and chains. */
function documentation(registry: SearchParamRegistry, p: SearchParam): string {
  const parts: string[] = [];
  if (p.description) parts.push(p.description.split('\n')[0]);
  const mods = p.storage === 'column' ? (p.code === '_id' ? ['missing', 'not'] : ['missing']) : p.modifiers;
  const modList = p.storage === 'reference' ? [...mods, ...p.targets.map((t) => t)] : mods;
  if (modList.length) parts.push(`Modifiers: ${modList.map((m) => `:${m}`).join(', ')}.`);
  if (p.comparators.length) parts.push(`Prefixes: ${p.comparators.join(', ')}.`);
  if (p.storage === 'reference') {
    const chains = new Set<string>();
    for (const t of p.targets) for (const c of registry.forType(t)) chains.add(c.code);
    parts.push(`Chains: any search parameter of ${p.targets.join(', ')} (${p.chains.length ? `the IG lists ${p.chains.join(', ')}` : 'none listed by the IG'}), and ${p.code}:Type.parameter.`);
  }
  if (p.storage === 'geo') parts.push('Value: latitude|longitude|distance|units (km default, m, mi, [mi_i]); sort by distance with _sort=near.');
  return parts.join(' ');
}

export function searchUrl(base: string, type: string, pairs: QueryPairs): string {
  const qs = new URLSearchParams(pairs).toString();
  return `${base}/${type}${qs ? `?${qs}` : ''}`;
}
