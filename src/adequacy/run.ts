/**
 * One adequacy report, end to end: resolve the service area and the networks, gather each network's sites from the
 * directory, place the beneficiary points, load the tenant's travel times for them, analyse (collecting the sites
 * each county is served by, for the HSD tables), render the files. Used by the CLI (in process) and by the
 * `network-adequacy` job kind (files to the job storage behind signed URLs).
 */
import type { Db } from '../storage/db.ts';
import { analyze, type Row } from './analyze.ts';
import { collectNetwork, networkExists, planNetworks } from './collect.ts';
import { countyShapes, samplePoints, sampleCount, type SamplePoint } from './geo.ts';
import { HsdTables } from './hsd-tables.ts';
import { renderReport, travelTimeStatus, type ReportFile, type ReportMeta, type TravelTimeStatus } from './outputs.ts';
import { loadReference, type County, type CriteriaSet } from './reference.ts';
import { loadTravelTimes, travelTimeSet, type TravelTimeSetInfo } from './travel-times.ts';

export interface AdequacyRequest {
  tenant: string;
  /** Plan-Net Network ids (Organization ids). */
  networks?: string[];
  /** An InsurancePlan id: its networks are analysed. */
  plan?: string;
  /** Service area: USPS state codes and/or county FIPS or SSA codes. */
  states?: string[];
  counties?: string[];
  /** Types evaluated (default: every type with criteria); map types (default S03 and 040). */
  types?: string[];
  mapTypes?: string[];
  /** Date that decides which roles are active (YYYY-MM-DD). Part of the input: same inputs, same bytes. */
  asOf: string;
  png?: boolean;
  /** Tenant overrides. */
  criteria?: CriteriaSet;
  enrolleesByFips?: Map<string, number>;
  enrolleePoints?: Map<string, SamplePoint[]>;
  /** The tenant's travel-time matrix, when the report should use it (its pairs are loaded per network for the service area). */
  travelTimes?: TravelTimeSetInfo;
}

export class AdequacyInputError extends Error {}

export interface AdequacyResult { files: ReportFile[]; rows: number; networks: string[]; serviceArea: string; travelTime: TravelTimeStatus }

export function resolveServiceArea(req: Pick<AdequacyRequest, 'states' | 'counties'>): { counties: County[]; label: string } {
  const ref = loadReference();
  const states = (req.states ?? []).map((s) => s.trim().toUpperCase()).filter(Boolean);
  const codes = (req.counties ?? []).map((s) => s.trim()).filter(Boolean);
  if (!states.length && !codes.length) throw new AdequacyInputError('A service area is needed: one or more states (e.g. --state MD) or counties (FIPS or SSA codes)');
  const picked = new Map<string, County>();
  for (const st of states) {
    const list = ref.counties.filter((c) => c.state === st);
    if (!list.length) throw new AdequacyInputError(`Unknown state in the service area: ${st}`);
    for (const c of list) picked.set(c.fips, c);
  }
  for (const code of codes) {
    const c = ref.byFips.get(code.padStart(5, '0')) ?? ref.bySsa.get(code.padStart(5, '0'));
    if (!c) throw new AdequacyInputError(`Unknown county (neither a FIPS nor an SSA code): ${code}`);
    picked.set(c.fips, c);
  }
  const counties = [...picked.values()].sort((a, b) => (a.fips < b.fips ? -1 : 1));
  const label = [...states.map((s) => `state ${s}`), ...(codes.length ? [`${codes.length} counties`] : [])].join(', ');
  return { counties, label };
}

export function pointsFor(counties: County[], req: Pick<AdequacyRequest, 'enrolleesByFips' | 'enrolleePoints'>): { points: Map<string, SamplePoint[]>; basis: string; withoutShape: string[] } {
  const shapes = countyShapes();
  const points = new Map<string, SamplePoint[]>();
  const withoutShape: string[] = [];
  if (req.enrolleePoints?.size) {
    for (const c of counties) points.set(c.fips, req.enrolleePoints.get(c.fips) ?? []);
    return { points, basis: 'the enrollee points the plan uploaded (each point one enrollee).', withoutShape };
  }
  for (const c of counties) {
    const shape = shapes.get(c.fips);
    if (!shape) { withoutShape.push(`${c.name}, ${c.state} (${c.fips})`); continue; }
    const enrollees = req.enrolleesByFips?.get(c.fips);
    points.set(c.fips, samplePoints(c, shape, sampleCount(enrollees ?? c.beneficiaries), enrollees));
  }
  const basis = req.enrolleesByFips?.size
    ? 'sample points placed deterministically inside each county polygon, weighted by the enrollee counts per county the plan uploaded.'
    : 'no enrollee data was uploaded, so sample beneficiary points are placed deterministically inside each county polygon (us-atlas 2017 county shapes): one per 1,000 Medicare beneficiaries of the county (CMS HSD Reference File), at least 20 and at most 100, each standing for an equal share of the county\'s beneficiaries.';
  return { points, basis, withoutShape };
}

export async function runAdequacy(db: Db, req: AdequacyRequest, onProgress?: (text: string) => Promise<void> | void): Promise<AdequacyResult> {
  const ref = loadReference();
  const criteria = req.criteria ?? ref.criteria;
  const { counties, label } = resolveServiceArea(req);
  const types = req.types?.length ? ref.types.filter((t) => req.types!.includes(t.code)) : ref.types;
  if (req.types?.length && types.length !== new Set(req.types).size) throw new AdequacyInputError(`Unknown CMS type in ${req.types.join(',')}; known: ${ref.types.map((t) => t.code).join(' ')}`);
  const mapTypes = (req.mapTypes ?? ['S03', '040']).filter((t) => types.some((x) => x.code === t));
  const networks = await db.withTenant(req.tenant, async (tx) => {
    const ids = new Set(req.networks ?? []);
    if (req.plan) for (const n of await planNetworks(tx, req.plan)) ids.add(n);
    if (!ids.size) throw new AdequacyInputError('Name a network (or an InsurancePlan with networks)');
    for (const id of ids) if (!(await networkExists(tx, id))) throw new AdequacyInputError(`Network Organization/${id} not found`);
    return [...ids].sort();
  }, { readOnly: true });
  const { points, basis, withoutShape } = pointsFor(counties, req);
  const files: ReportFile[] = [];
  let rowCount = 0;
  let travelTime: TravelTimeStatus = 'not assessed';
  for (const [i, net] of networks.entries()) {
    await onProgress?.(`network ${i + 1} of ${networks.length}: reading the directory`);
    const { collected, set, times } = await db.withTenant(req.tenant, async (tx) => {
      const collected = await collectNetwork(tx, ref, net, req.asOf);
      // read again with the pairs: the matrix may have been replaced since the request named it
      const set = req.travelTimes ? await travelTimeSet(tx) : undefined;
      const times = set ? await loadTravelTimes(tx, set, counties.map((c) => c.fips), collected.locationIndex) : undefined;
      return { collected, set, times };
    }, { readOnly: true });
    await onProgress?.(`network ${i + 1} of ${networks.length}: analysing ${counties.length} counties`);
    let last = 0;
    const hsd = new HsdTables(collected.details, ref);
    const rows: Row[] = analyze({ networkId: net, counties, points, sites: collected.sites, types, criteria, rules: ref.rules, travelTimes: times }, (done, total) => {
      const pct = Math.floor((done / total) * 100);
      if (pct >= last + 10) { last = pct; void onProgress?.(`network ${i + 1} of ${networks.length}: ${pct}% of counties analysed`); }
    }, hsd.add);
    collected.sites.length = 0; // rendering needs the rows and the HSD details only (a national network: ~100 MB of sites)
    rowCount += rows.length;
    const meta: ReportMeta = {
      networkId: net, networkName: collected.networkName, serviceArea: label, criteriaName: criteria.name, criteriaYear: criteria.year, asOf: req.asOf,
      coverageBasis: basis, mapTypes, locationsWithoutPosition: collected.locationsWithoutPosition, countiesWithoutShape: withoutShape, rules: ref.rules,
      ...(set && times ? { travelTime: { name: set.name, uploadedAt: set.uploadedAt, countiesAssessed: counties.filter((c) => times.assessed.has(c.fips)).length, countiesTotal: counties.length } } : {}),
    };
    travelTime = travelTimeStatus(meta);
    await onProgress?.(`network ${i + 1} of ${networks.length}: rendering files`);
    const out = await renderReport(rows, counties, meta, hsd, { png: req.png });
    for (const f of out) files.push(networks.length > 1 ? { ...f, name: `${net}-${f.name}` } : f);
  }
  return { files, rows: rowCount, networks, serviceArea: label, travelTime };
}
