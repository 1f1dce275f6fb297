/**
 * Bundle assembly by string concatenation: stored resources are already serialized JSON, so a searchset or history
 * page is built without parsing and re-serializing every entry (the read and search hot paths).
 */
import type { BundleLink } from '@medplum/fhirtypes';

export interface RawEntry {
  fullUrl?: string;
  /** Serialized resource JSON, inserted verbatim. */
  resourceJson?: string;
  search?: { mode: 'match' | 'include' | 'outcome'; score?: number };
  request?: { method: string; url: string };
  response?: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: unknown };
}

export function serializeBundle(b: { type: string; total?: number; link?: BundleLink[]; timestamp?: string; entries: RawEntry[] }): string {
  const head: Record<string, unknown> = { resourceType: 'Bundle', id: crypto.randomUUID(), meta: { lastUpdated: b.timestamp ?? new Date().toISOString() }, type: b.type };
  if (b.timestamp) head.timestamp = b.timestamp;
  if (b.total !== undefined) head.total = b.total;
  if (b.link && b.link.length) head.link = b.link;
  const headJson = JSON.stringify(head);
  if (b.entries.length === 0) return headJson;
  const parts = b.entries.map((e) => {
    let s = '{';
    const fields: string[] = [];
    if (e.fullUrl) fields.push(`"fullUrl":${JSON.stringify(e.fullUrl)}`);
    if (e.resourceJson) fields.push(`"resource":${e.resourceJson}`);
    if (e.search) fields.push(`"search":${JSON.stringify(e.search)}`);
    if (e.request) fields.push(`"request":${JSON.stringify(e.request)}`);
    if (e.response) fields.push(`"response":${JSON.stringify(e.response)}`);
    s += fields.join(',') + '}';
    return s;
  });
  return `${headJson.slice(0, -1)},"entry":[${parts.join(',')}]}`;
}
