/**
 * Write-time extraction: evaluates every registered SearchParameter of a resource's type with fhirpath and turns the
 * resulting nodes into typed index rows. The conversion depends only on the node's FHIR data type (CodeableConcept,
 * Identifier, HumanName, Period, Reference, ...) and the parameter's type, never on which parameter it is, so a new
 * SearchParameter file needs no code.
 *
 * Rows are collected column-wise (one array per column) so the indexer can insert a whole batch with unnest.
 */
import type { SearchParam, SearchParamRegistry } from '../registry/registry.ts';
import { dateValueRange, normalizeString, parseReference, periodRange, unresolvedRid } from './normalize.ts';
import type { Node } from '../registry/nodes.ts';

export class IndexRows {
  token = { pid: [] as number[], rid: [] as number[], system: [] as (string | null)[], code: [] as string[] };
  string = { pid: [] as number[], rid: [] as number[], norm: [] as string[], exact: [] as string[], trgm: [] as boolean[] };
  reference = { pid: [] as number[], rid: [] as number[], type: [] as string[], id: [] as string[], url: [] as (string | null)[], standIn: [] as string[] };
  date = { pid: [] as number[], rid: [] as number[], lo: [] as string[], hi: [] as string[] };
  uri = { pid: [] as number[], rid: [] as number[], uri: [] as string[] };
  geo = { pid: [] as number[], rid: [] as number[], lat: [] as number[], lon: [] as number[] };
  /** Dedup keys of the resource being extracted (identical rows are written once). */
  #seen = new Set<string>();

  startResource(): void { this.#seen.clear(); }

  #fresh(key: string): boolean {
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    return true;
  }

  addToken(pid: number, rid: number, system: string | null | undefined, code: string | null | undefined): void {
    if (code === undefined || code === null || code === '') return;
    const sys = system || null;
    if (!this.#fresh(`t${pid}|${sys ?? ''}|${code}`)) return;
    this.token.pid.push(pid); this.token.rid.push(rid); this.token.system.push(sys); this.token.code.push(code);
  }

  /** `trgm`: also in the trigram index (parameters that declare :contains). */
  addString(pid: number, rid: number, value: string | null | undefined, trgm = false): void {
    if (typeof value !== 'string') return;
    const norm = normalizeString(value);
    if (norm === '' || !this.#fresh(`s${pid}|${value}`)) return;
    this.string.pid.push(pid); this.string.rid.push(rid); this.string.norm.push(norm); this.string.exact.push(value); this.string.trgm.push(trgm);
  }

  addReference(pid: number, rid: number, ref: string | undefined): void {
    if (typeof ref !== 'string') return;
    const p = parseReference(ref);
    if (!p || !this.#fresh(`r${pid}|${ref}`)) return;
    // a reference to another server keeps an empty type, so local (type, id) lookups can never match it
    this.reference.pid.push(pid); this.reference.rid.push(rid); this.reference.type.push(p.url === null ? p.type : ''); this.reference.id.push(p.id); this.reference.url.push(p.url);
    this.reference.standIn.push(unresolvedRid(p.url ?? `${p.type}/${p.id}`));
  }

  addDate(pid: number, rid: number, range: { lo: string; hi: string } | undefined): void {
    if (!range || !this.#fresh(`d${pid}|${range.lo}|${range.hi}`)) return;
    this.date.pid.push(pid); this.date.rid.push(rid); this.date.lo.push(range.lo); this.date.hi.push(range.hi);
  }

  addUri(pid: number, rid: number, uri: unknown): void {
    if (typeof uri !== 'string' || uri === '' || !this.#fresh(`u${pid}|${uri}`)) return;
    this.uri.pid.push(pid); this.uri.rid.push(rid); this.uri.uri.push(uri);
  }

  addGeo(pid: number, rid: number, lat: number, lon: number): void {
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return;
    if (!this.#fresh(`g${pid}|${lat}|${lon}`)) return;
    this.geo.pid.push(pid); this.geo.rid.push(rid); this.geo.lat.push(lat); this.geo.lon.push(lon);
  }

  get size(): number {
    return this.token.pid.length + this.string.pid.length + this.reference.pid.length + this.date.pid.length + this.uri.pid.length + this.geo.pid.length;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = <T = unknown>(v: unknown): T[] => (Array.isArray(v) ? v as T[] : v === undefined || v === null ? [] : [v as T]);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);

function codeableText(cc: Obj): string[] {
  return [str(cc.text), ...arr<Obj>(cc.coding).map((c) => str(c?.display))].filter((s): s is string => !!s);
}

export function extractParam(p: SearchParam, rid: number, resource: unknown, rows: IndexRows): void {
  let nodes: Node[];
  try { nodes = p.evaluate(resource); } catch { return; }
  for (const n of nodes) {
    const d = n.data;
    switch (p.storage) {
      case 'token': {
        if (!isObj(d)) { rows.addToken(p.pid, rid, null, str(d)); break; }
        switch (n.type) {
          case 'CodeableConcept':
            for (const c of arr<Obj>(d.coding)) if (isObj(c)) rows.addToken(p.pid, rid, str(c.system), str(c.code));
            for (const t of codeableText(d)) rows.addString(p.textPid, rid, t);
            break;
          case 'Coding':
            rows.addToken(p.pid, rid, str(d.system), str(d.code));
            rows.addString(p.textPid, rid, str(d.display));
            break;
          case 'Identifier': {
            const value = str(d.value);
            rows.addToken(p.pid, rid, str(d.system), value);
            if (isObj(d.type)) {
              for (const t of codeableText(d.type)) rows.addString(p.textPid, rid, t);
              if (value) for (const c of arr<Obj>(d.type.coding)) if (isObj(c) && str(c.code)) rows.addToken(p.ofTypePid, rid, str(c.system), `${str(c.code)}|${value}`);
            }
            break;
          }
          case 'ContactPoint':
            rows.addToken(p.pid, rid, str(d.system), str(d.value));
            break;
          default:
            break;
        }
        break;
      }
      case 'string': {
        const tg = p.trigram;
        if (!isObj(d)) { rows.addString(p.pid, rid, str(d), tg); break; }
        if (n.type === 'HumanName') {
          for (const v of [d.text, d.family, ...arr(d.given), ...arr(d.prefix), ...arr(d.suffix)]) rows.addString(p.pid, rid, str(v), tg);
        } else if (n.type === 'Address') {
          for (const v of [d.text, ...arr(d.line), d.city, d.district, d.state, d.postalCode, d.country]) rows.addString(p.pid, rid, str(v), tg);
        } else if (n.type === 'CodeableConcept') {
          for (const t of codeableText(d)) rows.addString(p.pid, rid, t, tg);
        }
        break;
      }
      case 'reference': {
        if (!isObj(d)) { rows.addReference(p.pid, rid, str(d)); break; }
        rows.addReference(p.pid, rid, str(d.reference));
        break;
      }
      case 'date': {
        if (!isObj(d)) { const s = str(d); if (s) rows.addDate(p.pid, rid, dateValueRange(s)); break; }
        if (n.type === 'Period') rows.addDate(p.pid, rid, periodRange(str(d.start), str(d.end)));
        else if (n.type === 'Timing') for (const e of arr(d.event)) { const s = str(e); if (s) rows.addDate(p.pid, rid, dateValueRange(s)); }
        break;
      }
      case 'uri':
        rows.addUri(p.pid, rid, isObj(d) ? undefined : str(d));
        break;
      case 'geo':
        if (isObj(d)) rows.addGeo(p.pid, rid, Number(d.latitude), Number(d.longitude));
        break;
      case 'column':
        break;
    }
  }
}

/** All index rows of a batch of resources. */
export function extractRows(registry: SearchParamRegistry, items: { rid: number; resource: { resourceType: string } }[]): IndexRows {
  const rows = new IndexRows();
  for (const { rid, resource } of items) {
    rows.startResource();
    for (const p of registry.indexedFor(resource.resourceType)) extractParam(p, rid, resource, rows);
  }
  return rows;
}
