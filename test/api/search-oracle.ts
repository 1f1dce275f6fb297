/**
 * A brute-force search oracle for tests: SearchParameter definitions read straight from profiles/search-parameters,
 * their expressions evaluated with the fhirpath library over every resource, FHIR's matching rules in plain
 * JavaScript. Independent of src/search (no shared extraction, normalization or SQL).
 */
import fs from 'node:fs';
import path from 'node:path';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';

export const SP_DIR = path.resolve(import.meta.dirname, '..', '..', 'profiles', 'search-parameters');
export const definitions: any[] = fs.readdirSync(SP_DIR).filter((f) => f.endsWith('.json'))
  .flatMap((f) => { const j = JSON.parse(fs.readFileSync(path.join(SP_DIR, f), 'utf8')); return j.resourceType === 'Bundle' ? j.entry.map((e: any) => e.resource) : [j]; });
export const PLAN_NET = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/';
export function definition(type: string, code: string): any {
  const all = definitions.filter((d) => d.code === code && (d.base.includes(type) || d.base.includes('Resource') || d.base.includes('DomainResource')));
  return all.find((d) => d.url.startsWith(PLAN_NET)) ?? all[0];
}

/** Values of a parameter on a resource: fhirpath results, extensions unwrapped to their value. */
export function values(resource: any, type: string, code: string): any[] {
  const sp = definition(type, code);
  return (fhirpath.evaluate(resource, sp.expression, undefined, r4 as any) as any[]).map((v) => {
    if (v && typeof v === 'object' && typeof v.url === 'string') { const k = Object.keys(v).find((x) => x.startsWith('value')); return k ? v[k] : undefined; }
    return v;
  }).filter((v) => v !== undefined && v !== null);
}

export const norm = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/\s+/g, ' ').trim();

export function stringsOf(v: any): string[] {
  if (typeof v === 'string') return [v];
  if (v && typeof v === 'object') {
    if ('family' in v || 'given' in v || 'text' in v) return [v.text, v.family, ...(v.given ?? []), ...(v.prefix ?? []), ...(v.suffix ?? [])].filter(Boolean);
    return [v.text, ...(v.line ?? []), v.city, v.district, v.state, v.postalCode, v.country].filter(Boolean);
  }
  return [];
}
export function tokensOf(v: any): { system?: string; code: string }[] {
  if (typeof v === 'string' || typeof v === 'boolean') return [{ code: String(v) }];
  if (v.coding || ('text' in v && !('value' in v))) return (v.coding ?? []).filter((c: any) => c.code).map((c: any) => ({ system: c.system, code: c.code }));
  if ('value' in v) return [{ system: v.system, code: v.value }];
  if ('code' in v) return [{ system: v.system, code: v.code }];
  return [];
}
export function textsOf(v: any): string[] {
  if (v?.coding || v?.text) return [v.text, ...(v.coding ?? []).map((c: any) => c.display)].filter(Boolean);
  if (v?.type && 'value' in v) return textsOf(v.type); // Identifier.type
  if (v?.display) return [v.display]; // Coding
  return [];
}
export function refOf(v: any): string | undefined { return v?.reference; }

export const DAY = 86_400_000;
/** [start, end) of a date value by its precision, in ms. */
export function range(s: string): [number, number] {
  if (s.includes('T')) { const t = Date.parse(/[Zz]|[+-]\d\d:\d\d$/.test(s) ? s : `${s}Z`); return [t, t + (/:\d\d:\d\d/.test(s) ? 1000 : 60_000)]; }
  const [y, m, d] = s.split('-').map(Number);
  if (m === undefined) return [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1)];
  if (d === undefined) return [Date.UTC(y, m - 1, 1), Date.UTC(y, m, 1)];
  return [Date.UTC(y, m - 1, d), Date.UTC(y, m - 1, d) + DAY];
}
export function dateRangeOf(v: any): [number, number] | undefined {
  if (typeof v === 'string') return range(v);
  if (v && (v.start || v.end)) return [v.start ? range(v.start)[0] : -Infinity, v.end ? range(v.end)[1] : Infinity];
  return undefined;
}
export function dateMatches(prefix: string, q: [number, number], t: [number, number]): boolean {
  switch (prefix) {
    case 'eq': return t[0] >= q[0] && t[1] <= q[1];
    case 'ne': return !(t[0] >= q[0] && t[1] <= q[1]);
    case 'gt': return t[1] > q[1];
    case 'lt': return t[0] < q[0];
    case 'ge': return t[1] > q[0];
    case 'le': return t[0] < q[1];
    case 'sa': return t[0] >= q[1];
    case 'eb': return t[1] <= q[0];
    default: throw new Error(prefix);
  }
}

export type Db = Map<string, any>; // 'Type/id' -> resource

/** Does `r` (of `type`) match `name=value`? */
export function matches(db: Db, r: any, type: string, name: string, value: string): boolean {
  if (name.startsWith('_has:')) {
    const [, src, ref, ...rest] = name.split(':');
    return [...db.values()].some((s) => s.resourceType === src && values(s, src, ref).map(refOf).includes(`${type}/${r.id}`) && matches(db, s, src, rest.join(':'), value));
  }
  const dot = name.indexOf('.');
  if (dot > 0) {
    const [code] = name.slice(0, dot).split(':');
    return values(r, type, code).map(refOf).some((ref) => {
      const t = ref && db.get(ref);
      return t ? matches(db, t, t.resourceType, name.slice(dot + 1), value) : false;
    });
  }
  const [code, mod] = name.split(':');
  const vals = values(r, type, code);
  if (mod === 'missing') return (value === 'true') === (vals.length === 0);
  const alternatives = value.split(',');
  const sp = definition(type, code);
  const any = (pred: (alt: string) => boolean) => alternatives.some(pred);
  switch (sp.type) {
    case 'string': {
      const strs = vals.flatMap(stringsOf);
      if (mod === 'exact') return any((a) => strs.includes(a));
      if (mod === 'contains') return any((a) => strs.some((s) => norm(s).includes(norm(a))));
      return any((a) => strs.some((s) => norm(s).startsWith(norm(a))));
    }
    case 'token': {
      if (mod === 'text') return any((a) => vals.flatMap(textsOf).some((s) => norm(s).startsWith(norm(a))));
      const toks = vals.flatMap(tokensOf);
      const hit = (a: string) => {
        if (!a.includes('|')) return toks.some((t) => t.code === a);
        const [sys, c] = a.split('|');
        if (sys === '') return toks.some((t) => !t.system && t.code === c);
        if (c === '') return toks.some((t) => t.system === sys);
        return toks.some((t) => t.system === sys && t.code === c);
      };
      return mod === 'not' ? !any(hit) : any(hit);
    }
    case 'reference': {
      const refs = vals.map(refOf);
      return any((a) => refs.some((ref) => ref === a || ref?.split('/')[1] === a));
    }
    case 'date': {
      const ranges = vals.map(dateRangeOf).filter(Boolean) as [number, number][];
      return any((a) => { const p = /^[a-z]{2}/.test(a) ? a.slice(0, 2) : 'eq'; const q = range(/^[a-z]{2}/.test(a) ? a.slice(2) : a); return ranges.some((t) => dateMatches(p, q, t)); });
    }
    case 'uri':
      return any((a) => vals.includes(a));
    case 'special': {
      // near: great-circle distance on earthdistance's sphere
      const [lat, lon, dist, units] = value.split('|');
      const meters = Number(dist) * ({ km: 1000, m: 1, mi: 1609.344 } as Record<string, number>)[units ?? 'km'];
      const R = 6378168, rad = Math.PI / 180;
      return vals.some((pos) => {
        const dLat = (pos.latitude - Number(lat)) * rad, dLon = (pos.longitude - Number(lon)) * rad;
        const h = Math.sin(dLat / 2) ** 2 + Math.cos(Number(lat) * rad) * Math.cos(pos.latitude * rad) * Math.sin(dLon / 2) ** 2;
        return 2 * R * Math.asin(Math.min(1, Math.sqrt(h))) <= meters + 1e-6;
      });
    }
    default: throw new Error(`oracle: ${sp.type}`);
  }
}

