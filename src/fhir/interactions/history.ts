/**
 * History: instance, type and whole-system (tenant), newest first, keyset-paged with opaque cursors.
 */
import type { BundleLink } from '@medplum/fhirtypes';
import { FhirError, badRequest } from '../outcome/errors.ts';
import type { FhirContext, FhirResponse } from '../services.ts';
import { history as readHistory, findCurrent } from '../../storage/resource-store.ts';
import { serializeBundle, type RawEntry } from '../bundle/bundle.ts';
import { decodeCursor, encodeCursor, parseCount, type QueryPairs } from '../../search/engine.ts';
import { parseDateRange } from '../../search/date-range.ts';
import { assertSupportedType, assertValidId } from './resource-checks.ts';

interface HistoryCursor { lu: string; t: string; id: string; v: number }

export async function historyInteraction(ctx: FhirContext, query: QueryPairs, type?: string, id?: string): Promise<FhirResponse> {
  if (type) assertSupportedType(type);
  if (id) assertValidId(id);
  const get = (n: string) => query.find(([k]) => k === n)?.[1];
  const count = parseCount(get('_count'), { baseUrl: ctx.baseUrl, strict: ctx.strict, defaultCount: ctx.services.config.defaultPageSize, maxCount: ctx.services.config.maxPageSize });
  const sinceRaw = get('_since');
  const atRaw = get('_at');
  for (const [k] of query) {
    if (!['_count', '_since', '_at', '_cursor', '_format', '_pretty'].includes(k) && ctx.strict) throw badRequest(`History does not support parameter "${k}"`, k);
  }
  const since = sinceRaw ? parseInstant(sinceRaw, '_since') : undefined;
  const before = atRaw ? parseDateRange(atRaw, '_at').end.toISOString() : undefined;
  const cursorRaw = get('_cursor');
  const c = cursorRaw ? decodeCursor<HistoryCursor>(cursorRaw) : undefined;
  const rows = await ctx.services.db.withTenant(ctx.tenant.id, async (tx) => {
    if (type && id && !(await findCurrent(tx, type, id))) throw new FhirError('not-found', `${type}/${id} is not known`);
    return readHistory(tx, {
      resourceType: type, id, since, before, count,
      after: c ? { lastUpdated: c.lu, resourceType: c.t, id: c.id, versionId: c.v } : undefined,
    });
  }, { readOnly: true });
  let next: HistoryCursor | undefined;
  if (rows.length > count) {
    const last = rows[count - 1];
    next = { lu: last.lastUpdated, t: last.resourceType, id: last.id, v: last.versionId };
    rows.length = count;
  }
  const entries: RawEntry[] = rows.map((r) => ({
    fullUrl: `${ctx.baseUrl}/${r.resourceType}/${r.id}`,
    resourceJson: r.json ?? undefined,
    request: { method: r.method, url: r.method === 'POST' ? r.resourceType : `${r.resourceType}/${r.id}` },
    response: { status: r.deleted ? '204' : r.method === 'POST' ? '201' : '200', etag: `W/"${r.versionId}"`, lastModified: r.lastUpdated },
  }));
  const path = [type, id, '_history'].filter(Boolean).join('/');
  const keep = query.filter(([k]) => ['_count', '_since', '_at'].includes(k));
  const url = (extra: QueryPairs) => { const qs = new URLSearchParams([...keep, ...extra]).toString(); return `${ctx.baseUrl}/${path}${qs ? `?${qs}` : ''}`; };
  const link: BundleLink[] = [{ relation: 'self', url: url(cursorRaw ? [['_cursor', cursorRaw]] : []) }];
  if (next) link.push({ relation: 'next', url: url([['_cursor', encodeCursor(next)]]) });
  return { status: 200, headers: {}, json: serializeBundle({ type: 'history', link, entries }) };
}

function parseInstant(v: string, name: string): string {
  return parseDateRange(v, name).start.toISOString();
}
