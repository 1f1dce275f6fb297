/**
 * A direct evaluator for the FHIRPath subset most SearchParameter expressions use — unions (`a | b`) of member paths
 * from the resource (`Location.address.city`, `name | alias`), `.where(url = '…')` on extensions and `.value` of an
 * extension — typed by the fhirpath R4 model. Writes evaluate every parameter of every resource, and this is several
 * times faster than the general interpreter; any other expression (functions, choice types, casts) is left to the
 * fhirpath library. The property-based test compares search results with a fhirpath oracle.
 */
import r4model from 'fhirpath/fhir-context/r4';
import { extensionValue, typedNode, type Node } from './nodes.ts';

const model = r4model as unknown as { path2Type: Record<string, string | { code: string }>; choiceTypePaths: Record<string, string[]> };

type Step = { kind: 'member'; name: string; type: string; backbone: boolean } | { kind: 'url'; url: string } | { kind: 'value' };
type Obj = Record<string, unknown>;

const IDENT = /^[a-z][A-Za-z0-9]*$/;
const WHERE_URL = /^where\(\s*url\s*=\s*'([^'\\]+)'\s*\)$/;

/** Splits on top-level '.' (not inside parentheses or quotes). */
function splitPath(path: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0, quote = false, cur = '';
  for (const ch of path) {
    if (ch === "'") quote = !quote;
    if (!quote && ch === '(') depth++;
    if (!quote && ch === ')') depth--;
    if (!quote && depth === 0 && ch === '.') { out.push(cur); cur = ''; continue; }
    cur += ch;
  }
  if (quote || depth !== 0) return undefined;
  out.push(cur);
  return out.map((s) => s.trim());
}

function typeOf(path: string): string | undefined {
  const t = model.path2Type[path];
  return t === undefined ? undefined : typeof t === 'string' ? t : t.code;
}

/** Steps for one path on `resourceType`; null if the path is for another type; undefined if not in the subset. */
function compilePath(path: string, resourceType: string): Step[] | null | undefined {
  const segs = splitPath(path);
  if (!segs || segs.length === 0) return undefined;
  let i = 0;
  if (/^[A-Z]/.test(segs[0])) {
    if (segs[0] !== resourceType && segs[0] !== 'Resource' && segs[0] !== 'DomainResource') return null;
    i = 1;
  }
  const steps: Step[] = [];
  let ctx = resourceType; // model path prefix for the current element's children
  let current: string = resourceType; // data type of the current element
  for (; i < segs.length; i++) {
    const seg = segs[i];
    const where = WHERE_URL.exec(seg);
    if (where) {
      if (current !== 'Extension') return undefined;
      steps.push({ kind: 'url', url: where[1] });
      continue;
    }
    if (seg === 'value' && current === 'Extension') { steps.push({ kind: 'value' }); current = '?'; ctx = '?'; continue; }
    if (!IDENT.test(seg) || ctx === '?') return undefined;
    if (model.choiceTypePaths[`${ctx}.${seg}`]) return undefined;
    const t = typeOf(`${ctx}.${seg}`) ?? typeOf(`${current}.${seg}`) ?? (seg === 'extension' ? 'Extension' : undefined);
    if (!t) return undefined;
    const backbone = t === 'BackboneElement' || t === 'Element';
    steps.push({ kind: 'member', name: seg, type: t, backbone });
    ctx = backbone ? `${ctx}.${seg}` : t;
    current = backbone ? `${ctx}` : t;
  }
  return steps;
}

/** Splits on top-level '|' (not inside quotes). */
function splitUnion(expression: string): string[] {
  const out: string[] = [];
  let quote = false, cur = '';
  for (const ch of expression) {
    if (ch === "'") quote = !quote;
    if (!quote && ch === '|') { out.push(cur.trim()); cur = ''; continue; }
    cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** A compiled evaluator for `expression` on resources of `resourceType`, or undefined if outside the subset. */
export function compileFastPath(expression: string, resourceType: string): ((resource: unknown) => Node[]) | undefined {
  const parts = splitUnion(expression);
  if (parts.some((p) => p === '' || /['()]/.test(p) && !/where\(\s*url\s*=\s*'[^'\\]+'\s*\)/.test(p))) return undefined;
  const compiled: Step[][] = [];
  for (const part of parts) {
    const steps = compilePath(part, resourceType);
    if (steps === undefined) return undefined;
    if (steps !== null && steps.length > 0) compiled.push(steps);
  }
  return (resource: unknown) => {
    const out: Node[] = [];
    for (const steps of compiled) {
      let items: unknown[] = [resource];
      let type = resourceType;
      for (const s of steps) {
        const next: unknown[] = [];
        if (s.kind === 'member') {
          for (const it of items) {
            const v = (it as Obj)[s.name];
            if (Array.isArray(v)) { for (const x of v) if (x !== null && x !== undefined) next.push(x); } else if (v !== null && v !== undefined) next.push(v);
          }
          type = s.type;
        } else if (s.kind === 'url') {
          for (const it of items) if ((it as Obj).url === s.url) next.push(it);
        } else {
          // .value of extensions: their value[x], typed by the key
          for (const it of items) { const n = extensionValue(it as Obj); if (n) out.push(n); }
          items = [];
          break;
        }
        items = next;
        if (items.length === 0) break;
      }
      for (const it of items) { const n = typedNode(it, type); if (n) out.push(n); }
    }
    return out;
  };
}
