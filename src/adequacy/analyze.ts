/**
 * The adequacy computation, pure and deterministic: sample (or enrollee) points per county, provider/facility sites
 * per CMS HSD type, one spatial index (kdbush + geokdbush, great-circle) per type. For each county × type with a
 * criterion: the share of beneficiaries with at least one site within the maximum distance, the distinct providers
 * (beds for 040) within reach of at least one beneficiary against the minimum, accepting-new-patients counts, the
 * nearest-site distance p50/p90 and pass/fail. No cross join: each point asks its type's index for the sites within
 * reach (capped) and, only when there are none, for the single nearest one.
 */
import KDBush from 'kdbush';
import * as geokdbush from 'geokdbush';
import { haversineMiles, KM_PER_MILE, type SamplePoint } from './geo.ts';
import { BED_TYPE, requiredShare, type County, type CriteriaSet, type HsdType, type Rules } from './reference.ts';

export interface Site {
  /** Distinct provider/facility (a practitioner at two locations counts once). */
  entity: number;
  types: string[];
  lat: number;
  lon: number;
  /** Staffed beds (040 counts beds). */
  beds: number;
  accepting: boolean;
}

export interface AnalysisInput {
  networkId: string;
  counties: County[];
  /** fips → points (sample beneficiaries or uploaded enrollee points) */
  points: Map<string, SamplePoint[]>;
  sites: Site[];
  types: HsdType[];
  criteria: CriteriaSet;
  rules: Rules;
}

export type Status = 'pass' | 'shortfall' | 'no providers';

export interface Row {
  networkId: string;
  ssa: string;
  fips: string;
  state: string;
  county: string;
  designation: string;
  type: string;
  typeName: string;
  category: string;
  maxMiles: number;
  maxMinutes: number | null;
  minRequired: number;
  unit: 'providers' | 'facilities' | 'beds';
  requiredSharePct: number;
  points: number;
  sharePct: number;
  withinReach: number;
  withinReachCapped: boolean;
  acceptingWithinReach: number;
  nearestP50: number | null;
  nearestP90: number | null;
  meetsDistance: boolean;
  meetsMinimum: boolean;
  pass: boolean;
  status: Status;
}

/** At most this many candidate sites around a county are measured directly (else one query per point). */
const CANDIDATES = 64;

/**
 * Where many sites can matter (dense areas), sites within reach are gathered only until the minimum is exceeded
 * (then `within_reach_capped` is true and the count is a lower bound that already settles the minimum); elsewhere
 * the count is exact.
 */
export function reachCap(minRequired: number): number { return Math.max(1, minRequired) + 1; }

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  return Number.isFinite(v) ? Math.round(v * 100) / 100 : null;
}

interface TypeIndex { index: KDBush; sites: Site[] }

function buildIndexes(sites: Site[], types: HsdType[]): Map<string, TypeIndex> {
  const byType = new Map<string, Site[]>();
  for (const t of types) byType.set(t.code, []);
  for (const s of sites) for (const t of s.types) byType.get(t)?.push(s);
  const out = new Map<string, TypeIndex>();
  for (const [code, list] of byType) {
    if (list.length === 0) continue;
    const index = new KDBush(list.length);
    for (const s of list) index.add(s.lon, s.lat);
    index.finish();
    out.set(code, { index, sites: list });
  }
  return out;
}

export function analyze(input: AnalysisInput, onProgress?: (done: number, total: number) => void): Row[] {
  const indexes = buildIndexes(input.sites, input.types);
  const entities = new Map<number, { beds: number; accepting: boolean }>();
  for (const s of input.sites) {
    const e = entities.get(s.entity);
    if (!e) entities.set(s.entity, { beds: s.beds, accepting: s.accepting });
    else { e.beds = Math.max(e.beds, s.beds); e.accepting ||= s.accepting; }
  }
  const rows: Row[] = [];
  const counties = [...input.counties].sort((a, b) => (a.fips < b.fips ? -1 : a.fips > b.fips ? 1 : 0));
  let done = 0;
  for (const county of counties) {
    const pts = input.points.get(county.fips) ?? [];
    const reqShare = requiredShare(input.rules, county.designation);
    for (const type of input.types) {
      const crit = input.criteria.byCountyType.get(`${county.ssa}|${type.code}`);
      if (!crit) continue;
      const idx = indexes.get(type.code);
      const maxKm = crit.maxMiles * KM_PER_MILE * 1.0001 + 0.01; // a little wider: the exact test is below
      const cap = reachCap(crit.minRequired);
      const inReach = new Set<number>();
      let capped = false;
      const nearest: number[] = [];
      let covered = 0, total = 0;
      // Few sites near the county (the common case away from cities): take every site that can matter to any of its
      // points in one query around the points' centre and measure exactly. Candidates: a point p's nearest site is at
      // most rc + d0 from p (rc: farthest point from the centre c, d0: c's nearest site), so it lies within
      // d0 + 2·rc of c; a site within max miles of p lies within rc + max of c.
      let cand: number[] | undefined;
      if (idx && pts.length) {
        let clat = 0, clon = 0;
        for (const p of pts) { clat += p.lat; clon += p.lon; }
        clat /= pts.length; clon /= pts.length;
        let rc = 0;
        for (const p of pts) rc = Math.max(rc, haversineMiles(clat, clon, p.lat, p.lon));
        const s0 = idx.sites[geokdbush.around(idx.index, clon, clat, 1)[0]];
        const d0 = haversineMiles(clat, clon, s0.lat, s0.lon);
        const radius = Math.max(d0 + 2 * rc, rc + crit.maxMiles) * KM_PER_MILE * 1.0001 + 0.01;
        const found = geokdbush.around(idx.index, clon, clat, CANDIDATES + 1, radius);
        if (found.length <= CANDIDATES) cand = found;
      }
      for (const p of pts) {
        total += p.weight;
        if (!idx) { nearest.push(Infinity); continue; }
        if (cand) {
          let best = Infinity;
          for (const id of cand) {
            const s = idx.sites[id];
            const d = haversineMiles(p.lat, p.lon, s.lat, s.lon);
            if (d < best) best = d;
            if (d <= crit.maxMiles) inReach.add(s.entity);
          }
          nearest.push(best);
          if (best <= crit.maxMiles) covered += p.weight;
          continue;
        }
        // the nearest site (any sphere radius orders sites the same way), measured with our haversine
        const nn = geokdbush.around(idx.index, p.lon, p.lat, 1)[0];
        const best = haversineMiles(p.lat, p.lon, idx.sites[nn].lat, idx.sites[nn].lon);
        nearest.push(best);
        if (best > crit.maxMiles) continue;
        covered += p.weight;
        // distinct sites within reach of this beneficiary, until the count is settled (cap)
        if (inReach.size >= cap) { capped = true; continue; }
        const ids = geokdbush.around(idx.index, p.lon, p.lat, cap, maxKm);
        if (ids.length >= cap) capped = true;
        for (const id of ids) {
          const s = idx.sites[id];
          if (haversineMiles(p.lat, p.lon, s.lat, s.lon) <= crit.maxMiles) inReach.add(s.entity);
        }
      }
      let withinReach = 0, accepting = 0;
      for (const e of inReach) {
        const info = entities.get(e)!;
        withinReach += type.code === BED_TYPE ? info.beds : 1;
        if (info.accepting) accepting++;
      }
      nearest.sort((a, b) => a - b);
      const sharePct = total > 0 ? Math.round((covered / total) * 10000) / 100 : 0;
      const meetsDistance = total > 0 && sharePct >= reqShare;
      const meetsMinimum = withinReach >= crit.minRequired;
      const pass = meetsDistance && meetsMinimum;
      rows.push({
        networkId: input.networkId, ssa: county.ssa, fips: county.fips, state: county.state, county: county.name, designation: county.designation,
        type: type.code, typeName: type.name, category: type.category, maxMiles: crit.maxMiles, maxMinutes: crit.maxMinutes, minRequired: crit.minRequired,
        unit: type.code === BED_TYPE ? 'beds' : type.category === 'facility' ? 'facilities' : 'providers',
        requiredSharePct: reqShare, points: pts.length, sharePct, withinReach, withinReachCapped: capped, acceptingWithinReach: accepting,
        nearestP50: percentile(nearest, 50), nearestP90: percentile(nearest, 90), meetsDistance, meetsMinimum, pass,
        status: pass ? 'pass' : withinReach === 0 ? 'no providers' : 'shortfall',
      });
    }
    onProgress?.(++done, counties.length);
  }
  return rows;
}

const RANK: Record<Status, number> = { pass: 0, shortfall: 1, 'no providers': 2 };

/** County status over a set of types: the worst of them (undefined when the county has no row for them). */
export function countyStatus(rows: Row[], type?: string): Map<string, Status> {
  const out = new Map<string, Status>();
  for (const r of rows) {
    if (type && r.type !== type) continue;
    const cur = out.get(r.fips);
    if (!cur || RANK[r.status] > RANK[cur]) out.set(r.fips, r.status);
  }
  return out;
}

export interface TypeSummary { type: string; typeName: string; counties: number; passing: number; achievedPct: number; requiredPct: number }

/** Per type over the service area: beneficiary-weighted share within reach vs the weighted required share. */
export function typeSummaries(rows: Row[], counties: County[]): TypeSummary[] {
  const benef = new Map(counties.map((c) => [c.fips, Math.max(1, c.beneficiaries)]));
  const acc = new Map<string, { name: string; n: number; pass: number; w: number; a: number; r: number }>();
  for (const r of rows) {
    const w = benef.get(r.fips) ?? 1;
    const e = acc.get(r.type) ?? { name: r.typeName, n: 0, pass: 0, w: 0, a: 0, r: 0 };
    e.n++; if (r.pass) e.pass++; e.w += w; e.a += w * r.sharePct; e.r += w * r.requiredSharePct;
    acc.set(r.type, e);
  }
  return [...acc].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([type, e]) => ({
    type, typeName: e.name, counties: e.n, passing: e.pass,
    achievedPct: Math.round((e.a / e.w) * 100) / 100, requiredPct: Math.round((e.r / e.w) * 100) / 100,
  }));
}
