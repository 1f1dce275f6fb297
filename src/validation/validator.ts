/**
 * Plan-Net resource validation: the generated JSON Schemas in profiles/ (compiled once with ajv) plus the
 * rules checked in code (src/validation/checks.ts).
 *
 * Errors: anything structurally invalid for FHIR R4 (types, unknown properties, id format, ...), Plan-Net
 * cardinalities, fixed values, required bindings, and the profiles' invariants.
 * Warnings (errors with `warningsAsErrors`): Plan-Net 1.2.0 / US Core 7 rules that 1.1.0 data and real
 * directories often break — NPI format and check digit, CLIA/NAIC formats, PractitionerRole pd-1, newpatients
 * `nopt` + characteristics, HealthcareService category (1.1.0 allows one; a Plan-Net category expected).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2019 from 'ajv/dist/2019.js';
import type { AnySchemaObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { runChecks } from './checks.ts';
import { mapAjvErrors, SchemaIndex } from './error-mapping.ts';

export interface ValidationIssue {
  severity: 'error' | 'warning';
  /** FHIR IssueType code, e.g. 'required', 'value', 'invariant', 'structure', 'code-invalid', 'not-supported' */
  code: string;
  diagnostics: string;
  /** FHIRPath-style location, e.g. 'Practitioner.name[0].family' */
  expression: string;
}

export interface ValidateOptions {
  /** report warnings as errors (strict tenants) */
  warningsAsErrors?: boolean;
}

export interface ResourceValidator {
  validate(resource: unknown, options?: ValidateOptions): ValidationIssue[];
  /** The Plan-Net profile canonical the resource is validated against. Throws for non-Plan-Net types. */
  profileFor(resource: { resourceType: string; type?: unknown; meta?: unknown }): string;
}

/** The 8 Plan-Net resource types (Network is an Organization). */
export const PLAN_NET_TYPES = Object.freeze([
  'Endpoint',
  'HealthcareService',
  'InsurancePlan',
  'Location',
  'Organization',
  'OrganizationAffiliation',
  'Practitioner',
  'PractitionerRole',
] as const);

export type PlanNetType = (typeof PLAN_NET_TYPES)[number];

const PLAN_NET_TYPE_SET: ReadonlySet<string> = new Set(PLAN_NET_TYPES);

export function isPlanNetType(t: string): t is PlanNetType {
  return PLAN_NET_TYPE_SET.has(t);
}

export const PLAN_NET_CANONICAL = 'http://hl7.org/fhir/us/davinci-pdex-plan-net';
const SD = `${PLAN_NET_CANONICAL}/StructureDefinition/`;
export const NETWORK_PROFILE = `${SD}plannet-Network`;
export const ORGANIZATION_PROFILE = `${SD}plannet-Organization`;
export const ORG_TYPE_SYSTEM = `${PLAN_NET_CANONICAL}/CodeSystem/OrgTypeCS`;

/** Profile canonical -> resource type. */
export const PLAN_NET_PROFILES: ReadonlyMap<string, string> = new Map([
  ...PLAN_NET_TYPES.filter((t) => t !== 'Organization').map((t) => [`${SD}plannet-${t}`, t] as [string, string]),
  [NETWORK_PROFILE, 'Organization'],
  [ORGANIZATION_PROFILE, 'Organization'],
]);

export const DEFAULT_PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));
const BASE_SCHEMA_FILE = 'fhir-r4-base.schema.json';

/** True when the Organization `type` has the OrgTypeCS#ntwk coding (system may be omitted). */
export function isNetworkType(type: unknown): boolean {
  if (!Array.isArray(type)) return false;
  for (const cc of type) {
    const codings = cc && typeof cc === 'object' ? (cc as { coding?: unknown }).coding : undefined;
    if (!Array.isArray(codings)) continue;
    for (const c of codings) {
      if (c && typeof c === 'object') {
        const { system, code } = c as { system?: unknown; code?: unknown };
        if (code === 'ntwk' && (system === ORG_TYPE_SYSTEM || system === undefined)) return true;
      }
    }
  }
  return false;
}

function declaredProfiles(meta: unknown): string[] {
  if (!meta || typeof meta !== 'object') return [];
  const p = (meta as { profile?: unknown }).profile;
  if (!Array.isArray(p)) return [];
  const out: string[] = [];
  for (const x of p) if (typeof x === 'string') out.push(x.split('|')[0]);
  return out;
}

function profileName(canonical: string): string {
  return canonical.slice(canonical.lastIndexOf('/') + 1);
}

interface CompiledProfile {
  canonical: string;
  name: string;
  validate: ValidateFunction;
}

export function createValidator(profilesDir: string = DEFAULT_PROFILES_DIR): ResourceValidator {
  const require = createRequire(import.meta.url);
  const ajv = new Ajv2019.default({
    allErrors: true,
    strict: false,
    verbose: true, // errors carry parentSchema/data: used to collapse annotated nodes (only costs on failure)
    validateFormats: true,
  });
  addFormats.default(ajv);
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-07.json') as AnySchemaObject);
  ajv.addKeyword({ keyword: 'x-fhir', schemaType: 'object' }); // annotation only

  const index = new SchemaIndex();
  const readSchema = (file: string): AnySchemaObject => JSON.parse(readFileSync(join(profilesDir, file), 'utf8')) as AnySchemaObject;
  const base = readSchema(BASE_SCHEMA_FILE);
  index.indexBase(base);
  ajv.addSchema(base);

  const compiled = new Map<string, CompiledProfile>();
  for (const canonical of PLAN_NET_PROFILES.keys()) {
    const name = profileName(canonical);
    const schema = readSchema(`${name}.schema.json`);
    if (schema.$id !== canonical) throw new Error(`${name}.schema.json: $id ${String(schema.$id)} is not ${canonical}`);
    index.indexProfile(schema);
    compiled.set(canonical, { canonical, name, validate: ajv.compile(schema) });
  }

  const profileFor = (resource: { resourceType: string; type?: unknown; meta?: unknown }): string => {
    const rt = resource.resourceType;
    if (!isPlanNetType(rt)) throw new Error(`${String(rt)} is not a Plan-Net resource type`);
    for (const p of declaredProfiles(resource.meta)) {
      if (PLAN_NET_PROFILES.get(p) === rt) return p;
    }
    if (rt === 'Organization') return isNetworkType(resource.type) ? NETWORK_PROFILE : ORGANIZATION_PROFILE;
    return `${SD}plannet-${rt}`;
  };

  const validate = (resource: unknown, options: ValidateOptions = {}): ValidationIssue[] => {
    let issues: ValidationIssue[];
    if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
      issues = [{ severity: 'error', code: 'structure', diagnostics: 'A FHIR resource must be a JSON object', expression: '' }];
    } else {
      const r = resource as Record<string, unknown>;
      const rt = r.resourceType;
      if (typeof rt !== 'string') {
        issues = [{ severity: 'error', code: 'required', diagnostics: 'Missing resourceType', expression: 'resourceType' }];
      } else if (!isPlanNetType(rt)) {
        issues = [{ severity: 'error', code: 'not-supported', diagnostics: `Resource type ${rt} is not a Plan-Net type (${PLAN_NET_TYPES.join(', ')})`, expression: rt }];
      } else {
        const canonical = profileFor(r as { resourceType: string; type?: unknown; meta?: unknown });
        const profile = compiled.get(canonical)!;
        issues = profile.validate(r) ? [] : mapAjvErrors(profile.validate.errors ?? [], { resourceType: rt, resource: r, profileName: profile.name, index });
        runChecks(r, rt, issues);
        profileWarnings(r, rt, canonical, issues);
      }
    }
    if (options.warningsAsErrors) {
      for (const i of issues) if (i.severity === 'warning') i.severity = 'error';
    }
    return issues;
  };

  return { validate, profileFor };
}

/** meta.profile naming a Plan-Net profile of another type, or plannet-Organization on a network. */
function profileWarnings(r: Record<string, unknown>, rt: string, canonical: string, out: ValidationIssue[]): void {
  for (const p of declaredProfiles(r.meta)) {
    const t = PLAN_NET_PROFILES.get(p);
    if (t !== undefined && t !== rt) {
      out.push({ severity: 'warning', code: 'business-rule', expression: `${rt}.meta.profile`, diagnostics: `meta.profile ${p} is a profile for ${t}, not ${rt}; validated against ${canonical}` });
    }
  }
  if (canonical === ORGANIZATION_PROFILE && isNetworkType(r.type)) {
    out.push({ severity: 'warning', code: 'business-rule', expression: 'Organization.type', diagnostics: 'type OrgTypeCS#ntwk marks a Network, but meta.profile declares plannet-Organization' });
  }
}
