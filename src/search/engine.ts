/**
 * Search: turns a FHIR query into one SQL statement over the tenant's resources and assembles the searchset page.
 *
 * This is the foundation's engine: `_id`, `_lastUpdated`, `_count`, `_total`, `_summary=count`, `_sort=_lastUpdated`
 * and opaque keyset cursors. The search-parameter registry (index tables built from the IG's SearchParameters)
 * extends it behind the same interface.
 */
import type { BundleLink, Resource } from '@medplum/fhirtypes';
import type { TenantTx } from '../storage/db.ts';
import { NO_INDEXER, type Indexer } from '../storage/resource-store.ts';
import { FhirError, badRequest } from '../fhir/outcome/errors.ts';
import { parseDateRange, splitPrefix, instantCondition } from './date-range.ts';
import { serializeBundle, type RawEntry } from '../fhir/bundle/bundle.ts';

export type QueryPairs = [string, string][];

export interface SearchOptions {
  /** Absolute FHIR base of the tenant, e.g. http://host/t/acme/fhir */
  baseUrl: string;
  /** Prefer: handling=strict → unknown parameters are errors. */
  strict: boolean;
  defaultCount: number;
  maxCount: number;
}

export interface SearchResult {
  /** Serialized searchset Bundle. */
  json: string;
  matchCount: number;
}

export interface SupportedParam { name: string; type: string; definition?: string; documentation?: string }

export interface SearchEngine {
  readonly indexer: Indexer;
  search(tx: TenantTx, resourceType: string, query: QueryPairs, opts: SearchOptions): Promise<SearchResult>;
  /** Ids of current resources matching a query (conditional create/update). */
  findIds(tx: TenantTx, resourceType: string, query: QueryPairs, limit: number): Promise<string[]>;
  /** Search parameters supported for a type (for the CapabilityStatement). */
  supportedParams(resourceType: string): SupportedParam[];
  /**
   * SQL selecting the `rid` of every current resource of `resourceType` that matches `query`: no paging, no order, so
   * a caller can stream any number of matches through a cursor (bulk export's `_typeFilter`). `$1` is the tenant and
   * `values[0]` is `tenant`. Unknown or invalid parameters throw a 400 FhirError (strict handling).
   */
  matchingRidsQuery?(tenant: string, resourceType: string, query: QueryPairs): { text: string; values: unknown[] };
}

/** Result parameters every engine understands. */
export const RESULT_PARAMS = new Set(['_count', '_sort', '_total', '_summary', '_elements', '_include', '_revinclude', '_format', '_pretty', '_cursor', '_contained', '_containedType']);

interface Cursor { lu: string; id: string; dir: 'asc' | 'desc' }

export function encodeCursor(c: object): string { return Buffer.from(JSON.stringify(c)).toString('base64url'); }
export function decodeCursor<T>(s: string): T {
  try { return JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as T; } catch { throw badRequest('Invalid _cursor: use the next/previous links as given', '_cursor'); }
}

export function parseCount(raw: string | undefined, opts: SearchOptions): number {
  if (raw === undefined) return opts.defaultCount;
  if (!/^\d{1,9}$/.test(raw)) throw badRequest(`_count must be a non-negative integer, got "${raw}"`, '_count');
  return Math.min(Number(raw), opts.maxCount);
}

const BASE_PARAMS: SupportedParam[] = [
  { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
  { name: '_lastUpdated', type: 'date', definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated' },
];

export class BasicSearchEngine implements SearchEngine {
  readonly indexer: Indexer = NO_INDEXER;

  supportedParams(): SupportedParam[] { return BASE_PARAMS; }

  #where(tx: TenantTx, resourceType: string, query: QueryPairs, strict: boolean, params: unknown[], ignored: string[]): string[] {
    const add = (v: unknown) => { params.push(v); return `$${params.length}`; };
    const where = [`tenant_id = ${add(tx.tenant)}`, `resource_type = ${add(resourceType)}`, 'NOT deleted'];
    for (const [name, value] of query) {
      if (RESULT_PARAMS.has(name)) continue;
      if (name === '_id') {
        const ids = value.split(',').filter(Boolean);
        if (ids.length === 0) throw badRequest('_id needs a value', '_id');
        where.push(`id = ANY(${add(ids)}::text[])`);
      } else if (name === '_lastUpdated') {
        const ors = value.split(',').map((v) => { const { prefix, value: dv } = splitPrefix(v); return instantCondition('last_updated', prefix, parseDateRange(dv, '_lastUpdated'), add); });
        where.push(`(${ors.join(' OR ')})`);
      } else if (strict) {
        throw badRequest(`Unknown or unsupported search parameter "${name}" for ${resourceType}`, name);
      } else ignored.push(name);
    }
    return where;
  }

  matchingRidsQuery(tenant: string, resourceType: string, query: QueryPairs): { text: string; values: unknown[] } {
    const values: unknown[] = [];
    const where = this.#where({ tenant } as TenantTx, resourceType, query.filter(([k]) => !RESULT_PARAMS.has(k)), true, values, []);
    return { text: `SELECT rid FROM resources WHERE ${where.join(' AND ')}`, values };
  }

  async findIds(tx: TenantTx, resourceType: string, query: QueryPairs, limit: number): Promise<string[]> {
    const params: unknown[] = [];
    const where = this.#where(tx, resourceType, query, true, params, []);
    const { rows } = await tx.query(`SELECT id FROM resources WHERE ${where.join(' AND ')} LIMIT ${Number(limit)}`, params);
    return rows.map((r) => r.id);
  }

  async search(tx: TenantTx, resourceType: string, query: QueryPairs, opts: SearchOptions): Promise<SearchResult> {
    const get = (n: string) => query.find(([k]) => k === n)?.[1];
    const count = parseCount(get('_count'), opts);
    const summary = get('_summary');
    const totalMode = get('_total') ?? 'none';
    if (!['none', 'estimate', 'accurate'].includes(totalMode)) throw badRequest('_total must be none, estimate or accurate', '_total');
    const sort = get('_sort') ?? '_lastUpdated';
    if (!['_lastUpdated', '-_lastUpdated', '_id'].includes(sort)) {
      throw badRequest(`_sort=${sort} is not supported; use _lastUpdated or -_lastUpdated`, '_sort');
    }
    const desc = sort === '-_lastUpdated';
    const params: unknown[] = [];
    const ignored: string[] = [];
    const where = this.#where(tx, resourceType, query, opts.strict, params, ignored);
    const add = (v: unknown) => { params.push(v); return `$${params.length}`; };

    let total: number | undefined;
    if (summary === 'count' || totalMode === 'accurate' || totalMode === 'estimate') {
      const { rows } = await tx.query(`SELECT count(*) AS n FROM resources WHERE ${where.join(' AND ')}`, params);
      total = rows[0].n;
    }
    const cursorRaw = get('_cursor');
    const cursor = cursorRaw ? decodeCursor<Cursor>(cursorRaw) : undefined;
    let entries: RawEntry[] = [];
    let next: Cursor | undefined;
    if (summary !== 'count' && count > 0) {
      const pageWhere = [...where];
      if (cursor) pageWhere.push(`(last_updated, id) ${cursor.dir === 'desc' ? '<' : '>'} (${add(cursor.lu)}::timestamptz, ${add(cursor.id)})`);
      const dir = desc ? 'DESC' : 'ASC';
      const { rows } = await tx.query(
        `SELECT id, last_updated, content FROM resources WHERE ${pageWhere.join(' AND ')} ORDER BY last_updated ${dir}, id ${dir} LIMIT ${count + 1}`, params);
      if (rows.length > count) {
        const last = rows[count - 1];
        next = { lu: new Date(last.last_updated).toISOString(), id: last.id, dir: desc ? 'desc' : 'asc' };
        rows.length = count;
      }
      entries = rows.map((r) => ({ fullUrl: `${opts.baseUrl}/${resourceType}/${r.id}`, resourceJson: r.content, search: { mode: 'match' as const } }));
    }
    const selfQuery = query.filter(([k]) => !ignored.includes(k) && k !== '_cursor');
    const link: BundleLink[] = [{ relation: 'self', url: searchUrl(opts.baseUrl, resourceType, selfQuery.concat(cursorRaw ? [['_cursor', cursorRaw]] : [])) }];
    if (next) link.push({ relation: 'next', url: searchUrl(opts.baseUrl, resourceType, selfQuery.concat([['_cursor', encodeCursor(next)]])) });
    if (ignored.length > 0) {
      entries.push({ resourceJson: JSON.stringify({ resourceType: 'OperationOutcome', issue: ignored.map((n) => ({ severity: 'warning', code: 'not-supported', diagnostics: `Search parameter "${n}" is not supported for ${resourceType} and was ignored`, expression: [n] })) }), search: { mode: 'outcome' } });
    }
    return { json: serializeBundle({ type: 'searchset', total, link, entries }), matchCount: entries.length };
  }
}

export function searchUrl(base: string, type: string, pairs: QueryPairs): string {
  const qs = new URLSearchParams(pairs).toString();
  return `${base}/${type}${qs ? `?${qs}` : ''}`;
}

export type { Resource, FhirError };
