/**
 * SMART system scopes, v1 (`system/Practitioner.read`, `.write`, `.*`) and v2 (`system/*.rs`, `system/*.cruds`).
 * A scope grants interactions on a resource type (or `*`); granted scopes are the intersection of what the client
 * asked for and what it was registered with.
 */
export interface ParsedScope { type: string; ops: Set<string> }

const V1: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };

/** Runs network-adequacy reports (permission adequacy:run); not a FHIR resource scope (ADR 8). */
export const ADEQUACY_SCOPE = 'system/adequacy.run';

export function parseScope(scope: string): ParsedScope | undefined {
  if (scope === ADEQUACY_SCOPE) return { type: '$adequacy', ops: new Set(['x']) };
  const m = /^system\/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]+)(\?.*)?$/.exec(scope);
  if (!m || m[3]) return undefined; // query-constrained v2 scopes are not supported
  const ops = V1[m[2]] ?? m[2];
  if (!/^c?r?u?d?s?$/.test(ops)) return undefined; // v2 letters must be in cruds order
  return { type: m[1], ops: new Set(ops) };
}

/** Does `granted` (one scope) cover `wanted` (one scope)? */
function covers(granted: ParsedScope, wanted: ParsedScope): boolean {
  if (granted.type !== '*' && granted.type !== wanted.type) return false;
  for (const op of wanted.ops) if (!granted.ops.has(op)) return false;
  return true;
}

/**
 * The scopes to grant: each requested scope that some registered scope covers. Unparseable requested scopes are
 * reported so the token endpoint can answer invalid_scope.
 */
export function grantScopes(requested: string[], registered: string[]): { granted: string[]; invalid: string[] } {
  const reg = registered.map(parseScope).filter((s): s is ParsedScope => !!s);
  const granted: string[] = [];
  const invalid: string[] = [];
  for (const r of requested) {
    const p = parseScope(r);
    if (!p) { invalid.push(r); continue; }
    if (reg.some((g) => covers(g, p))) granted.push(r);
  }
  return { granted, invalid };
}

/** May a holder of `scopes` perform `op` (c, r, u, d or s) on `type`? */
export function scopesAllow(scopes: string[], type: string | '*', op: string): boolean {
  return scopes.some((s) => {
    const p = parseScope(s);
    return !!p && (p.type === '*' || p.type === type) && p.ops.has(op);
  });
}

export function isValidScopeList(scopes: string[]): boolean {
  return scopes.length > 0 && scopes.every((s) => parseScope(s) !== undefined);
}
