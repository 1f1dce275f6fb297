/**
 * The storage Indexer: writeBatch calls it inside the write transaction, so a resource is never visible without its
 * index rows. A batch costs one statement for all tables (data-modifying CTEs, each an INSERT ... SELECT FROM unnest),
 * whatever the batch size.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { TenantTx } from '../../storage/db.ts';
import type { Indexer } from '../../storage/resource-store.ts';
import type { SearchParamRegistry } from '../registry/registry.ts';
import { extractRows, type IndexRows } from './extract.ts';
import { unresolvedRid } from './normalize.ts';

export const INDEX_TABLES = ['search_token', 'search_string', 'search_reference', 'search_date', 'search_uri', 'search_geo'] as const;

/** One INSERT statement (as CTEs) for every non-empty table of `rows`; undefined when there is nothing to write. */
export function insertStatement(tenant: string, rows: IndexRows, written: { rid: number; type: string; id: string }[] = []): { text: string; values: unknown[] } | undefined {
  const values: unknown[] = [tenant];
  const p = (v: unknown) => { values.push(v); return `$${values.length}`; };
  const parts: string[] = [];
  const { token, string, reference, date, uri, geo } = rows;
  if (token.pid.length) parts.push(`INSERT INTO search_token (tenant_id, pid, rid, system, code)
    SELECT $1, * FROM unnest(${p(token.pid)}::int[], ${p(token.rid)}::bigint[], ${p(token.system)}::text[], ${p(token.code)}::text[])`);
  if (string.pid.length) parts.push(`INSERT INTO search_string (tenant_id, pid, rid, norm, exact, trgm)
    SELECT $1, * FROM unnest(${p(string.pid)}::int[], ${p(string.rid)}::bigint[], ${p(string.norm)}::text[], ${p(string.exact)}::text[], ${p(string.trgm)}::bool[])`);
  // local references resolve to the target's rid when the target exists (the batch's own resources already do),
  // else get their stand-in (see normalize.ts unresolvedRid)
  if (reference.pid.length) parts.push(`INSERT INTO search_reference (tenant_id, pid, rid, target_type, target_id, url, target_rid)
    SELECT $1, x.pid, x.rid, x.t, x.i, x.u, coalesce(r.rid, x.h)
      FROM unnest(${p(reference.pid)}::int[], ${p(reference.rid)}::bigint[], ${p(reference.type)}::text[], ${p(reference.id)}::text[], ${p(reference.url)}::text[], ${p(reference.standIn)}::bigint[]) AS x(pid, rid, t, i, u, h)
      LEFT JOIN resources r ON r.tenant_id = $1 AND r.resource_type = x.t AND r.id = x.i AND x.u IS NULL`);
  if (date.pid.length) parts.push(`INSERT INTO search_date (tenant_id, pid, rid, lo, hi)
    SELECT $1, * FROM unnest(${p(date.pid)}::int[], ${p(date.rid)}::bigint[], ${p(date.lo)}::timestamptz[], ${p(date.hi)}::timestamptz[])`);
  if (uri.pid.length) parts.push(`INSERT INTO search_uri (tenant_id, pid, rid, uri)
    SELECT $1, * FROM unnest(${p(uri.pid)}::int[], ${p(uri.rid)}::bigint[], ${p(uri.uri)}::text[])`);
  if (geo.pid.length) parts.push(`INSERT INTO search_geo (tenant_id, pid, rid, lat, lon, pt)
    SELECT $1, g.pid, g.rid, g.lat, g.lon, ll_to_earth(g.lat, g.lon)
      FROM unnest(${p(geo.pid)}::int[], ${p(geo.rid)}::bigint[], ${p(geo.lat)}::float8[], ${p(geo.lon)}::float8[]) AS g(pid, rid, lat, lon)`);
  // earlier references to the resources just written, made before they existed, now resolve
  if (written.length) parts.push(`UPDATE search_reference s SET target_rid = w.rid
      FROM unnest(${p(written.map((w) => unresolvedRid(`${w.type}/${w.id}`)))}::bigint[], ${p(written.map((w) => w.rid))}::bigint[]) AS w(h, rid)
     WHERE s.tenant_id = $1 AND s.target_rid < 0 AND s.target_rid = w.h`);
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return { text: parts[0], values };
  return { text: `WITH ${parts.slice(1).map((s, i) => `w${i} AS (${s})`).join(', ')} ${parts[0]}`, values };
}

export class SearchIndexer implements Indexer {
  readonly #registry: SearchParamRegistry;
  constructor(registry: SearchParamRegistry) { this.#registry = registry; }

  async index(tx: TenantTx, items: { rid: number; resource: Resource }[]): Promise<void> {
    const written = items.map((i) => ({ rid: i.rid, type: i.resource.resourceType, id: i.resource.id! }));
    const stmt = insertStatement(tx.tenant, extractRows(this.#registry, items), written);
    if (stmt) await tx.query(stmt.text, stmt.values);
  }

  async remove(tx: TenantTx, rids: number[]): Promise<void> {
    if (rids.length === 0) return;
    await tx.query(`WITH ${INDEX_TABLES.slice(1).map((t, i) => `d${i} AS (DELETE FROM ${t} WHERE tenant_id = $1 AND rid = ANY($2::bigint[]))`).join(', ')}
      DELETE FROM ${INDEX_TABLES[0]} WHERE tenant_id = $1 AND rid = ANY($2::bigint[])`, [tx.tenant, rids]);
  }
}
