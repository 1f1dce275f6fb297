/**
 * `_elements` for exports: keep the requested top-level elements plus what every resource must keep (resourceType,
 * id, meta, and the elements the Plan-Net profile makes mandatory), and tag the result SUBSETTED as FHIR requires of
 * a partial representation. Only exports that ask pay for the parse and re-serialization.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../config/config.ts';
import type { ExportParams } from './types.ts';

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' };
const ALWAYS = ['resourceType', 'id', 'meta'];

let mandatoryByType: Map<string, Set<string>> | undefined;

/** Top-level elements each Plan-Net profile requires (from the generated JSON Schemas in profiles/). */
export function mandatoryElements(type: string): Set<string> {
  if (!mandatoryByType) {
    mandatoryByType = new Map();
    const dir = path.join(PROJECT_ROOT, 'profiles');
    for (const f of fs.readdirSync(dir).filter((n) => /^plannet-.*\.schema\.json$/.test(n))) {
      const schema = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { allOf?: { $ref?: string; required?: string[] }[] };
      const base = schema.allOf?.find((a) => a.$ref)?.$ref?.split('/').pop();
      if (!base) continue;
      const set = mandatoryByType.get(base) ?? new Set<string>();
      for (const part of schema.allOf ?? []) for (const r of part.required ?? []) set.add(r);
      mandatoryByType.set(base, set);
    }
  }
  return mandatoryByType.get(type) ?? new Set();
}

/** For each exported type, a function trimming its JSON — or undefined where no `_elements` apply to the type. */
export function elementTrimmers(params: ExportParams): Map<string, (json: string) => string> {
  const out = new Map<string, (json: string) => string>();
  if (!params.elements?.length) return out;
  for (const type of params.types) {
    const wanted = params.elements.filter((e) => e.type === undefined || e.type === type).map((e) => e.name);
    if (wanted.length === 0) continue; // _elements named only other types: this one is exported whole
    const keep = new Set([...ALWAYS, ...mandatoryElements(type), ...wanted]);
    out.set(type, (json) => {
      const r = JSON.parse(json) as Record<string, unknown>;
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) if (keep.has(k)) o[k] = v;
      const meta = { ...(o.meta as Record<string, unknown> | undefined) };
      const tags = Array.isArray(meta.tag) ? [...meta.tag] : [];
      if (!tags.some((t) => t?.code === SUBSETTED.code && t?.system === SUBSETTED.system)) tags.push(SUBSETTED);
      meta.tag = tags;
      o.meta = meta;
      return JSON.stringify(o);
    });
  }
  return out;
}
