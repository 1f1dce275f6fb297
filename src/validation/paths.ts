/** JSON Pointer (ajv instancePath) helpers and the FHIRPath-style expressions used in issues. */

export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `/name/0/_family` -> `Practitioner.name[0].family` (a primitive's `_x` extension sibling is element `x`). */
export function toExpression(resourceType: string, segments: readonly string[]): string {
  let out = resourceType;
  for (const seg of segments) {
    if (/^[0-9]+$/.test(seg)) out += `[${seg}]`;
    else out += '.' + (seg.length > 1 && seg.charCodeAt(0) === 95 /* _ */ ? seg.slice(1) : seg);
  }
  return out;
}

export function pointerToExpression(resourceType: string, pointer: string): string {
  return toExpression(resourceType, pointerSegments(pointer));
}

/** The value at the given segments, or undefined. */
export function valueAt(root: unknown, segments: readonly string[]): unknown {
  let cur: unknown = root;
  for (const seg of segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}
