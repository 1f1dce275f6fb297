/**
 * `_summary` and `_elements`: trims a stored resource to what was asked for and tags it SUBSETTED, as FHIR requires
 * of a partial representation. Only pages that ask pay for the parse and re-serialization.
 */
import fs from 'node:fs';
import path from 'node:path';

const SUMMARY = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'summary-elements.json'), 'utf8')) as Record<string, { summary: string[]; mandatory: string[] }>;
const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' };
const ALWAYS = ['resourceType', 'id', 'meta'];

export type SummaryMode = 'true' | 'false' | 'count' | 'data' | 'text' | undefined;

export function needsTrimming(summary: SummaryMode, elements: string[] | undefined): boolean {
  return (summary !== undefined && summary !== 'false' && summary !== 'count') || (elements !== undefined && elements.length > 0);
}

/** Returns the JSON of `json` reduced per `_summary` / `_elements`. */
export function trimResource(json: string, summary: SummaryMode, elements: string[] | undefined): string {
  const resource = JSON.parse(json) as Record<string, unknown>;
  const type = resource.resourceType as string;
  let keep: ((key: string) => boolean) | undefined;
  if (summary === 'true') {
    const names = SUMMARY[type]?.summary ?? [];
    keep = (k) => names.some((n) => k === n);
  } else if (summary === 'text') {
    const names = ['text', ...(SUMMARY[type]?.mandatory ?? [])];
    keep = (k) => names.includes(k);
  } else if (summary === 'data') {
    keep = (k) => k !== 'text';
  } else if (elements && elements.length > 0) {
    const names = [...elements, ...(SUMMARY[type]?.mandatory ?? [])];
    keep = (k) => names.some((n) => k === n || (n.endsWith('[x]') && k.startsWith(n.slice(0, -3))));
  }
  if (!keep) return json;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) if (ALWAYS.includes(k) || keep(k)) out[k] = v;
  const meta = { ...(out.meta as Record<string, unknown> | undefined) };
  const tags = Array.isArray(meta.tag) ? [...meta.tag] : [];
  if (!tags.some((t) => t?.code === SUBSETTED.code && t?.system === SUBSETTED.system)) tags.push(SUBSETTED);
  meta.tag = tags;
  out.meta = meta;
  return JSON.stringify(out);
}
