/**
 * The data quality and freshness checks, each one SQL query over the stored resources and the search index tables
 * (src/storage/migrations/001-core.ts, 002-search.ts), run in the tenant's read-only transaction (RLS; every query
 * also names tenant_id = $1 so the indexes, which all lead with tenant_id, are used). A check's query yields one row
 * per finding with its sort key; the same query serves the figure (GROUP BY type), the page behind it (keyset paging
 * on the sort key, LIMIT) and the CSV (a cursor), so nothing holds a whole table in memory.
 *
 * Parameters: $1 tenant, $2 the resource types to look at (text[]), $3 the check's own value (pids or a time).
 */
import type { SearchParamRegistry } from '../../search/registry/registry.ts';
import { CLIA_SYSTEM, NAIC_SYSTEM, NPI_SYSTEM } from '../../validation/checks.ts';
import { PLAN_NET_TYPES } from '../../validation/validator.ts';

export interface Column { col: string; label: string }

export interface Check {
  id: string;
  /** Section of the dashboard. */
  group: 'Validation warnings' | 'Missing data' | 'References' | 'Freshness';
  title: string;
  /** What the figure counts and how; shown above the figure and on the list page. */
  explain: string;
  types: readonly string[];
  /** Sort key columns (in order) with their SQL types, for the keyset cursor. */
  keys: { col: string; cast: string }[];
  /** Columns after Resource and Last updated, for the list and the CSV. */
  columns: Column[];
  sql: string;
  /** The value of $3, if the query has one. */
  param?: unknown;
}

/** A display name from the stored JSON (string name, or the first HumanName). */
const nameSql = (c: string) => `(SELECT CASE jsonb_typeof(j->'name') WHEN 'string' THEN j->>'name'
    WHEN 'array' THEN coalesce(j->'name'->0->>'text', nullif(concat_ws(' ', j->'name'->0->'given'->>0, j->'name'->0->'given'->>1, j->'name'->0->>'family'), '')) END
  FROM (SELECT ${c}::jsonb AS j) x)`;

/** True when a 10-digit NPI's check digit is right: Luhn over '80840' + the NPI (as src/validation/npi.ts). */
export const npiLuhnOk = (code: string) => `(SELECT sum(CASE WHEN g % 2 = 0 THEN (CASE WHEN d > 4 THEN 2 * d - 9 ELSE 2 * d END) ELSE d END) % 10 = 0
  FROM (SELECT g, substr('80840' || ${code}, g, 1)::int AS d FROM generate_series(1, 15) g) x)`;

const CURRENT = 'r.tenant_id = $1 AND NOT r.deleted AND r.resource_type = ANY($2::text[])';
export const STALE_DAYS = 90;
export const PHONE_TYPES = ['Organization', 'Location', 'PractitionerRole', 'HealthcareService'];

export function qualityChecks(registry: SearchParamRegistry, publishedAt: Date | undefined): Check[] {
  const pids = (types: readonly string[], code: string) => [...new Set(types.map((t) => registry.get(t, code)?.pid).filter((p): p is number => p !== undefined))];
  const referencePids = [...new Set(PLAN_NET_TYPES.flatMap((t) => registry.referenceParams(t).map((p) => p.pid)))];
  const checks: Check[] = [
    {
      id: 'identifiers', group: 'Validation warnings', title: 'Identifier warnings (NPI, CLIA, NAIC)',
      explain: 'Identifiers the validator warns about (US Core 7 / Plan-Net 1.2.0, warnings unless the tenant is strict): an NPI that is not 10 digits (us-core-16) or whose check digit is wrong (us-core-17) on a Practitioner or Organization; a CLIA number (us-core-18) or NAIC code (us-core-19) of the wrong form on an Organization. Counted from the identifier search index.',
      types: ['Practitioner', 'Organization'],
      keys: [{ col: 'rid', cast: 'bigint' }, { col: 'system', cast: 'text' }, { col: 'code', cast: 'text' }],
      columns: [{ col: 'system', label: 'Identifier system' }, { col: 'code', label: 'Value' }, { col: 'problem', label: 'Warning' }],
      param: pids(['Practitioner', 'Organization'], 'identifier'),
      sql: `SELECT r.rid, r.resource_type, r.id, r.last_updated, ${nameSql('r.content')} AS name, t.system COLLATE "default" AS system, t.code COLLATE "default" AS code,
          CASE WHEN t.system = '${NPI_SYSTEM}' AND t.code !~ '^[0-9]{10}$' THEN 'us-core-16: an NPI must be exactly 10 digits'
               WHEN t.system = '${NPI_SYSTEM}' THEN 'us-core-17: the NPI check digit is wrong'
               WHEN t.system = '${CLIA_SYSTEM}' THEN 'us-core-18: a CLIA number is 2 digits, D, 7 digits'
               ELSE 'us-core-19: a NAIC code is 5 digits' END AS problem
        FROM search_token t JOIN resources r ON r.tenant_id = t.tenant_id AND r.rid = t.rid
       WHERE t.tenant_id = $1 AND t.pid = ANY($3::int[]) AND ${CURRENT}
         AND ((t.system = '${NPI_SYSTEM}' AND r.resource_type IN ('Practitioner', 'Organization')
               AND CASE WHEN t.code ~ '^[0-9]{10}$' THEN NOT ${npiLuhnOk('t.code')} ELSE true END)
           OR (t.system = '${CLIA_SYSTEM}' AND r.resource_type = 'Organization' AND t.code !~ '^[0-9]{2}D[0-9]{7}$')
           OR (t.system = '${NAIC_SYSTEM}' AND r.resource_type = 'Organization' AND t.code !~ '^[0-9]{5}$'))`,
    },
    {
      id: 'no-position', group: 'Missing data', title: 'Locations without a position',
      explain: 'Current Locations with no latitude/longitude (Location.position): they cannot be found by distance (near) and count for nothing in network adequacy. Found as Locations with no row in the position index.',
      types: ['Location'],
      keys: [{ col: 'rid', cast: 'bigint' }],
      columns: [{ col: 'problem', label: 'Problem' }],
      param: pids(['Location'], 'near'),
      sql: `SELECT r.rid, r.resource_type, r.id, r.last_updated, ${nameSql('r.content')} AS name, 'no position' AS problem
        FROM resources r
       WHERE ${CURRENT} AND NOT EXISTS (SELECT 1 FROM search_geo g WHERE g.tenant_id = $1 AND g.rid = r.rid AND g.pid = ANY($3::int[]))`,
    },
    {
      id: 'no-phone', group: 'Missing data', title: 'Records without a phone number',
      explain: `Current ${PHONE_TYPES.join(', ')} records with no telecom of system phone (networks, Organizations of type ntwk, are left out). No search parameter indexes phone numbers, so this reads the stored JSON of each record of these types inside the database (no rows come to the server but the findings).`,
      types: PHONE_TYPES,
      keys: [{ col: 'rid', cast: 'bigint' }],
      columns: [{ col: 'problem', label: 'Problem' }],
      sql: `SELECT r.rid, r.resource_type, r.id, r.last_updated, ${nameSql('r.content')} AS name, 'no phone number' AS problem
        FROM resources r
       WHERE ${CURRENT} AND NOT (r.content::jsonb @? '$.telecom[*] ? (@.system == "phone")')
         AND NOT (r.resource_type = 'Organization' AND r.content::jsonb @? '$.type[*].coding[*] ? (@.code == "ntwk")')`,
    },
    {
      id: 'dangling', group: 'References', title: 'Dangling references',
      explain: 'References from current records to records that are not in this tenant: never stored (the reference index keeps a stand-in for them), or deleted. Covers every reference a search parameter indexes (organization, location, network, practitioner, endpoint, service, coverage area, …); references to other servers (absolute URLs) are not counted.',
      types: PLAN_NET_TYPES,
      keys: [{ col: 'rid', cast: 'bigint' }, { col: 'pid', cast: 'integer' }, { col: 'reference', cast: 'text' }],
      columns: [{ col: 'reference', label: 'Reference' }, { col: 'problem', label: 'Problem' }],
      param: referencePids,
      sql: `SELECT r.rid, r.resource_type, r.id, r.last_updated, ${nameSql('r.content')} AS name, s.pid, (s.target_type || '/' || s.target_id) COLLATE "default" AS reference, 'not in this tenant' AS problem
        FROM search_reference s JOIN resources r ON r.tenant_id = s.tenant_id AND r.rid = s.rid
       WHERE s.tenant_id = $1 AND s.target_rid < 0 AND s.target_type <> '' AND s.pid = ANY($3::int[]) AND ${CURRENT}
      UNION ALL
      SELECT r.rid, r.resource_type, r.id, r.last_updated, ${nameSql('r.content')} AS name, s.pid, (s.target_type || '/' || s.target_id) COLLATE "default" AS reference, 'deleted' AS problem
        FROM resources d JOIN search_reference s ON s.tenant_id = d.tenant_id AND s.pid = ANY($3::int[]) AND s.target_rid = d.rid
        JOIN resources r ON r.tenant_id = s.tenant_id AND r.rid = s.rid
       WHERE d.tenant_id = $1 AND d.deleted AND ${CURRENT}`,
    },
    {
      id: 'not-verified', group: 'Freshness', title: `Not verified in ${STALE_DAYS} days`,
      explain: `Current records whose meta.lastUpdated is more than ${STALE_DAYS} days ago. A record counts as verified when the plan last confirmed it: any accepted write (an edit, an API update, or a load of the record from the plan's verified source, even unchanged) makes a new version stamped with the server's time. CMS expects provider data to be verified at least every 90 days. Read from the (tenant, type, lastUpdated) index.`,
      types: PLAN_NET_TYPES,
      keys: [{ col: 'last_updated', cast: 'timestamptz' }, { col: 'rid', cast: 'bigint' }],
      columns: [{ col: 'age_days', label: 'Days since last verified' }],
      sql: `SELECT r.rid, r.resource_type, r.id, r.last_updated, ${nameSql('r.content')} AS name, floor(extract(epoch FROM now() - r.last_updated) / 86400)::int AS age_days
        FROM resources r
       WHERE ${CURRENT} AND r.last_updated < now() - interval '${STALE_DAYS} days'`,
    },
  ];
  if (publishedAt) {
    checks.push({
      id: 'unpublished', group: 'Freshness', title: 'Changes not yet in the published files',
      explain: `Versions written after the last bulk publication (${publishedAt.toISOString()}): live in the API and its searches since their commit, but not yet in the static NDJSON files at $bulk-publish until the next publication (BULK_PUBLISH_CRON, POST $bulk-publish or npm run publish). Read from the history time index.`,
      types: PLAN_NET_TYPES,
      keys: [{ col: 'last_updated', cast: 'timestamptz' }, { col: 'resource_type', cast: 'text' }, { col: 'id', cast: 'text' }, { col: 'version', cast: 'integer' }],
      columns: [{ col: 'version', label: 'Version' }, { col: 'change', label: 'Change' }],
      param: publishedAt.toISOString(),
      sql: `SELECT NULL::bigint AS rid, h.resource_type, h.id, h.last_updated, ${nameSql('h.content')} AS name, h.version_id AS version,
          CASE WHEN h.deleted THEN 'deleted' WHEN h.version_id = 1 THEN 'created' ELSE 'updated' END AS change
        FROM resource_history h
       WHERE h.tenant_id = $1 AND h.resource_type = ANY($2::text[]) AND h.last_updated > $3::timestamptz`,
    });
  }
  return checks;
}

export interface Cursor { values: unknown[] }

export function encodeKey(values: unknown[]): string { return Buffer.from(JSON.stringify(values)).toString('base64url'); }
export function decodeKey(s: string, n: number): unknown[] | undefined {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    return Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'string' || typeof x === 'number') ? v : undefined;
  } catch { return undefined; }
}

const params = (c: Check, tenant: string, types: readonly string[]): unknown[] => [tenant, [...types], ...(c.param !== undefined ? [c.param] : [])];
const keyCols = (c: Check) => c.keys.map((k) => `q.${k.col}`).join(', ');
/** Sort keys as text, so timestamps keep their microseconds through the cursor. */
const keyText = (c: Check) => c.keys.map((k, i) => `q.${k.col}::text AS k${i}`).join(', ');

/** Findings per resource type: records (distinct) and findings. */
export function countSql(c: Check, tenant: string, types = c.types): { text: string; values: unknown[] } {
  const distinct = c.keys[0]!.col === 'rid' ? 'count(DISTINCT q.rid)' : 'count(DISTINCT (q.resource_type, q.id))';
  return { text: `SELECT q.resource_type, count(*)::int AS findings, ${distinct}::int AS records FROM (${c.sql}) q GROUP BY q.resource_type`, values: params(c, tenant, types) };
}

/** One page of findings after a key (keyset), in key order; `limit` = page size + 1 tells whether more follow. */
export function pageSql(c: Check, tenant: string, types: readonly string[], after: unknown[] | undefined, limit: number): { text: string; values: unknown[] } {
  const values = params(c, tenant, types);
  let where = '';
  if (after) {
    const start = values.length + 1;
    values.push(...after);
    where = `WHERE (${keyCols(c)}) > (${c.keys.map((k, i) => `$${start + i}::${k.cast}`).join(', ')})`;
  }
  values.push(limit);
  return { text: `SELECT q.*, ${keyText(c)} FROM (${c.sql}) q ${where} ORDER BY ${keyCols(c)} LIMIT $${values.length}`, values };
}

/** Every finding in key order (for the CSV, read through a cursor). */
export function allSql(c: Check, tenant: string, types: readonly string[]): { text: string; values: unknown[] } {
  return { text: `SELECT q.* FROM (${c.sql}) q ORDER BY ${keyCols(c)}`, values: params(c, tenant, types) };
}
