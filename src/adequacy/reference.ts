/**
 * CMS reference data for network adequacy (seeds/adequacy, CY2026 HSD Reference File as CSV; see its README and
 * PROVENANCE): county designations and beneficiaries, per-county criteria (max miles/minutes, minimum count), the
 * HSD type → NUCC crosswalk and the evaluation rules with their verification levels. Loaded once per process.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

export const SEED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../seeds/adequacy');

export interface County {
  fips: string;
  ssa: string;
  state: string;
  name: string;
  designation: string;
  beneficiaries: number;
  requiredToCover: number;
}

export interface Criterion { maxMinutes: number | null; maxMiles: number; minRequired: number }

export interface HsdType { code: string; name: string; category: 'provider' | 'facility' }

export interface CriteriaSet {
  /** e.g. "CMS MA HSD Reference File CY2026" or the tenant's upload name. */
  name: string;
  year: number;
  /** `${ssa}|${type}` → criterion */
  byCountyType: Map<string, Criterion>;
}

export interface ReferenceData {
  counties: County[];
  byFips: Map<string, County>;
  bySsa: Map<string, County>;
  types: HsdType[];
  typeByCode: Map<string, HsdType>;
  /** NUCC taxonomy code → HSD type codes as submitted (001–006 kept apart; roll up with `rollUp`). */
  nuccToTypes: Map<string, string[]>;
  criteria: CriteriaSet;
  rules: Rules;
}

export interface Rules {
  contract_year: number;
  percent_of_beneficiaries_within_time_and_distance: { by_designation: Record<string, number>; verification: string };
  credits: { id: string; credit_percentage_points: number | null; verification: string; note?: string }[];
  [k: string]: unknown;
}

/** 001–006 are submitted separately but evaluated together as S03 Primary Care (rules.json primary_care_aggregation). */
export const PRIMARY_CARE_PARTS = new Set(['001', '002', '003', '004', '005', '006']);
/** Acute inpatient hospitals: the minimum is a number of beds, not of hospitals (rules.json minimum_number). */
export const BED_TYPE = '040';
/** Hospital service types NUCC has no code for: only a service-level attribute (HSD type characteristic) counts. */
export const SERVICE_LEVEL_TYPES = new Set(['041', '042', '043']);

export function rollUp(code: string): string { return PRIMARY_CARE_PARTS.has(code) ? 'S03' : code; }

function readCsv(file: string): Record<string, string>[] {
  return parse(readFileSync(path.join(SEED_DIR, file), 'utf8'), { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
}

/** Parses criteria CSV text in the shape of county-criteria-2026.csv (ssa_code,cms_type_code,max_minutes,max_miles,min_required). */
export function parseCriteriaCsv(text: string, name: string, year: number): CriteriaSet {
  const rows = parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  const byCountyType = new Map<string, Criterion>();
  for (const [i, r] of rows.entries()) {
    const ssa = (r.ssa_code ?? '').padStart(5, '0');
    const type = (r.cms_type_code ?? '').padStart(3, '0');
    const maxMiles = Number(r.max_miles);
    const minRequired = Number(r.min_required);
    if (!/^\d{5}$/.test(ssa) || !/^(S03|\d{3})$/.test(type) || !Number.isFinite(maxMiles) || maxMiles <= 0 || !Number.isFinite(minRequired) || minRequired < 0) {
      throw new Error(`criteria row ${i + 2}: needs ssa_code (5 digits), cms_type_code, max_miles > 0 and min_required >= 0`);
    }
    const maxMinutes = r.max_minutes === undefined || r.max_minutes === '' ? null : Number(r.max_minutes);
    byCountyType.set(`${ssa}|${type}`, { maxMinutes, maxMiles, minRequired });
  }
  if (byCountyType.size === 0) throw new Error('criteria CSV has no rows');
  return { name, year, byCountyType };
}

let cached: ReferenceData | undefined;

export function loadReference(): ReferenceData {
  if (cached) return cached;
  const rules = JSON.parse(readFileSync(path.join(SEED_DIR, 'rules.json'), 'utf8')) as Rules;
  const counties: County[] = readCsv('county-designations.csv').map((r) => ({
    fips: r.fips.padStart(5, '0'), ssa: r.ssa_code.padStart(5, '0'), state: r.state, name: r.county, designation: r.designation,
    beneficiaries: Number(r.total_beneficiaries) || 0, requiredToCover: Number(r.beneficiaries_required_to_cover) || 0,
  })).sort((a, b) => (a.fips < b.fips ? -1 : a.fips > b.fips ? 1 : 0));
  const types = new Map<string, HsdType>();
  const nuccToTypes = new Map<string, string[]>();
  for (const r of readCsv('cms-specialty-to-nucc.csv')) {
    const raw = r.cms_type_code.padStart(3, '0');
    const code = rollUp(raw);
    if (!types.has(code)) types.set(code, { code, name: code === 'S03' ? 'Primary Care' : r.type_name, category: r.category === 'facility' ? 'facility' : 'provider' });
    if (!r.nucc_taxonomy_code || SERVICE_LEVEL_TYPES.has(code)) continue;
    const list = nuccToTypes.get(r.nucc_taxonomy_code) ?? [];
    if (!list.includes(raw)) list.push(raw);
    nuccToTypes.set(r.nucc_taxonomy_code, list);
  }
  for (const r of readCsv('time-distance-standards.csv')) {
    const code = r.cms_type_code.padStart(3, '0');
    if (!types.has(code)) types.set(code, { code, name: r.type_name, category: r.category === 'facility' ? 'facility' : 'provider' });
  }
  const criteria = parseCriteriaCsv(readFileSync(path.join(SEED_DIR, 'county-criteria-2026.csv'), 'utf8'), 'CMS MA HSD Reference File (county criteria)', rules.contract_year);
  const typeList = [...types.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  cached = {
    counties, byFips: new Map(counties.map((c) => [c.fips, c])), bySsa: new Map(counties.map((c) => [c.ssa, c])),
    types: typeList, typeByCode: new Map(typeList.map((t) => [t.code, t])), nuccToTypes, criteria, rules,
  };
  return cached;
}

/** Required share (percent) of beneficiaries within the standard for a county designation (rules.json: 90 / 85). */
export function requiredShare(rules: Rules, designation: string): number {
  return rules.percent_of_beneficiaries_within_time_and_distance.by_designation[designation] ?? 90;
}
