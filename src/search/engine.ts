/**
 * The search engine's interface, as the rest of the service sees it, and the result-control helpers (cursors,
 * _count) every engine shares. The implementation is the SearchParameter-driven engine in search-engine.ts.
 */
import type { TenantTx } from '../storage/db.ts';
import type { Indexer } from '../storage/resource-store.ts';
import { badRequest } from '../fhir/outcome/errors.ts';

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


export function encodeCursor(c: object): string { return Buffer.from(JSON.stringify(c)).toString('base64url'); }
export function decodeCursor<T>(s: string): T {
  try { return JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as T; } catch { throw badRequest('Invalid _cursor: use the next/previous links as given', '_cursor'); }
}

export function parseCount(raw: string | undefined, opts: SearchOptions): number {
  if (raw === undefined) return opts.defaultCount;
  if (!/^\d{1,9}$/.test(raw)) throw badRequest(`_count must be a non-negative integer, got "${raw}"`, '_count');
  return Math.min(Number(raw), opts.maxCount);
}


export function searchUrl(base: string, type: string, pairs: QueryPairs): string {
  const qs = new URLSearchParams(pairs).toString();
  return `${base}/${type}${qs ? `?${qs}` : ''}`;
}

