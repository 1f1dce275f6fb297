/**
 * Per-tenant adequacy datasets (table adequacy_datasets, migration 007): a criteria CSV in the shape of
 * county-criteria-2026.csv (state Medicaid / marketplace rules differ from CMS MA), enrollee counts by county
 * (`fips` or `ssa_code`, `enrollees`) and enrollee points (`fips`, `lat`, `lon`). Validated on upload. The
 * travel-time matrix has its own tables and streamed upload (travel-times.ts); overrides name it when present.
 */
import { parse } from 'csv-parse/sync';
import type { Db } from '../storage/db.ts';
import type { SamplePoint } from './geo.ts';
import { loadReference, parseCriteriaCsv, type CriteriaSet } from './reference.ts';
import { travelTimeSet, type TravelTimeSetInfo } from './travel-times.ts';

export type DatasetKind = 'criteria' | 'enrollee-counts' | 'enrollee-points';
export const DATASET_KINDS: DatasetKind[] = ['criteria', 'enrollee-counts', 'enrollee-points'];

export interface Overrides { criteria?: CriteriaSet; enrolleesByFips?: Map<string, number>; enrolleePoints?: Map<string, SamplePoint[]>; travelTimes?: TravelTimeSetInfo }

function rowsOf(text: string): Record<string, string>[] {
  return parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
}

function fipsOf(r: Record<string, string>, line: number): string {
  const ref = loadReference();
  const c = r.fips ? ref.byFips.get(r.fips.padStart(5, '0')) : r.ssa_code ? ref.bySsa.get(r.ssa_code.padStart(5, '0')) : undefined;
  if (!c) throw new Error(`row ${line}: unknown county (give fips or ssa_code)`);
  return c.fips;
}

export function parseEnrolleeCounts(text: string): Map<string, number> {
  const out = new Map<string, number>();
  rowsOf(text).forEach((r, i) => {
    const n = Number(r.enrollees);
    if (!Number.isInteger(n) || n < 0) throw new Error(`row ${i + 2}: enrollees must be a whole number >= 0`);
    out.set(fipsOf(r, i + 2), n);
  });
  if (!out.size) throw new Error('no rows');
  return out;
}

export function parseEnrolleePoints(text: string): Map<string, SamplePoint[]> {
  const out = new Map<string, SamplePoint[]>();
  rowsOf(text).forEach((r, i) => {
    const lat = Number(r.lat), lon = Number(r.lon);
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new Error(`row ${i + 2}: lat/lon out of range`);
    const f = fipsOf(r, i + 2);
    out.set(f, [...(out.get(f) ?? []), { lat, lon, weight: 1 }]);
  });
  if (!out.size) throw new Error('no rows');
  return out;
}

/** Validates an upload (throws with the first problem) and returns a label for it. */
export function validateDataset(kind: DatasetKind, text: string, name: string, year: number | null): string {
  if (kind === 'criteria') { const c = parseCriteriaCsv(text, name, year ?? 0); return `${c.byCountyType.size} county × type criteria`; }
  if (kind === 'enrollee-counts') return `${parseEnrolleeCounts(text).size} counties`;
  return `${[...parseEnrolleePoints(text).values()].reduce((n, l) => n + l.length, 0)} enrollee points`;
}

export async function saveDataset(db: Db, tenant: string, kind: DatasetKind, text: string, name: string, year: number | null, by: string | null): Promise<string> {
  const label = validateDataset(kind, text, name, year);
  await db.withTenant(tenant, (tx) => tx.query(
    `INSERT INTO adequacy_datasets (tenant_id, kind, name, year, content, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant_id, kind) DO UPDATE SET name = EXCLUDED.name, year = EXCLUDED.year, content = EXCLUDED.content, uploaded_by = EXCLUDED.uploaded_by, uploaded_at = now()`,
    [tenant, kind, name, year, text, by]));
  return label;
}

export async function deleteDataset(db: Db, tenant: string, kind: DatasetKind): Promise<boolean> {
  const r = await db.withTenant(tenant, (tx) => tx.query('DELETE FROM adequacy_datasets WHERE tenant_id = $1 AND kind = $2', [tenant, kind]));
  return (r.rowCount ?? 0) > 0;
}

export async function listDatasets(db: Db, tenant: string): Promise<{ kind: string; name: string; year: number | null; uploadedAt: string; pairs?: number; counties?: number }[]> {
  return db.withTenant(tenant, async (tx) => {
    const r = await tx.query('SELECT kind, name, year, uploaded_at FROM adequacy_datasets WHERE tenant_id = $1 ORDER BY kind', [tenant]);
    const out: { kind: string; name: string; year: number | null; uploadedAt: string; pairs?: number; counties?: number }[] = r.rows.map((x) => ({ kind: x.kind, name: x.name, year: x.year, uploadedAt: new Date(x.uploaded_at).toISOString() }));
    const tt = await travelTimeSet(tx);
    if (tt) out.push({ kind: 'travel-times', name: tt.name, year: null, uploadedAt: tt.uploadedAt, pairs: tt.pairs, counties: tt.counties });
    return out;
  }, { readOnly: true });
}

export async function loadTenantOverrides(db: Db, tenant: string): Promise<Overrides> {
  const { r, tt } = await db.withTenant(tenant, async (tx) => ({
    r: await tx.query('SELECT kind, name, year, content FROM adequacy_datasets WHERE tenant_id = $1', [tenant]), tt: await travelTimeSet(tx),
  }), { readOnly: true });
  const out: Overrides = tt ? { travelTimes: tt } : {};
  for (const d of r.rows) {
    if (d.kind === 'criteria') out.criteria = parseCriteriaCsv(d.content, `${d.name} (uploaded by the tenant)`, d.year ?? 0);
    else if (d.kind === 'enrollee-counts') out.enrolleesByFips = parseEnrolleeCounts(d.content);
    else if (d.kind === 'enrollee-points') out.enrolleePoints = parseEnrolleePoints(d.content);
  }
  return out;
}
