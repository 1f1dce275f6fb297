/**
 * The adequacy computation, pure and deterministic: sample (or enrollee) points per county, provider/facility sites
 * per CMS HSD type, one spatial index (kdbush + geokdbush, great-circle) per type. For each county × type with a
 * criterion: the share of beneficiaries with at least one site within the maximum distance (and, where the tenant's
 * travel-time matrix covers the county, within the maximum minutes), the distinct providers (beds for 040) within
 * reach of at least one beneficiary against the minimum, accepting-new-patients counts, the nearest-site distance
 * p50/p90 and pass/fail. No cross join: each point asks its type's index for the sites within reach (capped) and,
 * only when there are none, for the single nearest one.
 */
import KDBush from 'kdbush';
import * as geokdbush from 'geokdbush';
import { EARTH_RADIUS_MILES, haversineMiles, KM_PER_MILE, type SamplePoint } from './geo.ts';
import { BED_TYPE, requiredShare, type County, type CriteriaSet, type HsdType, type Rules } from './reference.ts';

export interface Site {
  /** Distinct provider/facility (a practitioner at two locations counts once), numbered 0, 1, 2, … (arrays are indexed by it). */
  entity: number;
  types: string[];
  lat: number;
  lon: number;
  /** Staffed beds (040 counts beds). */
  beds: number;
  accepting: boolean;
  /** The site's Location as a number (travel-time matrix lookups); absent: no travel time known. */
  loc?: number;
  /** Index of the site's details (name, NPI, address: the HSD table rows); absent in benchmarks. */
  ref?: number;
}

/** Travel times from a county's beneficiaries to sites (the tenant's matrix; src/adequacy/travel-times.ts). */
export interface TravelTimes {
  name: string;
  /** Undefined where the matrix has no rows for the county: time is not assessed there. */
  forCounty(fips: string): CountyTravelTimes | undefined;
}
export interface CountyTravelTimes {
  /** Minutes to the site's Location; undefined: the pair is not in the matrix (beyond every standard). */
  minutes(site: Site): number | undefined;
  /** Every Location (as Site.loc) the county has a time to, with its minutes. */
  entries(): Iterable<[number, number]>;
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
  travelTimes?: TravelTimes;
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
  /** 'assessed' when the county has travel times and the criterion a max_minutes. */
  travelTime: 'assessed' | 'not assessed';
  /** Share within max minutes, and within both standards (the CMS test), when time is assessed. */
  shareTimePct: number | null;
  shareTimeAndDistancePct: number | null;
  /** Fewest minutes to any site of the type (time assessed only). */
  nearestMinutes: number | null;
  withinReach: number;
  withinReachCapped: boolean;
  acceptingWithinReach: number;
  nearestP50: number | null;
  nearestP90: number | null;
  meetsDistance: boolean;
  meetsTime: boolean | null;
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

// Distances through unit vectors: the squared chord c² between two points gives the haversine term a = c²/4, so
// d = 2R·asin(√a) is the haversine distance, and d ≤ max ⇔ a ≤ sin²(max/2R). Precomputing the vectors turns the
// inner loops' trigonometry into a few multiplications.
const RAD = Math.PI / 180;
function unitVectors(list: { lat: number; lon: number }[]): Float64Array {
  const out = new Float64Array(list.length * 3);
  for (let i = 0; i < list.length; i++) {
    const la = list[i].lat * RAD, lo = list[i].lon * RAD, c = Math.cos(la);
    out[3 * i] = c * Math.cos(lo); out[3 * i + 1] = c * Math.sin(lo); out[3 * i + 2] = Math.sin(la);
  }
  return out;
}
const hav = (u: Float64Array, i: number, v: Float64Array, j: number) => {
  const dx = u[3 * i] - v[3 * j], dy = u[3 * i + 1] - v[3 * j + 1], dz = u[3 * i + 2] - v[3 * j + 2];
  return (dx * dx + dy * dy + dz * dz) / 4;
};
const milesOf = (a: number) => 2 * EARTH_RADIUS_MILES * Math.asin(Math.min(1, Math.sqrt(a)));
const havOf = (miles: number) => Math.sin(Math.min(Math.PI / 2, miles / (2 * EARTH_RADIUS_MILES))) ** 2;

interface TypeIndex { index: KDBush; sites: Site[]; xyz: Float64Array }

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
    out.set(code, { index, sites: list, xyz: unitVectors(list) });
  }
  return out;
}

/** Fewest minutes from the county to a site of each type, over the county's rows of the matrix. */
function bestMinutesByType(times: CountyTravelTimes, sitesByLoc: Map<number, Site[]>): Map<string, number> {
  const best = new Map<string, number>();
  for (const [loc, m] of times.entries()) {
    for (const s of sitesByLoc.get(loc) ?? []) {
      for (const t of s.types) {
        const cur = best.get(t);
        if (cur === undefined || m < cur) best.set(t, m);
      }
    }
  }
  return best;
}

/** Called per county × type with every site that serves the county: within reach of at least one of its points. */
export type ServedCallback = (county: County, type: HsdType, sites: Site[]) => void;

export function analyze(input: AnalysisInput, onProgress?: (done: number, total: number) => void, onServed?: ServedCallback): Row[] {
  const indexes = buildIndexes(input.sites, input.types);
  // per distinct provider: most beds, accepting at any site (typed arrays by entity number: no object per provider)
  let maxEntity = -1;
  for (const s of input.sites) {
    if (!Number.isInteger(s.entity) || s.entity < 0) throw new Error(`site entity must be a non-negative integer: ${s.entity}`);
    if (s.entity > maxEntity) maxEntity = s.entity;
  }
  const entityBeds = new Float64Array(maxEntity + 1).fill(-Infinity);
  const entityAccepting = new Uint8Array(maxEntity + 1);
  for (const s of input.sites) {
    if (s.beds > entityBeds[s.entity]) entityBeds[s.entity] = s.beds;
    if (s.accepting) entityAccepting[s.entity] = 1;
  }
  const sitesByLoc = new Map<number, Site[]>();
  if (input.travelTimes) {
    for (const s of input.sites) {
      if (s.loc === undefined) continue;
      const list = sitesByLoc.get(s.loc);
      if (list) list.push(s); else sitesByLoc.set(s.loc, [s]);
    }
  }
  const rows: Row[] = [];
  const counties = [...input.counties].sort((a, b) => (a.fips < b.fips ? -1 : a.fips > b.fips ? 1 : 0));
  let done = 0;
  for (const county of counties) {
    const pts = input.points.get(county.fips) ?? [];
    const pxyz = unitVectors(pts);
    const reqShare = requiredShare(input.rules, county.designation);
    const times = input.travelTimes?.forCounty(county.fips);
    const bestMinutes = times ? bestMinutesByType(times, sitesByLoc) : undefined;
    // the points' centre and radius, shared by every type
    let clat = 0, clon = 0, rc = 0;
    if (pts.length) {
      for (const p of pts) { clat += p.lat; clon += p.lon; }
      clat /= pts.length; clon /= pts.length;
      for (const p of pts) rc = Math.max(rc, haversineMiles(clat, clon, p.lat, p.lon));
    }
    const cxyz = unitVectors([{ lat: clat, lon: clon }]);
    for (const type of input.types) {
      const crit = input.criteria.byCountyType.get(`${county.ssa}|${type.code}`);
      if (!crit) continue;
      const idx = indexes.get(type.code);
      const maxKm = crit.maxMiles * KM_PER_MILE * 1.0001 + 0.01; // a little wider: the exact test is below
      const aMax = havOf(crit.maxMiles);
      const maxMinutes = crit.maxMinutes;
      const timeOk = times && maxMinutes !== null ? (s: Site) => { const m = times.minutes(s); return m !== undefined && m <= maxMinutes; } : undefined;
      const cap = reachCap(crit.minRequired);
      const inReach = new Set<number>();
      let capped = false;
      const nearest: number[] = [];
      let covered = 0, coveredBoth = 0, total = 0;
      // Few sites near the county (the common case away from cities): take every site that can matter to any of its
      // points in one query around the points' centre and measure exactly. Candidates: a point p's nearest site is at
      // most rc + d0 from p (rc: farthest point from the centre c, d0: c's nearest site), so it lies within
      // d0 + 2·rc of c; a site within max miles of p lies within rc + max of c.
      let cand: number[] | undefined;
      if (idx && pts.length) {
        const s0 = idx.sites[geokdbush.around(idx.index, clon, clat, 1)[0]];
        const d0 = haversineMiles(clat, clon, s0.lat, s0.lon);
        const radius = Math.max(d0 + 2 * rc, rc + crit.maxMiles) * KM_PER_MILE * 1.0001 + 0.01;
        const found = geokdbush.around(idx.index, clon, clat, CANDIDATES + 1, radius);
        if (found.length <= CANDIDATES) cand = found;
      }
      const candOk = cand && timeOk ? cand.map((id) => timeOk(idx!.sites[id])) : undefined;
      const served = cand && onServed ? new Uint8Array(cand.length) : undefined;
      for (let pi = 0; pi < pts.length; pi++) {
        const p = pts[pi];
        total += p.weight;
        if (!idx) { nearest.push(Infinity); continue; }
        if (cand) {
          let best = Infinity, both = false;
          for (let j = 0; j < cand.length; j++) {
            const id = cand[j];
            const a = hav(pxyz, pi, idx.xyz, id);
            if (a < best) best = a;
            if (a <= aMax && (!candOk || candOk[j])) { both = true; inReach.add(idx.sites[id].entity); if (served) served[j] = 1; }
          }
          nearest.push(best === Infinity ? Infinity : milesOf(best));
          if (best <= aMax) covered += p.weight;
          if (both) coveredBoth += p.weight;
          continue;
        }
        // the nearest site (any sphere radius orders sites the same way)
        const nn = geokdbush.around(idx.index, p.lon, p.lat, 1)[0];
        const best = hav(pxyz, pi, idx.xyz, nn);
        nearest.push(milesOf(best));
        if (best > aMax) continue;
        covered += p.weight;
        const pred = timeOk ? (id: number) => timeOk(idx.sites[id]) : undefined;
        if (!timeOk || timeOk(idx.sites[nn])) coveredBoth += p.weight;
        else {
          const t = geokdbush.around(idx.index, p.lon, p.lat, 1, maxKm, pred)[0];
          if (t !== undefined && hav(pxyz, pi, idx.xyz, t) <= aMax) coveredBoth += p.weight;
        }
        // distinct sites within reach of this beneficiary, until the count is settled (cap)
        if (inReach.size >= cap) { capped = true; continue; }
        const ids = geokdbush.around(idx.index, p.lon, p.lat, cap, maxKm, pred);
        if (ids.length >= cap) capped = true;
        for (const id of ids) if (hav(pxyz, pi, idx.xyz, id) <= aMax) inReach.add(idx.sites[id].entity);
      }
      if (onServed && idx && pts.length) {
        if (cand && served) onServed(county, type, cand.filter((_, j) => served[j]).map((id) => idx.sites[id]));
        else onServed(county, type, servedDense(idx, pxyz, cxyz, clat, clon, rc, crit.maxMiles, aMax, timeOk));
      }
      let withinReach = 0, accepting = 0;
      for (const e of inReach) {
        withinReach += type.code === BED_TYPE ? entityBeds[e] : 1;
        if (entityAccepting[e]) accepting++;
      }
      nearest.sort((a, b) => a - b);
      const pct = (x: number) => (total > 0 ? Math.round((x / total) * 10000) / 100 : 0);
      const sharePct = pct(covered);
      const meetsDistance = total > 0 && sharePct >= reqShare;
      const meetsMinimum = withinReach >= crit.minRequired;
      const assessed = timeOk !== undefined;
      const nearestMinutes = assessed ? bestMinutes!.get(type.code) ?? null : null;
      // county-level times: every beneficiary of the county is as far in minutes from a Location as the matrix says
      const shareTimePct = assessed ? (nearestMinutes !== null && nearestMinutes <= maxMinutes! ? pct(total) : 0) : null;
      const shareTimeAndDistancePct = assessed ? pct(coveredBoth) : null;
      const meetsTime = assessed ? total > 0 && shareTimePct! >= reqShare : null;
      const pass = (assessed ? total > 0 && shareTimeAndDistancePct! >= reqShare : meetsDistance) && meetsMinimum;
      rows.push({
        networkId: input.networkId, ssa: county.ssa, fips: county.fips, state: county.state, county: county.name, designation: county.designation,
        type: type.code, typeName: type.name, category: type.category, maxMiles: crit.maxMiles, maxMinutes: crit.maxMinutes, minRequired: crit.minRequired,
        unit: type.code === BED_TYPE ? 'beds' : type.category === 'facility' ? 'facilities' : 'providers',
        requiredSharePct: reqShare, points: pts.length, sharePct,
        travelTime: assessed ? 'assessed' : 'not assessed', shareTimePct, shareTimeAndDistancePct, nearestMinutes: nearestMinutes === null ? null : Math.round(nearestMinutes * 100) / 100,
        withinReach, withinReachCapped: capped, acceptingWithinReach: accepting,
        nearestP50: percentile(nearest, 50), nearestP90: percentile(nearest, 90), meetsDistance, meetsTime, meetsMinimum, pass,
        status: pass ? 'pass' : withinReach === 0 ? 'no providers' : 'shortfall',
      });
    }
    onProgress?.(++done, counties.length);
  }
  return rows;
}

/**
 * Every site within reach of at least one point, where too many sites are near for the direct pass: the sites within
 * rc + max of the centre, settled by the triangle inequality when they are well inside or outside, else point by point.
 */
function servedDense(idx: TypeIndex, pxyz: Float64Array, cxyz: Float64Array, clat: number, clon: number, rc: number, maxMiles: number, aMax: number, timeOk?: (s: Site) => boolean): Site[] {
  const radius = (rc + maxMiles) * KM_PER_MILE * 1.0001 + 0.01;
  const out: Site[] = [];
  const n = pxyz.length / 3;
  for (const id of geokdbush.around(idx.index, clon, clat, Infinity, radius, timeOk ? (i) => timeOk(idx.sites[i]) : undefined)) {
    const dc = milesOf(hav(cxyz, 0, idx.xyz, id));
    let ok = dc + rc < maxMiles * 0.9999; // every point is within reach
    if (!ok && dc - rc <= maxMiles * 1.0001) for (let pi = 0; pi < n && !ok; pi++) ok = hav(pxyz, pi, idx.xyz, id) <= aMax;
    if (ok) out.push(idx.sites[id]);
  }
  return out;
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

export interface TypeSummary { type: string; typeName: string; counties: number; passing: number; achievedPct: number; requiredPct: number; timeAssessed: number; meetingTime: number }

/** Per type over the service area: beneficiary-weighted share within reach vs the weighted required share. */
export function typeSummaries(rows: Row[], counties: County[]): TypeSummary[] {
  const benef = new Map(counties.map((c) => [c.fips, Math.max(1, c.beneficiaries)]));
  const acc = new Map<string, { name: string; n: number; pass: number; w: number; a: number; r: number; ta: number; tm: number }>();
  for (const r of rows) {
    const w = benef.get(r.fips) ?? 1;
    const e = acc.get(r.type) ?? { name: r.typeName, n: 0, pass: 0, w: 0, a: 0, r: 0, ta: 0, tm: 0 };
    e.n++; if (r.pass) e.pass++; e.w += w; e.a += w * r.sharePct; e.r += w * r.requiredSharePct;
    if (r.travelTime === 'assessed') e.ta++;
    if (r.meetsTime) e.tm++;
    acc.set(r.type, e);
  }
  return [...acc].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([type, e]) => ({
    type, typeName: e.name, counties: e.n, passing: e.pass,
    achievedPct: Math.round((e.a / e.w) * 100) / 100, requiredPct: Math.round((e.r / e.w) * 100) / 100,
    timeAssessed: e.ta, meetingTime: e.tm,
  }));
}
