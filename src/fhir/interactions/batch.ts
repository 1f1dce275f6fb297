/**
 * Batch and transaction Bundles posted to the tenant base.
 *
 * transaction: all or nothing, in one database transaction, processed in the FHIR order (DELETE, POST, PUT, GET);
 *   `urn:uuid:` fullUrls of created resources are replaced by their new `Type/id` everywhere in the Bundle, and
 *   conditional references (`Type?criteria`) are resolved to the single match. All writes go to storage as one batch.
 * batch: each entry on its own; a failing entry answers with its OperationOutcome and the others still commit.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError, toFhirError } from '../outcome/errors.ts';
import type { FhirContext, FhirResponse } from '../services.ts';
import { asResource, assertSupportedType, assertValidId, validateOrThrow } from './resource-checks.ts';
import { writeBatch, readCurrent, readVersion, mapWriteError, parseETagVersion, versionETag, type WriteOp } from '../../storage/resource-store.ts';
import { serializeBundle, type RawEntry } from '../bundle/bundle.ts';
import * as instance from './instance.ts';
import { historyInteraction } from './history.ts';
import { parseCriteria } from './instance.ts';
import type { TenantTx } from '../../storage/db.ts';

export const MAX_BUNDLE_ENTRIES = 10_000;

interface ParsedRequest { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; type?: string; id?: string; vid?: string; query: [string, string][]; path: string }

function parseEntryRequest(entry: BundleEntry, index: number): ParsedRequest {
  const method = entry.request?.method;
  const url = entry.request?.url;
  if (!method || !url) throw new FhirError('bad-request', `Bundle.entry[${index}].request needs a method and a url`, { expression: `Bundle.entry[${index}].request` });
  if (!['GET', 'POST', 'PUT', 'DELETE'].includes(method)) {
    throw new FhirError('method-not-allowed', `Bundle.entry[${index}]: method ${method} is not supported`, { expression: `Bundle.entry[${index}].request.method` });
  }
  const qi = url.indexOf('?');
  const path = (qi >= 0 ? url.slice(0, qi) : url).replace(/^\/+/, '');
  const query = qi >= 0 ? ([...new URLSearchParams(url.slice(qi + 1))] as [string, string][]) : [];
  const parts = path.split('/').filter(Boolean);
  return { method: method as ParsedRequest['method'], type: parts[0], id: parts[1] === '_history' ? undefined : parts[1], vid: parts[2] === '_history' ? parts[3] : undefined, query, path };
}

function parseBundle(body: unknown): Bundle {
  if (!body || typeof body !== 'object' || (body as Resource).resourceType !== 'Bundle') {
    throw new FhirError('bad-request', 'POST to the base accepts a Bundle of type batch or transaction');
  }
  const bundle = body as Bundle;
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') throw new FhirError('bad-request', `Bundle.type must be batch or transaction, got ${bundle.type}`, { expression: 'Bundle.type' });
  if (bundle.entry && !Array.isArray(bundle.entry)) throw new FhirError('bad-request', 'Bundle.entry must be an array', { expression: 'Bundle.entry' });
  if ((bundle.entry?.length ?? 0) > MAX_BUNDLE_ENTRIES) throw new FhirError('too-large', `A Bundle may hold at most ${MAX_BUNDLE_ENTRIES} entries`);
  return bundle;
}

export async function processBundle(ctx: FhirContext, body: unknown): Promise<FhirResponse> {
  const bundle = parseBundle(body);
  return bundle.type === 'transaction' ? transaction(ctx, bundle) : batch(ctx, bundle);
}

/** Runs one entry as its own interaction (batch mode and the GET entries of a transaction use it). */
async function runEntry(ctx: FhirContext, entry: BundleEntry, index: number): Promise<FhirResponse> {
  const req = parseEntryRequest(entry, index);
  if (!req.type) throw new FhirError('bad-request', `Bundle.entry[${index}].request.url names no resource type`);
  switch (req.method) {
    case 'GET':
      if (req.vid && req.id) return instance.vread(ctx, req.type, req.id, req.vid);
      if (req.path.endsWith('_history')) return historyInteraction(ctx, req.query, req.type, req.id);
      if (req.id) return instance.read(ctx, req.type, req.id);
      assertSupportedType(req.type);
      return await ctx.services.db.withTenant(ctx.tenant.id, async (tx) => {
        const r = await ctx.services.search.search(tx, req.type!, req.query, searchOptions(ctx));
        return { status: 200, headers: {}, json: r.json };
      }, { readOnly: true });
    case 'POST':
      return instance.create(ctx, req.type, entry.resource, entry.request?.ifNoneExist);
    case 'PUT':
      if (!req.id) throw new FhirError('bad-request', `Bundle.entry[${index}]: conditional update is not supported; PUT to Type/id`);
      return instance.update(ctx, req.type, req.id, entry.resource, entry.request?.ifMatch ? parseETagVersion(entry.request.ifMatch) : undefined);
    case 'DELETE':
      if (!req.id) throw new FhirError('bad-request', `Bundle.entry[${index}]: conditional delete is not supported; DELETE Type/id`);
      return instance.remove(ctx, req.type, req.id, entry.request?.ifMatch ? parseETagVersion(entry.request.ifMatch) : undefined);
  }
}

export function searchOptions(ctx: FhirContext) {
  return { baseUrl: ctx.baseUrl, strict: ctx.strict, defaultCount: ctx.services.config.defaultPageSize, maxCount: ctx.services.config.maxPageSize };
}

function responseEntry(r: FhirResponse): RawEntry {
  const loc = r.headers.Location;
  return {
    resourceJson: r.json,
    response: {
      status: String(r.status),
      ...(loc ? { location: loc } : {}),
      ...(r.headers.ETag ? { etag: r.headers.ETag } : {}),
      ...(r.headers['Last-Modified'] ? { lastModified: new Date(r.headers['Last-Modified']).toISOString() } : {}),
    },
  };
}

async function batch(ctx: FhirContext, bundle: Bundle): Promise<FhirResponse> {
  const entries: RawEntry[] = [];
  const entryList = bundle.entry ?? [];
  for (let i = 0; i < entryList.length; i++) {
    try {
      entries.push(responseEntry(await runEntry(ctx, entryList[i], i)));
    } catch (err) {
      const e = toFhirError(mapWriteError(err));
      if (e.kind === 'internal') ctx.services.logger.error({ err }, 'batch entry failed');
      entries.push({ response: { status: String(e.status), outcome: e.toOutcome() } });
    }
  }
  return { status: 200, headers: {}, json: serializeBundle({ type: 'batch-response', entries }) };
}

/** FHIR transaction processing order (deletes are applied first, separately). */
const ORDER: Record<ParsedRequest['method'], number> = { DELETE: 0, POST: 1, PUT: 2, GET: 3 };

/** Replaces every `reference` string found in the resource tree using the map. */
function rewriteReferences(node: unknown, map: Map<string, string>): void {
  if (Array.isArray(node)) { for (const n of node) rewriteReferences(n, map); return; }
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'reference' && typeof v === 'string' && map.has(v)) obj[k] = map.get(v);
    else if (typeof v === 'object') rewriteReferences(v, map);
  }
}

function collectConditionalReferences(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) { for (const n of node) collectConditionalReferences(n, out); return; }
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === 'reference' && typeof v === 'string' && /^[A-Z][A-Za-z]+\?/.test(v)) out.add(v);
    else if (typeof v === 'object') collectConditionalReferences(v, out);
  }
}

async function transaction(ctx: FhirContext, bundle: Bundle): Promise<FhirResponse> {
  const list = (bundle.entry ?? []).map((entry, index) => ({ entry, index, req: parseEntryRequest(entry, index) }));
  // 1. Parse and validate everything before touching the database: a bad entry fails the whole Bundle.
  const urnMap = new Map<string, string>();
  const assignedIds = new Map<number, string>();
  for (const { entry, index, req } of list) {
    if (!req.type) throw new FhirError('bad-request', `Bundle.entry[${index}].request.url names no resource type`);
    assertSupportedType(req.type);
    if (req.method === 'POST') {
      const id = randomUUID();
      assignedIds.set(index, id);
      if (entry.fullUrl?.startsWith('urn:uuid:') || entry.fullUrl?.startsWith('urn:oid:')) urnMap.set(entry.fullUrl, `${req.type}/${id}`);
    } else if (req.method === 'PUT' || req.method === 'DELETE') {
      if (!req.id) throw new FhirError('bad-request', `Bundle.entry[${index}]: conditional ${req.method} is not supported; use Type/id`);
      assertValidId(req.id);
      if (entry.fullUrl?.startsWith('urn:uuid:')) urnMap.set(entry.fullUrl, `${req.type}/${req.id}`);
    }
  }
  const warnings: OperationOutcomeIssue[] = [];
  const resources = new Map<number, Resource>();
  for (const { entry, index, req } of list) {
    if (req.method !== 'POST' && req.method !== 'PUT') continue;
    let resource: Resource;
    try {
      // the Bundle was parsed from this request's body, so its resources are ours to rewrite in place
      resource = asResource(entry.resource, req.type);
    } catch (err) {
      throw prefixIssues(toFhirError(err), index);
    }
    if (req.method === 'PUT') {
      if (resource.id !== req.id) throw new FhirError('bad-request', `Bundle.entry[${index}]: resource id "${resource.id}" does not match the url id "${req.id}"`, { expression: `Bundle.entry[${index}].resource.id` });
    }
    if (urnMap.size > 0) rewriteReferences(resource, urnMap);
    resources.set(index, resource);
  }

  try {
    return await ctx.services.db.withTenant(ctx.tenant.id, async (tx) => {
      // 2. Deletes come first (FHIR transaction order), so conditional creates below see their effect.
      const deleteEntries = list.filter((l) => l.req.method === 'DELETE');
      const deleteResults = await writeBatch(tx, deleteEntries.map(({ entry, req }) => ({
        kind: 'delete' as const, resourceType: req.type!, id: req.id!, ifMatch: entry.request?.ifMatch ? parseETagVersion(entry.request.ifMatch) : undefined,
      })), ctx.services.search.indexer);
      // 3. Conditional creates and conditional references resolve inside the transaction.
      const existingForConditional = new Map<number, string>();
      for (const { entry, index, req } of list) {
        if (req.method === 'POST' && entry.request?.ifNoneExist) {
          const ids = await ctx.services.search.findIds(tx, req.type!, parseCriteria(entry.request.ifNoneExist), 2);
          if (ids.length > 1) throw new FhirError('precondition-failed', `Bundle.entry[${index}]: If-None-Exist matched more than one ${req.type}`);
          if (ids.length === 1) {
            existingForConditional.set(index, ids[0]);
            if (entry.fullUrl) urnMap.set(entry.fullUrl, `${req.type}/${ids[0]}`);
          }
        }
      }
      const conditionalRefs = new Set<string>();
      for (const r of resources.values()) collectConditionalReferences(r, conditionalRefs);
      for (const ref of conditionalRefs) urnMap.set(ref, await resolveConditionalReference(ctx, tx, ref));
      if (conditionalRefs.size > 0 || existingForConditional.size > 0) for (const r of resources.values()) rewriteReferences(r, urnMap);

      // 4. Validate (after rewriting, so references are real) and write creates and updates as one batch.
      const ops: { index: number; op: WriteOp }[] = [];
      for (const { entry, index, req } of [...list].sort((a, b) => ORDER[a.req.method] - ORDER[b.req.method] || a.index - b.index)) {
        if (req.method === 'GET' || req.method === 'DELETE' || existingForConditional.has(index)) continue;
        const resource = resources.get(index)!;
        try {
          warnings.push(...validateOrThrow(ctx, resource));
        } catch (err) {
          throw prefixIssues(toFhirError(err), index);
        }
        ops.push({ index, op: req.method === 'POST'
          ? { kind: 'create', resource, id: assignedIds.get(index) }
          : { kind: 'update', resource, ifMatch: entry.request?.ifMatch ? parseETagVersion(entry.request.ifMatch) : undefined } });
      }
      const results = await writeBatch(tx, ops.map((o) => o.op), ctx.services.search.indexer);
      const byIndex = new Map<number, RawEntry>();
      const done = [...deleteEntries.map((d, i) => ({ index: d.index, r: deleteResults[i] })), ...ops.map((o, i) => ({ index: o.index, r: results[i] }))];
      done.forEach(({ index, r }) => {
        if (r.outcome === 'noop') byIndex.set(index, { response: { status: '204' } });
        else if (r.outcome === 'deleted') byIndex.set(index, { response: { status: '204', etag: versionETag(r.version.versionId) } });
        else byIndex.set(index, { ...responseEntry(instance.writeResponse(ctx, r, [])), fullUrl: `${ctx.baseUrl}/${r.version.resourceType}/${r.version.id}` });
      });
      for (const [index, id] of existingForConditional) {
        const v = await readCurrent(tx, list[index].req.type!, id);
        byIndex.set(index, { fullUrl: `${ctx.baseUrl}/${v.resourceType}/${v.id}`, ...responseEntry({ status: 200, headers: instance.resourceHeaders(ctx, v, true), json: ctx.preferReturn === 'minimal' ? undefined : v.json! }) });
      }
      // 5. GET entries see the transaction's own writes.
      for (const { index, req } of list) {
        if (req.method !== 'GET') continue;
        let r: FhirResponse;
        if (req.id && req.vid) {
          if (!/^\d{1,9}$/.test(req.vid)) throw new FhirError('not-found', `Bundle.entry[${index}]: no version ${req.vid}`);
          const v = await readVersion(tx, req.type!, req.id, Number(req.vid)); r = { status: 200, headers: instance.resourceHeaders(ctx, v), json: v.json! };
        }
        else if (req.id) { const v = await readCurrent(tx, req.type!, req.id); r = { status: 200, headers: instance.resourceHeaders(ctx, v), json: v.json! }; }
        else { const s = await ctx.services.search.search(tx, req.type!, req.query, searchOptions(ctx)); r = { status: 200, headers: {}, json: s.json }; }
        byIndex.set(index, responseEntry(r));
      }
      const entries = list.map(({ index }) => byIndex.get(index) ?? { response: { status: '200' } });
      return { status: 200, headers: {}, json: serializeBundle({ type: 'transaction-response', entries }) };
    });
  } catch (err) {
    throw mapWriteError(err);
  }
}

async function resolveConditionalReference(ctx: FhirContext, tx: TenantTx, ref: string): Promise<string> {
  const type = ref.slice(0, ref.indexOf('?'));
  assertSupportedType(type);
  const ids = await ctx.services.search.findIds(tx, type, parseCriteria(ref), 2);
  if (ids.length !== 1) throw new FhirError('precondition-failed', `Conditional reference ${ref} matched ${ids.length === 0 ? 'nothing' : 'more than one resource'}`);
  return `${type}/${ids[0]}`;
}

/** Points an entry's issues at the Bundle entry they came from. */
function prefixIssues(err: FhirError, index: number): FhirError {
  const issues = err.issues.map((i) => ({
    ...i,
    diagnostics: `Bundle.entry[${index}]: ${i.diagnostics ?? ''}`,
    expression: i.expression?.map((e) => `Bundle.entry[${index}].resource.${e.replace(/^[A-Z][A-Za-z]+\.?/, '')}`.replace(/\.$/, '')),
  }));
  return new FhirError(err.kind, `Bundle.entry[${index}]: ${err.message}`, { issues, headers: err.headers });
}
