/**
 * A readable diff of two versions of a resource at the level of JSON paths: both versions are flattened to
 * `path → value` leaves (`telecom[0].value → "555-0100"`), then every path is added, removed or changed. Arrays are
 * compared by position, which is how FHIR versions are written (an entry inserted in the middle shows as changes
 * to the entries after it). `meta.versionId` and `meta.lastUpdated` always change and are left out.
 */
export type Json = any;

export interface DiffRow { path: string; change: 'added' | 'removed' | 'changed'; before?: string; after?: string }

const IGNORED = new Set(['meta.versionId', 'meta.lastUpdated']);

export function flatten(v: Json, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(v)) {
    if (v.length === 0 && prefix) out.set(prefix, '[]');
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0 && prefix) out.set(prefix, '{}');
    for (const k of keys) flatten(v[k], prefix ? `${prefix}.${k}` : k, out);
  } else if (!IGNORED.has(prefix)) {
    out.set(prefix, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return out;
}

export function diffResources(a: Json, b: Json): DiffRow[] {
  const fa = flatten(a ?? {});
  const fb = flatten(b ?? {});
  const rows: DiffRow[] = [];
  const paths = [...fa.keys(), ...[...fb.keys()].filter((k) => !fa.has(k))];
  for (const p of paths) {
    const x = fa.get(p), y = fb.get(p);
    if (x === y) continue;
    if (x === undefined) rows.push({ path: p, change: 'added', after: y });
    else if (y === undefined) rows.push({ path: p, change: 'removed', before: x });
    else rows.push({ path: p, change: 'changed', before: x, after: y });
  }
  return rows;
}
