/**
 * The search-parameter registry: every search the server answers is defined by a SearchParameter resource, loaded
 * from profiles/search-parameters/*.json (the IG's 55, the base R4 ones we serve). Nothing here knows any parameter
 * by name except the two that live as columns on `resources` (`_id`, `_lastUpdated`).
 *
 * Each indexed parameter gets a `pid`: a 32-bit hash of (resource type, parameter type, FHIRPath expression). Index
 * rows are keyed by it, so two parameters with the same meaning (Plan-Net `period` and base `date` on
 * PractitionerRole) share rows, and changing an expression yields a new pid that a reindex fills.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import type { SearchParameter } from '@medplum/fhirtypes';
import { PROJECT_ROOT } from '../../config/config.ts';
import { PLAN_NET_TYPES } from '../../validation/validator.ts';
import { compileFastPath } from './fast-path.ts';
import { fromFhirpath, type Node } from './nodes.ts';

export type ParamType = 'token' | 'string' | 'reference' | 'date' | 'uri' | 'special' | 'number' | 'quantity' | 'composite';
/** Where a parameter's values live: an index table, or a column of `resources`. */
export type Storage = 'token' | 'string' | 'reference' | 'date' | 'uri' | 'geo' | 'column';

export interface SearchParam {
  code: string;
  resourceType: string;
  type: ParamType;
  storage: Storage;
  /** Canonical of the definition, as listed in the CapabilityStatement. */
  url: string;
  description?: string;
  expression?: string;
  pid: number;
  /** Token `:text` values are stored as strings under this pid. */
  textPid: number;
  /** Identifier `:of-type` values are stored as tokens under this pid. */
  ofTypePid: number;
  /** Reference targets (resource types). */
  targets: string[];
  /** Modifiers the server supports for this parameter. */
  modifiers: string[];
  /** Chainable parameter codes the definition declares (reference parameters). */
  chains: string[];
  comparators: string[];
  /** String values go into the trigram index (the definition declares :contains); others answer :contains by scan. */
  trigram: boolean;
  /** Evaluates the expression on a resource: its values with their FHIR types. */
  evaluate(resource: unknown): Node[];
}

const MODIFIERS: Record<Storage, string[]> = {
  token: ['missing', 'not', 'text', 'of-type'],
  string: ['missing', 'exact', 'contains'],
  reference: ['missing', 'type'],
  date: ['missing'],
  uri: ['missing', 'below', 'above'],
  geo: ['missing'],
  column: [],
};
const DATE_COMPARATORS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'sa', 'eb', 'ap'];
const COLUMN_PARAMS = new Set(['_id', '_lastUpdated']);

export const SEARCH_PARAMETERS_DIR = path.join(PROJECT_ROOT, 'profiles', 'search-parameters');
const CAPABILITY_FILE = path.join(PROJECT_ROOT, 'profiles', 'plan-net-capability-statement.json');

export function pidOf(key: string): number {
  return createHash('sha1').update(key).digest().readInt32BE(0);
}

function storageOf(sp: SearchParameter): Storage | undefined {
  if (COLUMN_PARAMS.has(sp.code!)) return 'column';
  switch (sp.type) {
    case 'token': case 'string': case 'reference': case 'date': case 'uri': return sp.type;
    // the only `special` parameter with a defined meaning we index is a geo position (Location near)
    case 'special': return /\.position$/.test(sp.expression ?? '') ? 'geo' : undefined;
    default: return undefined;
  }
}

/** Reads SearchParameter resources from .json files (single resources or Bundles). */
export function readSearchParameterFiles(dir = SEARCH_PARAMETERS_DIR): SearchParameter[] {
  const out: SearchParameter[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const json = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { resourceType: string; entry?: { resource?: SearchParameter }[] };
    const list = json.resourceType === 'Bundle' ? (json.entry ?? []).map((e) => e.resource!).filter(Boolean) : [json as unknown as SearchParameter];
    for (const sp of list) if (sp.resourceType === 'SearchParameter' && sp.status !== 'retired') out.push(sp);
  }
  return out;
}

function capabilityCanonicals(): Set<string> {
  const cs = JSON.parse(fs.readFileSync(CAPABILITY_FILE, 'utf8')) as { rest?: { resource?: { searchParam?: { definition?: string }[] }[] }[] };
  return new Set((cs.rest ?? []).flatMap((r) => r.resource ?? []).flatMap((r) => r.searchParam ?? []).map((p) => p.definition!).filter(Boolean));
}

export class SearchParamRegistry {
  readonly types: readonly string[];
  readonly #byType = new Map<string, Map<string, SearchParam>>();
  /** Parameters whose type we cannot index (kept to tell clients why). */
  readonly unsupported: { resourceType: string; code: string; type: string }[] = [];

  constructor(definitions: SearchParameter[] = readSearchParameterFiles(), types: readonly string[] = PLAN_NET_TYPES, preferred: Set<string> = capabilityCanonicals()) {
    this.types = types;
    const compiled = new Map<string, (r: unknown) => Node[]>();
    for (const type of types) {
      const byCode = new Map<string, { sp: SearchParameter; storage: Storage }>();
      for (const sp of definitions) {
        if (!sp.code || !basesOf(sp).some((b) => b === type || b === 'Resource' || b === 'DomainResource')) continue;
        const storage = storageOf(sp);
        if (!storage || (storage !== 'column' && !sp.expression)) { this.unsupported.push({ resourceType: type, code: sp.code, type: sp.type ?? '?' }); continue; }
        const prev = byCode.get(sp.code);
        if (prev && !wins(sp, prev.sp, preferred)) continue;
        byCode.set(sp.code, { sp, storage });
      }
      const params = new Map<string, SearchParam>();
      for (const [code, { sp, storage }] of byCode) {
        const expression = sp.expression;
        const key = `${type}|${sp.type}|${expression ?? code}`;
        let evaluate = compiled.get(key);
        if (!evaluate && expression) {
          evaluate = compileFastPath(expression, type);
          if (!evaluate) {
            const fn = fhirpath.compile(expression, r4model as never, { resolveInternalTypes: false });
            evaluate = (r: unknown) => (fn(r as never) as unknown[]).map(fromFhirpath).filter((n): n is Node => n !== undefined);
          }
          compiled.set(key, evaluate);
        }
        params.set(code, {
          code, resourceType: type, type: sp.type as ParamType, storage, url: sp.url!, description: sp.description, expression,
          pid: pidOf(key), textPid: pidOf(`${key}|:text`), ofTypePid: pidOf(`${key}|:of-type`),
          targets: storage === 'reference' ? (sp.target?.length ? [...sp.target] : [...types]) : [],
          modifiers: storage === 'token' && !isIdentifierParam(sp) ? MODIFIERS.token.filter((m) => m !== 'of-type') : MODIFIERS[storage],
          chains: [...(sp.chain ?? [])],
          comparators: sp.type === 'date' ? DATE_COMPARATORS : [],
          trigram: storage === 'string' && (sp.modifier ?? []).includes('contains'),
          evaluate: evaluate ?? (() => []),
        });
      }
      this.#byType.set(type, params);
    }
    this.#checkPids();
  }

  /** Two different meanings must never share a pid (a 32-bit hash collision): refuse to start rather than mix rows. */
  #checkPids(): void {
    const seen = new Map<number, string>();
    for (const p of this.all()) {
      if (p.storage === 'column') continue;
      const key = `${p.resourceType}|${p.type}|${p.expression}`;
      for (const [pid, k] of [[p.pid, key], [p.textPid, `${key}|:text`], [p.ofTypePid, `${key}|:of-type`]] as [number, string][]) {
        const other = seen.get(pid);
        if (other && other !== k) throw new Error(`search parameter id collision between "${other}" and "${k}"; change one expression`);
        seen.set(pid, k);
      }
    }
  }

  get(type: string, code: string): SearchParam | undefined { return this.#byType.get(type)?.get(code); }

  forType(type: string): SearchParam[] { return [...(this.#byType.get(type)?.values() ?? [])]; }

  /** Parameters that need evaluation at write time for a resource type. */
  indexedFor(type: string): SearchParam[] { return this.forType(type).filter((p) => p.storage !== 'column'); }

  all(): SearchParam[] { return this.types.flatMap((t) => this.forType(t)); }

  /** Reference parameters of `type` (for `_include=Type:*`). */
  referenceParams(type: string): SearchParam[] { return this.forType(type).filter((p) => p.storage === 'reference'); }

  /** `Type:param` for every reference parameter of any type that can point at `type` (for revinclude listings). */
  revIncludesOf(type: string): SearchParam[] {
    return this.all().filter((p) => p.storage === 'reference' && p.targets.includes(type));
  }
}

const path2Type = (r4model as unknown as { path2Type: Record<string, string | { code: string }> }).path2Type;

/** The FHIR type a simple path expression (`Type.a.b`) ends on, from the R4 model; undefined for anything fancier. */
export function elementType(expression: string | undefined): string | undefined {
  if (!expression || !/^[A-Z][A-Za-z]*(\.[a-z][A-Za-z]*)+$/.test(expression)) return undefined;
  const [head, ...rest] = expression.split('.');
  let type = head;
  for (const seg of rest) {
    const t = path2Type[`${type}.${seg}`];
    if (!t) return undefined;
    type = typeof t === 'string' ? t : t.code;
    if (type === 'BackboneElement' || type === 'Element') type = `${head}.${rest.slice(0, rest.indexOf(seg) + 1).join('.')}`;
  }
  return type;
}

/** SearchParameter.base as plain strings (the typings list only concrete resource types). */
const basesOf = (sp: SearchParameter): string[] => (sp.base ?? []) as string[];

function isIdentifierParam(sp: SearchParameter): boolean {
  return (sp.modifier ?? []).includes('ofType') || elementType(sp.expression) === 'Identifier';
}

/** Which of two definitions of the same code wins: the one the Plan-Net CapabilityStatement names, else the derived one. */
function wins(candidate: SearchParameter, current: SearchParameter, preferred: Set<string>): boolean {
  const c = preferred.has(candidate.url!), p = preferred.has(current.url!);
  if (c !== p) return c;
  if (candidate.derivedFrom === current.url) return true;
  if (current.derivedFrom === candidate.url) return false;
  // a type-specific definition beats a Resource-wide one; otherwise the first file (sorted by name) wins
  return !basesOf(current).includes('Resource') ? false : !basesOf(candidate).includes('Resource');
}
