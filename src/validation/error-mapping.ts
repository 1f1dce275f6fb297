/**
 * Turns ajv errors into FHIR-style issues.
 *
 * The generated profile schemas mark the nodes whose failure is ONE FHIR issue with an `x-fhir` annotation
 * (bindings, slice cardinalities, "value or _value" requirements, patterns). SchemaIndex maps every schema
 * node inside such a subtree (by object identity; ajv's `verbose` errors carry `parentSchema`) to its
 * annotated root and the number of instance levels between them, so all the errors ajv produces inside a
 * binding's `contains`/`anyOf` collapse into one issue on the annotated element.
 */
import type { ErrorObject } from 'ajv';
import { pointerSegments, toExpression, valueAt } from './paths.ts';
import type { ValidationIssue } from './validator.ts';

export interface FhirAnnotation {
  issue: string;
  message: string;
  element?: string;
  valueSet?: string;
}

interface AnnotatedNode {
  ann: FhirAnnotation;
  root: object;
  depth: number; // instance levels below the annotated root
}

type SchemaNode = Record<string, unknown>;

/** Keywords whose subschemas apply to a child of the instance (one level deeper). */
const DATA_MAPS = new Set(['properties', 'patternProperties']);
const DATA_SCHEMAS = new Set(['additionalProperties', 'items', 'additionalItems', 'contains', 'unevaluatedItems', 'unevaluatedProperties']);
/** Keywords whose subschemas apply to the same instance. */
const SAME_SCHEMAS = new Set(['not', 'if', 'then', 'else', 'propertyNames']);
const SAME_ARRAYS = new Set(['allOf', 'anyOf', 'oneOf']);
const SAME_MAPS = new Set(['dependentSchemas']);
const DEF_MAPS = new Set(['$defs', 'definitions']);

function isNode(v: unknown): v is SchemaNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class SchemaIndex {
  private readonly annotated = new Map<object, AnnotatedNode>();
  /** schema node -> name of the FHIR R4 base definition it belongs to */
  private readonly baseNodes = new Map<object, string>();
  /** base definition objects -> name (primitive type names for type/pattern messages) */
  private readonly baseDefs = new Map<object, string>();

  indexBase(schema: SchemaNode): void {
    const defs = schema.definitions;
    if (!isNode(defs)) return;
    for (const [name, def] of Object.entries(defs)) {
      if (!isNode(def)) continue;
      this.baseDefs.set(def, name);
      this.walk(def, undefined, 0, (node) => {
        if (!this.baseNodes.has(node)) this.baseNodes.set(node, name);
      });
    }
  }

  indexProfile(schema: SchemaNode): void {
    this.walk(schema, undefined, 0, () => undefined);
  }

  annotationOf(node: unknown): AnnotatedNode | undefined {
    return typeof node === 'object' && node !== null ? this.annotated.get(node) : undefined;
  }

  baseDefinitionOf(node: unknown): string | undefined {
    return typeof node === 'object' && node !== null ? this.baseNodes.get(node) : undefined;
  }

  /** Name of the base definition when `node` IS a definition (e.g. the `id` or `boolean` primitive). */
  baseTypeName(node: unknown): string | undefined {
    return typeof node === 'object' && node !== null ? this.baseDefs.get(node) : undefined;
  }

  private walk(node: SchemaNode, current: AnnotatedNode | undefined, depth: number, visit: (n: SchemaNode) => void): void {
    visit(node);
    let cur = current;
    let d = depth;
    const ann = node['x-fhir'];
    if (isNode(ann) && typeof ann.issue === 'string' && typeof ann.message === 'string') {
      cur = { ann: ann as unknown as FhirAnnotation, root: node, depth: 0 };
      d = 0;
    }
    if (cur) this.annotated.set(node, { ann: cur.ann, root: cur.root, depth: d });
    for (const [k, v] of Object.entries(node)) {
      if (DATA_MAPS.has(k) && isNode(v)) {
        for (const child of Object.values(v)) if (isNode(child)) this.walk(child, cur, d + 1, visit);
      } else if (DATA_SCHEMAS.has(k)) {
        if (isNode(v)) this.walk(v, cur, d + 1, visit);
        else if (Array.isArray(v)) for (const child of v) if (isNode(child)) this.walk(child, cur, d + 1, visit);
      } else if (SAME_SCHEMAS.has(k) && isNode(v)) {
        this.walk(v, cur, d, visit);
      } else if (SAME_ARRAYS.has(k) && Array.isArray(v)) {
        for (const child of v) if (isNode(child)) this.walk(child, cur, d, visit);
      } else if (SAME_MAPS.has(k) && isNode(v)) {
        for (const child of Object.values(v)) if (isNode(child)) this.walk(child, cur, d, visit);
      } else if (DEF_MAPS.has(k) && isNode(v)) {
        // definitions are entered from their $refs at validation time; they start un-annotated
        for (const child of Object.values(v)) if (isNode(child)) this.walk(child, undefined, 0, visit);
      }
    }
  }
}

function jsType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function show(v: unknown, max = 80): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? s.slice(0, max - 3) + '...' : s;
}

function codingsFound(v: unknown): string {
  const list: string[] = [];
  const add = (c: unknown): void => {
    if (!isNode(c)) return;
    list.push(`${typeof c.system === 'string' ? c.system : '(no system)'}|${typeof c.code === 'string' ? c.code : '(no code)'}`);
  };
  if (isNode(v) && Array.isArray(v.coding)) v.coding.forEach(add);
  else if (isNode(v) && ('system' in v || 'code' in v)) add(v);
  else if (typeof v === 'string') return `found '${v}'`;
  return list.length > 0 ? `found ${list.slice(0, 5).join(', ')}${list.length > 5 ? ', ...' : ''}` : 'found no coding';
}

export interface MapContext {
  resourceType: string;
  resource: unknown;
  profileName: string; // e.g. plannet-Practitioner
  index: SchemaIndex;
}

/** ajv errors -> issues; one issue per annotated element, duplicates (same code + expression) dropped. */
export function mapAjvErrors(errors: readonly ErrorObject[], ctx: MapContext): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const seen = new Set<string>();
  const wrongType = new Set<string>();
  const push = (code: string, expression: string, diagnostics: string): void => {
    const key = `${code}\u0000${expression}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ severity: 'error', code, diagnostics, expression });
  };

  for (const e of errors) {
    if (e.keyword === 'if') continue; // the `then` errors say what is wrong
    const segs = pointerSegments(e.instancePath);
    const annotated = ctx.index.annotationOf(e.parentSchema);
    if (annotated) {
      const rootSegs = annotated.depth > 0 ? segs.slice(0, Math.max(0, segs.length - annotated.depth)) : segs;
      const { ann } = annotated;
      let expression = toExpression(ctx.resourceType, rootSegs);
      if (ann.element) expression += '.' + ann.element.replace('[x]', '');
      let diagnostics = ann.message;
      if (ann.issue === 'code-invalid') diagnostics += ` (${codingsFound(valueAt(ctx.resource, rootSegs))})`;
      push(ann.issue, expression, diagnostics);
      continue;
    }

    const expression = toExpression(ctx.resourceType, segs);
    const baseDef = ctx.index.baseDefinitionOf(e.parentSchema);
    const where = baseDef ? `FHIR R4 ${baseDef}` : ctx.profileName;
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required': {
        const prop = String(params.missingProperty);
        push('required', toExpression(ctx.resourceType, [...segs, prop]), `Missing required element '${prop.replace(/^_/, '')}' (minimum cardinality 1 in ${where})`);
        break;
      }
      case 'additionalProperties': {
        const prop = String(params.additionalProperty);
        const exprP = toExpression(ctx.resourceType, [...segs, prop]);
        if (baseDef) {
          push('structure', exprP, `Unknown element '${prop}': not defined in FHIR R4 ${baseDef}`);
        } else {
          const props = isNode(e.parentSchema) && isNode(e.parentSchema.properties) ? e.parentSchema.properties : {};
          const allowed = Object.keys(props).filter((k) => props[k] !== false && !k.startsWith('_') && k !== 'id');
          push('structure', exprP, `Element '${prop}' is not allowed here by ${ctx.profileName} (allowed: ${allowed.join(', ')})`);
        }
        break;
      }
      case 'type': {
        const fhirType = ctx.index.baseTypeName(e.parentSchema) ?? String(params.type);
        push('structure', expression, `Wrong type: expected ${fhirType}, found ${jsType(e.data)} ${show(e.data, 40)}`);
        wrongType.add(expression);
        break;
      }
      case 'pattern': {
        const fhirType = ctx.index.baseTypeName(e.parentSchema) ?? 'string';
        const what = fhirType === 'id' ? 'id (1-64 of A-Z a-z 0-9 - .)' : `FHIR ${fhirType}`;
        push('value', expression, `Invalid ${what}: ${show(e.data)} does not match ${String(params.pattern)}`);
        break;
      }
      case 'enum': {
        const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.map(String) : [];
        const list = allowed.slice(0, 12).join(', ') + (allowed.length > 12 ? `, ... (${allowed.length} codes)` : '');
        push('code-invalid', expression, `Invalid code ${show(e.data)}: must be one of ${list} (${where})`);
        break;
      }
      case 'const': {
        const isType = e.instancePath === '/resourceType';
        push(
          isType ? 'structure' : 'value',
          expression,
          `Value ${show(e.data)} must be ${show(params.allowedValue)} (${isType ? 'resourceType' : `fixed value in ${where}`})`,
        );
        break;
      }
      case 'false schema':
        push('structure', expression, `Element is prohibited by ${ctx.profileName} (maximum cardinality 0)`);
        break;
      case 'minItems':
        push('required', expression, `At least ${String(params.limit)} item(s) required (${where})`);
        break;
      case 'maxItems':
        push('structure', expression, `At most ${String(params.limit)} item(s) allowed, found ${Array.isArray(e.data) ? e.data.length : '?'} (${where})`);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
      case 'format':
      case 'minLength':
      case 'maxLength':
        push('value', expression, `Invalid value ${show(e.data)}: ${e.message ?? e.keyword} (${where})`);
        break;
      default:
        push('structure', expression, `${e.message ?? e.keyword} (${where})`);
    }
  }
  // a value of the wrong JSON type also fails the profile's fixed value / code checks: report the type only
  if (wrongType.size === 0) return out;
  return out.filter((i) => !(wrongType.has(i.expression) && (i.code === 'value' || i.code === 'code-invalid')));
}
