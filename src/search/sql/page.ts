/**
 * The page query: criteria, sort keys and the keyset cursor. No OFFSET anywhere: a page starts strictly after (or,
 * for a previous link, before) the sort key of the row that ended the last page, so rows inserted, updated or deleted
 * elsewhere never shift what the next page returns.
 *
 * Default order is `rid` (creation order): stable while resources are updated, and for a single-value criterion the
 * index range is already in that order, so a page reads just `_count` index entries. `_sort` orders by computed keys
 * (the min — or for descending, max — of a parameter's values) with the rid (or, for _lastUpdated/_id only, the id)
 * as tie-breaker.
 */
import { badRequest } from '../../fhir/outcome/errors.ts';
import type { SearchRequest, SortKey } from '../parse/query.ts';
import { Binder, canDrive, criterionSql, drivesInTargetOrder, ridSetSql } from './criteria.ts';

export interface CursorState { v: 1; s: string; k: (string | number)[]; t: string | number; back?: true }

export function encodeCursor(c: CursorState): string { return Buffer.from(JSON.stringify(c)).toString('base64url'); }

export function decodeCursor(raw: string, sortSignature: string): CursorState {
  let c: CursorState;
  try { c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as CursorState; } catch { c = undefined as never; }
  if (!c || c.v !== 1 || !Array.isArray(c.k) || (typeof c.t !== 'string' && typeof c.t !== 'number')) {
    throw badRequest('Invalid _cursor: use the next/previous links as given', '_cursor');
  }
  if (c.s !== sortSignature) throw badRequest('_cursor does not belong to this _sort; use the links as given', '_cursor');
  return c;
}

export function sortSignature(sort: SortKey[]): string { return sort.map((s) => `${s.desc ? '-' : ''}${s.name}`).join(','); }

interface KeyExpr { sql: string; cast: string; desc: boolean }

const FAR_TEXT = '\u{10FFFF}';
const TABLE: Record<string, string> = { token: 'search_token', string: 'search_string', reference: 'search_reference', date: 'search_date', uri: 'search_uri' };

/** The SQL for one sort key of the candidate `rid` (columns come from the resources row `c`). */
function keyExpr(k: SortKey, req: SearchRequest, b: Binder, rid: string, nearDistance: string | undefined): KeyExpr {
  if (k.column === '_lastUpdated') return { sql: 'c.last_updated', cast: 'timestamptz', desc: k.desc };
  if (k.column === '_id') return { sql: 'c.id', cast: 'text', desc: k.desc };
  const p = k.param!;
  if (k.near) {
    if (nearDistance) return { sql: nearDistance, cast: 'float8', desc: k.desc };
    const n = req.near!;
    // great-circle distance from the chord (as search_geo_near computes it; earth_distance() is much slower per row)
    return { sql: `(SELECT min(2 * earth() * asin(least(1, cube_distance(ll_to_earth(${b.add(n.lat)}::float8, ${b.add(n.lon)}::float8), g.pt) / (2 * earth()))))
      FROM search_geo g WHERE g.tenant_id = $1 AND g.pid = ${b.add(p.pid)} AND g.rid = ${rid})`, cast: 'float8', desc: k.desc };
  }
  const agg = k.desc ? 'max' : 'min';
  const where = `s.tenant_id = $1 AND s.pid = ${b.add(p.pid)} AND s.rid = ${rid}`;
  // resources without a value sort last in either direction
  switch (p.storage) {
    case 'date':
      // by the start of each value (a Period's start; a date's first instant), as HAPI does
      return { sql: `coalesce((SELECT ${agg}(s.lo) FROM search_date s WHERE ${where}), '${k.desc ? '-infinity' : 'infinity'}'::timestamptz)`, cast: 'timestamptz', desc: k.desc };
    default: {
      const col = p.storage === 'token' ? 's.code' : p.storage === 'string' ? 's.norm' : p.storage === 'uri' ? 's.uri' : "(s.target_type || '/' || s.target_id)";
      return { sql: `coalesce((SELECT ${agg}(${col}) FROM ${TABLE[p.storage]} s WHERE ${where}), ${b.add(k.desc ? '' : FAR_TEXT)}::text) COLLATE "C"`, cast: 'text', desc: k.desc };
    }
  }
}

/**
 * The candidate rids from indexes alone, when one criterion's rid set can drive the search (its rows exist only for
 * live resources of the type): the other criteria filter it, and `resources` is read only for the final page. Without
 * such a criterion (only negations, `_has`, `_id`/`_lastUpdated`, or none) the type's resources drive instead.
 */
function driven(req: SearchRequest, b: Binder, rid = 'd.rid'): { from: string; where: string[] } | undefined {
  let i = req.criteria.findIndex(canDrive);
  // else a `_has` planned to scan references in target order (only for pages in rid order)
  if (i < 0) i = req.criteria.findIndex(drivesInTargetOrder);
  if (i < 0) return undefined;
  const from = ridSetSql(req.criteria[i], b)!;
  const where = req.criteria.filter((_, j) => j !== i).map((c) => criterionSql(c, rid, b));
  return { from, where };
}

/** WHERE clauses shared by the page and the count, on the `resources` alias `c`: tenant, type, live, criteria. */
export function whereClauses(req: SearchRequest, b: Binder): string[] {
  const where = ['c.tenant_id = $1', `c.resource_type = ${b.add(req.resourceType)}`, 'NOT c.deleted'];
  for (const cr of req.criteria) where.push(criterionSql(cr, 'c.rid', b, 'c'));
  return where;
}

export interface PageQuery { text: string; values: unknown[]; keyCount: number; tiebreak: 'rid' | 'id' }

/**
 * The page query, in two levels: the inner one finds the page's rids (and sort keys) from indexes alone, the outer one
 * reads the stored JSON of just those rows. Rows carry rid, id, content and k0..kn (sort key values for the cursor).
 */
export function pageQuery(req: SearchRequest, tenant: string, limit: number, cursor: CursorState | undefined): PageQuery {
  const b = new Binder(tenant, req.resolved);
  const back = cursor?.back === true;
  if (req.sort.length === 0) {
    const dir = back ? 'DESC' : 'ASC';
    const d = driven(req, b);
    if (d) {
      if (cursor) d.where.push(`d.rid ${back ? '<' : '>'} ${b.add(cursor.t)}::bigint`);
      return {
        text: `SELECT r.rid, r.id, r.content FROM resources r
          WHERE r.tenant_id = $1 AND NOT r.deleted AND r.rid IN (
            SELECT DISTINCT d.rid FROM (${d.from}) d${d.where.length ? ` WHERE ${d.where.join(' AND ')}` : ''} ORDER BY d.rid ${dir} LIMIT ${limit})
          ORDER BY r.rid ${dir}`,
        values: b.values, keyCount: 0, tiebreak: 'rid',
      };
    }
    const where = whereClauses(req, b);
    if (cursor) where.push(`c.rid ${back ? '<' : '>'} ${b.add(cursor.t)}::bigint`);
    return {
      text: `SELECT r.rid, r.id, r.content FROM resources r
        WHERE r.tenant_id = $1 AND r.rid IN (SELECT c.rid FROM resources c WHERE ${where.join(' AND ')} ORDER BY c.rid ${dir} LIMIT ${limit})
        ORDER BY r.rid ${dir}`,
      values: b.values, keyCount: 0, tiebreak: 'rid',
    };
  }
  // Candidates: the driver's rids (index only) when there is one, else the type's resources. The tie-breaker is the
  // rid, except for sorts on columns only (_lastUpdated, _id), which walk the (last_updated, id) index with id.
  const columnsOnly = req.sort.every((k) => k.column);
  const needsRow = req.sort.some((k) => k.column);
  const join = needsRow ? ' JOIN resources c ON c.tenant_id = $1 AND c.rid = d.rid' : '';
  const di = columnsOnly ? -1 : req.criteria.findIndex(canDrive);
  const driver = di >= 0 ? req.criteria[di] : undefined;
  let from: string;
  let rid: string;
  let nearDistance: string | undefined;
  if (driver?.kind === 'param' && driver.match.op === 'near' && req.sort.some((k) => k.near)) {
    // the near search drives and its function already computes the distance
    const m = driver.match;
    const others = req.criteria.filter((_, j) => j !== di).map((c) => criterionSql(c, 'x.rid', b));
    from = `(SELECT x.rid, min(x.distance) AS distance
      FROM search_geo_near(${b.add(driver.param.pid)}, ${b.add(m.lat)}::float8, ${b.add(m.lon)}::float8, ${b.add(m.meters)}::float8) x
      ${others.length ? `WHERE ${others.join(' AND ')}` : ''} GROUP BY x.rid) d${join}`;
    rid = 'd.rid'; nearDistance = 'd.distance';
  } else if (driver) {
    const dv = driven(req, b, 'x.rid')!;
    from = `(SELECT DISTINCT x.rid FROM (${dv.from}) x${dv.where.length ? ` WHERE ${dv.where.join(' AND ')}` : ''}) d${join}`;
    rid = 'd.rid';
  } else {
    from = 'resources c';
    rid = 'c.rid';
  }
  const keys = req.sort.map((k) => keyExpr(k, req, b, rid, nearDistance));
  const tiebreak: KeyExpr = columnsOnly ? { sql: 'c.id', cast: 'text', desc: keys[keys.length - 1].desc } : { sql: rid, cast: 'bigint', desc: keys[keys.length - 1].desc };
  const all: KeyExpr[] = [...keys, tiebreak];
  const dir = (k: KeyExpr) => (k.desc !== back ? 'DESC' : 'ASC');
  const order = (alias: string) => all.map((k, i) => `${alias}.k${i} ${dir(k)}`).join(', ');
  const where = driver ? [] : whereClauses(req, b);
  const inner = `SELECT ${rid} AS rid, ${all.map((k, i) => `${k.sql} AS k${i}`).join(', ')} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  let keyset = '';
  if (cursor) {
    if (cursor.k.length !== keys.length) throw badRequest('Invalid _cursor for this _sort', '_cursor');
    const vals = [...cursor.k, cursor.t].map((v, i) => `${b.add(v)}::${all[i].cast}`);
    const sameDir = all.every((k) => k.desc === all[0].desc);
    if (sameDir) {
      const op = (all[0].desc !== back) ? '<' : '>';
      keyset = `WHERE (${all.map((_, i) => `q.k${i}`).join(', ')}) ${op} (${vals.join(', ')})`;
    } else {
      const ors = all.map((k, i) => [...all.slice(0, i).map((_, j) => `q.k${j} = ${vals[j]}`), `q.k${i} ${(k.desc !== back) ? '<' : '>'} ${vals[i]}`].join(' AND '));
      keyset = `WHERE (${ors.map((o) => `(${o})`).join(' OR ')})`;
    }
  }
  return {
    text: `SELECT r.rid, r.id, r.content, ${all.map((_, i) => `p.k${i}`).join(', ')}
      FROM (SELECT q.* FROM (${inner}) q ${keyset} ORDER BY ${order('q')} LIMIT ${limit}) p
      JOIN resources r ON r.tenant_id = $1 AND r.rid = p.rid AND NOT r.deleted
      ORDER BY ${order('p')}`,
    values: b.values, keyCount: keys.length, tiebreak: columnsOnly ? 'id' : 'rid',
  };
}

/** `SELECT count(*)` over the same criteria. */
export function countQuery(req: SearchRequest, tenant: string): { text: string; values: unknown[] } {
  const b = new Binder(tenant, req.resolved);
  const d = driven(req, b);
  if (d) return { text: `SELECT count(DISTINCT d.rid)::int AS n FROM (${d.from}) d${d.where.length ? ` WHERE ${d.where.join(' AND ')}` : ''}`, values: b.values };
  const where = whereClauses(req, b);
  return { text: `SELECT count(*)::int AS n FROM resources c WHERE ${where.join(' AND ')}`, values: b.values };
}

/** Every matching rid, unordered and unpaged (for streaming consumers such as bulk export's _typeFilter). */
export function ridsQuery(req: SearchRequest, tenant: string): { text: string; values: unknown[] } {
  const b = new Binder(tenant, req.resolved);
  const d = driven(req, b);
  if (d) return { text: `SELECT DISTINCT d.rid FROM (${d.from}) d${d.where.length ? ` WHERE ${d.where.join(' AND ')}` : ''}`, values: b.values };
  return { text: `SELECT c.rid FROM resources c WHERE ${whereClauses(req, b).join(' AND ')}`, values: b.values };
}
