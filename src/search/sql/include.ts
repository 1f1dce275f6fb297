/**
 * `_include` and `_revinclude` for one page: one query per direction per round, over the reference index joined on
 * tenant_id (a reference can never pull in another tenant's resource). `:iterate` repeats on what the previous round
 * added, a bounded number of rounds; the total is capped.
 */
import type { TenantTx } from '../../storage/db.ts';
import type { IncludeSpec } from '../parse/query.ts';
import type { SearchParamRegistry } from '../registry/registry.ts';

export interface PageResource { rid: number; type: string; id: string; content: string }

export const MAX_INCLUDE_ROUNDS = 4;

export interface Expanded { pids: number[]; sourceType: string; targetType?: string }

/** Concrete (pid, source type, target filter) sets for the specs that apply to resources of `types`. */
export function expandForward(registry: SearchParamRegistry, specs: IncludeSpec[], types: Set<string>): Expanded[] {
  const out: Expanded[] = [];
  for (const s of specs) {
    const sources = s.sourceType === '*' ? [...types] : types.has(s.sourceType) ? [s.sourceType] : [];
    for (const src of sources) {
      const params = s.wildcard ? registry.referenceParams(src) : [s.param!];
      if (params.length) out.push({ pids: [...new Set(params.map((p) => p.pid))], sourceType: src, targetType: s.targetType });
    }
  }
  return out;
}

/** Concrete (pid, target type) sets for revincludes pointing at resources of `types` (pids imply the source type). */
export function expandReverse(registry: SearchParamRegistry, specs: IncludeSpec[], types: Set<string>): { pids: number[]; targetType: string }[] {
  const out: { pids: number[]; targetType: string }[] = [];
  for (const s of specs) {
    for (const target of types) {
      const params = s.wildcard
        ? registry.revIncludesOf(target).filter((p) => s.sourceType === '*' || p.resourceType === s.sourceType)
        : s.param!.targets.includes(target) && (!s.targetType || s.targetType === target) ? [s.param!] : [];
      if (params.length) out.push({ pids: [...new Set(params.map((p) => p.pid))], targetType: target });
    }
  }
  return out;
}

/** The query for the resources `from` references through `groups` (undefined when there is nothing to look up). */
export function forwardQuery(tenant: string, groups: Expanded[], from: PageResource[], limit: number): { text: string; values: unknown[] } | undefined {
  if (!groups.length || !from.length) return undefined;
  const values: unknown[] = [tenant];
  const add = (v: unknown) => { values.push(v); return `$${values.length}`; };
  const ors = groups.map((g) => {
    const rids = from.filter((r) => r.type === g.sourceType).map((r) => r.rid);
    if (!rids.length) return undefined;
    return `(ref.rid = ANY(${add(rids)}::bigint[]) AND ref.pid = ANY(${add(g.pids)}::int[])${g.targetType ? ` AND ref.target_type = ${add(g.targetType)}` : ''})`;
  }).filter(Boolean);
  if (!ors.length) return undefined;
  return {
    text: `SELECT t.rid, t.resource_type, t.id, t.content FROM resources t
      WHERE t.tenant_id = $1 AND NOT t.deleted AND t.rid IN (
        SELECT ref.target_rid FROM search_reference ref WHERE ref.tenant_id = $1 AND (${ors.join(' OR ')}))
      ORDER BY t.rid LIMIT ${limit}`,
    values,
  };
}

async function run(tx: TenantTx, q: { text: string; values: unknown[] } | undefined): Promise<PageResource[]> {
  if (!q) return [];
  const { rows } = await tx.query(q.text, q.values);
  return rows.map((r) => ({ rid: Number(r.rid), type: r.resource_type, id: r.id, content: r.content }));
}

/** The query for the resources referencing `to` through `groups`. */
export function reverseQuery(tenant: string, groups: { pids: number[]; targetType: string }[], to: PageResource[], limit: number): { text: string; values: unknown[] } | undefined {
  if (!groups.length || !to.length) return undefined;
  const values: unknown[] = [tenant];
  const add = (v: unknown) => { values.push(v); return `$${values.length}`; };
  const ors = groups.map((g) => {
    if (!to.some((r) => r.type === g.targetType)) return undefined;
    const rids = to.filter((r) => r.type === g.targetType).map((r) => r.rid);
    return `(ref.pid = ANY(${add(g.pids)}::int[]) AND ref.target_rid = ANY(${add(rids)}::bigint[]))`;
  }).filter(Boolean);
  if (!ors.length) return undefined;
  return {
    text: `SELECT s.rid, s.resource_type, s.id, s.content FROM resources s
      WHERE s.tenant_id = $1 AND NOT s.deleted AND s.rid IN (
        SELECT ref.rid FROM search_reference ref WHERE ref.tenant_id = $1 AND (${ors.join(' OR ')}))
      ORDER BY s.rid LIMIT ${limit}`,
    values,
  };
}

/** Included resources for a page (matches excluded), and whether the cap cut the list short. */
export async function loadIncludes(tx: TenantTx, registry: SearchParamRegistry, includes: IncludeSpec[], revincludes: IncludeSpec[],
  matches: PageResource[], cap: number): Promise<{ included: PageResource[]; truncated: boolean }> {
  const seen = new Set<number>(matches.map((m) => m.rid));
  const included: PageResource[] = [];
  let truncated = false;
  const addNew = (rows: PageResource[]) => {
    const fresh: PageResource[] = [];
    for (const r of rows) {
      if (seen.has(r.rid)) continue;
      if (included.length >= cap) { truncated = true; break; }
      seen.add(r.rid); included.push(r); fresh.push(r);
    }
    return fresh;
  };
  // round 1: every include applies to the matches
  const types = new Set(matches.map((m) => m.type));
  let frontier = addNew([
    ...await run(tx, forwardQuery(tx.tenant, expandForward(registry, includes, types), matches, cap + 1)),
    ...await run(tx, reverseQuery(tx.tenant, expandReverse(registry, revincludes, types), matches, cap + 1)),
  ]);
  // later rounds: only :iterate includes, applied to what the previous round added
  const itInc = includes.filter((s) => s.iterate), itRev = revincludes.filter((s) => s.iterate);
  for (let round = 1; round < MAX_INCLUDE_ROUNDS && frontier.length && (itInc.length || itRev.length) && !truncated; round++) {
    const ft = new Set(frontier.map((m) => m.type));
    frontier = addNew([
      ...await run(tx, forwardQuery(tx.tenant, expandForward(registry, itInc, ft), frontier, cap + 1)),
      ...await run(tx, reverseQuery(tx.tenant, expandReverse(registry, itRev, ft), frontier, cap + 1)),
    ]);
  }
  return { included, truncated };
}
