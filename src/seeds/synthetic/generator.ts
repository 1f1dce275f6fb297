/**
 * Deterministic, streaming generator of a synthetic Da Vinci PDex Plan-Net provider directory.
 *
 *   for (const resource of generateDirectory({ practitioners: 1000 })) { … }
 *
 * Design
 * - Deterministic: the output depends only on the options. No clock, no Math.random, no locale-sensitive calls;
 *   every entity draws from its own PRNG stream seeded by hash(seed, entity tag, index) (see random.ts). The
 *   same options give a byte-identical JSON stream on every machine.
 * - Streaming in constant memory: nothing proportional to the directory size is kept. Everything an entity
 *   needs from another one (its id, its kind, its networks, where its locations are) is *recomputed* from the
 *   other entity's index, so references resolve without remembering previous resources. Organisation kinds are
 *   contiguous id ranges computed up front from `practitioners` (a fixed-size table), and child ids embed the
 *   parent index: Location `<p>-loc-<org>-<m>`, Endpoint `<p>-ep-<org>-<e>`, HealthcareService
 *   `<p>-hcs-<org>-<s>`, OrganizationAffiliation `<p>-oa-<org>-<network>`, PractitionerRole `<p>-role-<i>-<r>`.
 * - Order (dependency-friendly; every reference points backwards except Organization.endpoint, which must form
 *   a cycle with Endpoint.managingOrganization): payer Organization, payer portal Endpoint, one region Location
 *   per state, Networks, InsurancePlans, provider Organizations, their Endpoints, Locations,
 *   HealthcareServices, OrganizationAffiliations (one per organisation × network), Practitioners,
 *   PractitionerRoles (one per practitioner × organisation × network, as the IG suggests).
 * - Proportions (see estimateResourceCount): ~1 provider organisation per 10 practitioners (at least one of each
 *   of the 13 organisation kinds), 1–3 Locations per organisation, 3–5 networks, 4–5 insurance plans,
 *   ~1.3 roles per practitioner; `--practitioners 1000` gives about 3,100 resources (200,000 → ~606,000).
 * - Validity: every resource claims its Plan-Net profile in meta.profile and fills the profile's required
 *   elements, fixed values and required bindings from the IG code systems (see shared/plan-net). All references
 *   are relative and resolve inside the generated set. Records are `active: true` / `status: active` as the IG
 *   requires; terminated participation is expressed the Plan-Net way, with an ended `period` on a small share of
 *   PractitionerRoles and OrganizationAffiliations (never `active: false`, which the profiles forbid).
 * - Network adequacy hooks (later reports map CMS HSD types to NUCC codes):
 *   - practitioner specialties come from the CMS→NUCC crosswalk (specialties.ts) and cover every HSD provider type;
 *   - facilities are Organizations (type `fac`) with HealthcareServices whose `specialty` is the crosswalk's NUCC
 *     facility code and whose `characteristic` carries the CMS HSD type code (system HSD_TYPE_SYSTEM), e.g. 040
 *     acute inpatient (hospitals in towns under 25,000 people are Critical Access Hospitals, NUCC 282NC0060X,
 *     ≤ 25 beds), and 041 cardiac surgery / 042 cardiac catheterization / 043 ICU, the hospital services NUCC
 *     has no code for (their `specialty` is the physician specialty that runs them);
 *   - **bed counts**: inpatient HealthcareServices (acute inpatient 040, ICU, psychiatric 052, skilled nursing 046)
 *     carry the extension BED_COUNT_EXTENSION_URL (valueInteger, staffed beds). Chosen over Location (beds belong
 *     to the service at that site, and each inpatient service references exactly one Location) and over
 *     `characteristic` (a number is not a code). Plan-Net's extension slicing is open, so it stays profile-valid.
 *   - Locations carry real US city/ZIP/county (Address.district = county name; county FIPS via us-places.ts) and
 *     a position jittered a little around the city centre.
 */
import type {
  Address,
  CodeableConcept,
  Coding,
  ContactPoint,
  Endpoint,
  Extension,
  HealthcareService,
  InsurancePlan,
  Location,
  Organization,
  OrganizationAffiliation,
  Period,
  Practitioner,
  PractitionerRole,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import { FEMALE_GIVEN, LANGUAGES, MALE_GIVEN, NAME_WORDS, PAYER_NAMES, PHARMACY_BRANDS, STREET_NAMES, STREET_SUFFIXES, SUITE_PREFIXES, SURNAMES } from './names.ts';
import { cumulativeOf, hash32, pickCumulative, Rng } from './random.ts';
import { DEGREE_DISPLAY, ORG_KINDS, PRACTITIONER_SPECIALTIES, PROVIDER_ROLE_DISPLAY } from './specialties.ts';
import type { OrgKind, OrgKindDef, PractitionerSetting, ServiceDef, SpecialtyDef } from './specialties.ts';
import { US_PLACES, US_STATES, stateByCode } from './us-places.ts';
import type { UsPlace } from './us-places.ts';

export interface SyntheticOptions {
  /** Number of Practitioners; everything else is sized from it. */
  practitioners: number;
  /** PRNG seed (32-bit integer), default 1. */
  seed?: number;
  /** Prefix of every resource id, default 'syn' (letters, digits, '-' and '.', at most 20 characters). */
  idPrefix?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Canonical URLs

const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net';
const SD = `${PN}/StructureDefinition/`;
const CS = `${PN}/CodeSystem/`;
const PROFILE = {
  organization: `${SD}plannet-Organization`,
  network: `${SD}plannet-Network`,
  location: `${SD}plannet-Location`,
  endpoint: `${SD}plannet-Endpoint`,
  insurancePlan: `${SD}plannet-InsurancePlan`,
  healthcareService: `${SD}plannet-HealthcareService`,
  organizationAffiliation: `${SD}plannet-OrganizationAffiliation`,
  practitioner: `${SD}plannet-Practitioner`,
  practitionerRole: `${SD}plannet-PractitionerRole`,
} as const;
const NUCC = 'http://nucc.org/provider-taxonomy';
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
const CLIA_SYSTEM = 'urn:oid:2.16.840.1.113883.4.7';
const USPS = 'https://www.usps.com/';
const V2_0360 = 'http://terminology.hl7.org/CodeSystem/v2-0360';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const V3_ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const SERVICE_TYPE = 'http://terminology.hl7.org/CodeSystem/service-type';
const ENDPOINT_CONNECTION_TYPE = 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type';
const V3_ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const BCP47 = 'urn:ietf:bcp:47';
const MA_PLAN_ID_SYSTEM = 'http://cms.gov/medicare/ma-plan-id';

/** Base for this project's own (non-IG) canonicals; example.org because they are not published anywhere. */
export const SYNTHETIC_CANONICAL_BASE = 'https://plannet-directory.example.org/fhir';
/** Extension on inpatient HealthcareServices: number of staffed beds (valueInteger). */
export const BED_COUNT_EXTENSION_URL = `${SYNTHETIC_CANONICAL_BASE}/StructureDefinition/staffed-bed-count`;
/** Code system for CMS MA HSD specialty/facility type codes (e.g. 040), used in HealthcareService.characteristic. */
export const HSD_TYPE_SYSTEM = `${SYNTHETIC_CANONICAL_BASE}/CodeSystem/cms-hsd-type`;

const EXT = {
  networkReference: `${SD}network-reference`,
  locationReference: `${SD}location-reference`,
  newPatients: `${SD}newpatients`,
  deliveryMethod: `${SD}delivery-method`,
  endpointUsecase: `${SD}endpoint-usecase`,
  accessibility: `${SD}accessibility`,
  communicationProficiency: `${SD}communication-proficiency`,
  availableTime: `${SD}contactpoint-availabletime`,
  viaIntermediary: `${SD}via-intermediary`,
  orgDescription: `${SD}org-description`,
  practitionerQualification: `${SD}practitioner-qualification`,
  qualification: `${SD}qualification`,
  practitionerPeriod: `${SD}practitioner-period`,
  orgPeriod: 'http://hl7.org/fhir/StructureDefinition/organization-period',
  geolocation: 'http://hl7.org/fhir/StructureDefinition/geolocation',
} as const;

const CATEGORY_DISPLAY: Readonly<Record<string, string>> = {
  behav: 'Behavioral Health', dent: 'Dental', dme: 'DME/Medical Supplies', emerg: 'Emergency care', group: 'Medical Group',
  home: 'Home Health', hosp: 'Hospital', lab: 'Laboratory', outpat: 'Clinic or Outpatient Facility', prov: 'Medical Provider',
  pharm: 'Pharmacy', trans: 'Transportation', urg: 'Urgent Care', vis: 'Vision',
};

const ACCEPTING = [
  { code: 'newpt', display: 'Accepting', weight: 70 },
  { code: 'existptonly', display: 'Accepting existing patients', weight: 14 },
  { code: 'existptfam', display: 'Accepting existing patients and their families', weight: 6 },
  { code: 'nopt', display: 'Not Accepting', weight: 10 },
] as const;
const ACCEPTING_CUM = cumulativeOf(ACCEPTING.map((a) => a.weight));

const ACCESSIBILITY = [
  { code: 'handiaccess', display: 'handicap accessible' },
  { code: 'adacomp', display: 'ADA compliant' },
  { code: 'pubtrans', display: 'public transit options' },
  { code: 'anssrvc', display: 'answering service' },
  { code: 'cultcomp', display: 'Cultural competence' },
  { code: 'cognitive', display: 'cognitive' },
  { code: 'mobility', display: 'mobility' },
] as const;

const NEW_PATIENT_NOTES = ['Accepts Medicare patients', 'Adults 18 and older', 'Accepts Medicaid patients', 'Referral required', 'Telehealth visits available'];

// Entity tags for the PRNG streams (any distinct constants).
const T = {
  payer: 1, org: 2, loc: 3, ep: 4, hcs: 5, oa: 6, practPlan: 7, pract: 8, role: 9, net: 10, plan: 11, npi: 12, stateLoc: 13,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Network and plan templates

interface NetworkDef {
  suffix: string;
  /** share of provider organisations that participate (network 0 = everyone) */
  share: number;
  description: string;
}
const NETWORKS: readonly NetworkDef[] = [
  { suffix: 'Broad PPO Network', share: 1, description: 'broad commercial PPO network' },
  { suffix: 'Select HMO Network', share: 0.6, description: 'commercial HMO network' },
  { suffix: 'Medicare Advantage Network', share: 0.7, description: 'Medicare Advantage network' },
  { suffix: 'Value Network', share: 0.3, description: 'narrow value network' },
  { suffix: 'Behavioral Health Network', share: 0.4, description: 'behavioral health network' },
];

interface PlanDef {
  suffix: string;
  type: { code: string; display: string };
  /** network indexes referenced at product level */
  networks: readonly number[];
  /** plan-level (plan[].type) entries with their own network(s) */
  plans: readonly { code: string; display: string; networks?: readonly number[] }[];
  maPlan?: boolean;
  /** coverage area: every state, or only the payer's home state */
  homeStateOnly?: boolean;
  minNetworks: number;
}
const PLANS: readonly PlanDef[] = [
  {
    suffix: 'Choice PPO', type: { code: 'commppo', display: 'Commercial PPO' }, networks: [0], minNetworks: 1,
    plans: [{ code: 'lowdeductible', display: 'Low Deductible' }, { code: 'highdeductible', display: 'High Deductible' }],
  },
  { suffix: 'Select HMO', type: { code: 'commhmo', display: 'Commercial HMO' }, networks: [1], minNetworks: 1, plans: [{ code: 'lowdeductible', display: 'Low Deductible' }] },
  { suffix: 'Medicare Advantage HMO', type: { code: 'mediadvhmo', display: 'Medicare Advantage HMO' }, networks: [2], minNetworks: 1, plans: [], maPlan: true },
  {
    suffix: 'Marketplace', type: { code: 'qhp', display: 'Qualified Health Plan' }, networks: [], minNetworks: 1,
    plans: [
      { code: 'bronze', display: 'Bronze-QHP', networks: [3] },
      { code: 'silver', display: 'Silver-QHP', networks: [0] },
      { code: 'gold', display: 'Gold-QHP', networks: [0] },
    ],
  },
  { suffix: 'Medicaid Managed Care', type: { code: 'medihmo', display: 'Medicaid HMO' }, networks: [1, 4], minNetworks: 5, plans: [], homeStateOnly: true },
];

// ---------------------------------------------------------------------------------------------------------------
// Static lookup tables (fixed size, built once)

/**
 * Sampling weights ∝ population^0.7 (big cities dominate, small towns still get providers), rounded to integers
 * so that a last-bit difference in Math.pow between engines can never move a pick.
 */
const placeWeight = (p: UsPlace): number => Math.max(1, Math.round(10 * Math.pow(p.population, 0.7)));
const PLACE_CUM = cumulativeOf(US_PLACES.map(placeWeight));
/** Degrees of longitude per degree of latitude distance at each place (1/cos φ), rounded for the same reason. */
const LON_SCALE = US_PLACES.map((p) => Math.round(1e6 / Math.cos((p.lat * Math.PI) / 180)) / 1e6);
const PLACES_BY_STATE = new Map<string, { indexes: number[]; cum: Float64Array }>();
for (const st of US_STATES) {
  const indexes: number[] = [];
  US_PLACES.forEach((p, i) => {
    if (p.state === st.code) indexes.push(i);
  });
  if (indexes.length === 0) throw new Error(`us-places: no place in ${st.code}`);
  PLACES_BY_STATE.set(st.code, { indexes, cum: cumulativeOf(indexes.map((i) => placeWeight(US_PLACES[i]))) });
}
const SPECIALTY_CUM = cumulativeOf(PRACTITIONER_SPECIALTIES.map((s) => s.weight));
const LANGUAGE_CUM = cumulativeOf(LANGUAGES.map((l) => l.weight));
const KIND_INDEX = new Map<OrgKind, number>(ORG_KINDS.map((k, i) => [k.kind, i]));
const PRIMARY_CARE_TYPES = new Set(['001', '002', '003', '004', '005', '006']);

const DAY_MS = 86_400_000;
const DAY_2005 = Date.UTC(2005, 0, 1) / DAY_MS;
const DAY_2015 = Date.UTC(2015, 0, 1) / DAY_MS;
const DAY_2023 = Date.UTC(2023, 0, 1) / DAY_MS;
const DAY_2025_06 = Date.UTC(2025, 5, 1) / DAY_MS;

function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------------------------------
// Layout: fixed-size sizing of the directory

interface Layout {
  n: number;
  seed: number;
  p: string;
  nNetworks: number;
  plans: readonly PlanDef[];
  nOrgs: number;
  kindStart: number[];
  kindCount: number[];
}

const ID_PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9\-.]{0,19}$/;
export const MAX_PRACTITIONERS = 10_000_000;

function layoutOf(opts: SyntheticOptions): Layout {
  const n = opts.practitioners;
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_PRACTITIONERS) {
    throw new RangeError(`practitioners must be an integer between 0 and ${MAX_PRACTITIONERS}, got ${String(n)}`);
  }
  const seed = opts.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${String(seed)}`);
  const p = opts.idPrefix ?? 'syn';
  if (!ID_PREFIX_RE.test(p)) {
    throw new RangeError(`idPrefix must be 1-20 characters of [A-Za-z0-9-.] starting with a letter or digit, got "${p}"`);
  }
  const nNetworks = n < 1000 ? 3 : n < 20_000 ? 4 : 5;
  const plans = PLANS.filter((pl) => nNetworks >= pl.minNetworks);
  const target = Math.max(ORG_KINDS.length, Math.round(n / 10));
  const kindCount = ORG_KINDS.map((k) => (k.kind === 'group' ? 0 : Math.max(1, Math.round(k.weight * target))));
  const others = kindCount.reduce((a, b) => a + b, 0);
  const g = KIND_INDEX.get('group')!;
  kindCount[g] = Math.max(1, target - others);
  const kindStart: number[] = [];
  let acc = 0;
  for (const c of kindCount) {
    kindStart.push(acc);
    acc += c;
  }
  return { n, seed: seed | 0, p, nNetworks, plans, nOrgs: acc, kindStart, kindCount };
}

// ---------------------------------------------------------------------------------------------------------------
// Per-entity derived facts (pure functions of the layout and an index)

interface OrgInfo {
  k: number;
  def: OrgKindDef;
  kindIdx: number;
  idxInKind: number;
  home: number;
  nLocations: number;
  nEndpoints: number;
  services: ServiceDef[];
  networks: number[];
}

function orgInfo(L: Layout, k: number): OrgInfo {
  let kindIdx = 0;
  while (kindIdx + 1 < L.kindStart.length && L.kindStart[kindIdx + 1] <= k) kindIdx++;
  const def = ORG_KINDS[kindIdx];
  const idxInKind = k - L.kindStart[kindIdx];
  const first = idxInKind === 0;
  const r = Rng.for(L.seed, T.org, k);
  const home = pickCumulative(PLACE_CUM, r.next());
  const nLocations = r.range(def.locations[0], def.locations[1]);
  const nEndpoints = r.chance(def.endpointShare) ? (def.kind === 'hospital' ? 2 : 1) : 0;
  const services: ServiceDef[] = [];
  for (const s of def.services) {
    if (r.chance(s.share) || first) services.push(s);
  }
  const networks = [0];
  for (let net = 1; net < L.nNetworks; net++) {
    const share = net === 4 && (def.kind === 'bh' || def.kind === 'psych') ? 1 : NETWORKS[net].share;
    if (r.chance(share) || first) networks.push(net);
  }
  return { k, def, kindIdx, idxInKind, home, nLocations, nEndpoints, services, networks };
}

interface LocInfo {
  place: UsPlace;
  line: string[];
  lat: number;
  lon: number;
  phone: string;
}

/** Where organisation k's m-th Location is. */
function locInfo(L: Layout, org: OrgInfo, m: number): LocInfo {
  const r = Rng.for(L.seed, T.loc, org.k, m);
  let placeIdx = org.home;
  if (m > 0 && r.chance(0.5)) {
    const st = PLACES_BY_STATE.get(US_PLACES[org.home].state)!;
    placeIdx = st.indexes[pickCumulative(st.cum, r.next())];
  }
  const place = US_PLACES[placeIdx];
  const line = [`${r.range(1, 9899)} ${r.pick(STREET_NAMES)} ${r.pick(STREET_SUFFIXES)}`];
  if (r.chance(0.45)) line.push(`${r.pick(SUITE_PREFIXES)} ${r.range(1, 12) * 100 + r.range(0, 20)}`);
  // Jitter: uniform in a disc around the city centre (rejection sampling: only exact arithmetic), radius by
  // city size (~2–9 km).
  const radius = place.population >= 500 ? 0.08 : place.population >= 100 ? 0.05 : 0.02;
  let dx: number;
  let dy: number;
  do {
    dx = 2 * r.next() - 1;
    dy = 2 * r.next() - 1;
  } while (dx * dx + dy * dy > 1);
  const lat = round6(place.lat + radius * dy);
  const lon = round6(place.lon + radius * dx * LON_SCALE[placeIdx]);
  return { place, line, lat, lon, phone: phoneOf(place, r) };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function phoneOf(place: UsPlace, r: Rng): string {
  // 555-0100…555-0199 is the range reserved for fictional use.
  return `(${place.areaCode}) 555-01${String(r.int(100)).padStart(2, '0')}`;
}

interface RolePlan {
  org: number;
  net: number;
}

interface PractPlan {
  spec: SpecialtyDef;
  roles: RolePlan[];
}

const SETTING_KIND: Readonly<Record<PractitionerSetting, OrgKind>> = { group: 'group', hospital: 'hospital', bh: 'bh', rehab: 'rehab' };
const SECONDARY_KIND: Readonly<Record<PractitionerSetting, OrgKind>> = { group: 'hospital', hospital: 'group', bh: 'psych', rehab: 'hospital' };

function pickOrgOfKind(L: Layout, kind: OrgKind, r: Rng): number {
  const ki = KIND_INDEX.get(kind)!;
  return L.kindStart[ki] + r.int(L.kindCount[ki]);
}

/** Specialty and (organisation, network) of each PractitionerRole of practitioner i. */
function practPlan(L: Layout, i: number): PractPlan {
  const r = Rng.for(L.seed, T.practPlan, i);
  // The first practitioners walk through the whole specialty table, so even a small directory covers every
  // CMS HSD provider type; the rest are drawn by weight.
  const u = r.next();
  const spec = i < PRACTITIONER_SPECIALTIES.length ? PRACTITIONER_SPECIALTIES[i] : PRACTITIONER_SPECIALTIES[pickCumulative(SPECIALTY_CUM, u)];
  const primary = pickOrgOfKind(L, SETTING_KIND[spec.setting], r);
  const v = r.next();
  const wanted = v < 0.74 ? 1 : v < 0.96 ? 2 : 3;
  const primaryNets = orgInfo(L, primary).networks;
  const roles: RolePlan[] = [];
  let secondary = -1;
  let secondaryNets: number[] = [];
  for (let k = 0; k < wanted; k++) {
    if (k < primaryNets.length) {
      roles.push({ org: primary, net: primaryNets[k] });
      continue;
    }
    if (secondary < 0) {
      secondary = pickOrgOfKind(L, SECONDARY_KIND[spec.setting], r);
      if (secondary === primary) break;
      secondaryNets = orgInfo(L, secondary).networks;
    }
    const j = k - primaryNets.length;
    if (j >= secondaryNets.length) break;
    roles.push({ org: secondary, net: secondaryNets[j] });
  }
  return { spec, roles };
}

// ---------------------------------------------------------------------------------------------------------------
// Identifiers

/** NPI check digit: Luhn over "80840" + the 9-digit base (ISO 7812 card-issuer prefix for US health). */
export function npiCheckDigit(base9: string): number {
  const s = `80840${base9}`;
  let sum = 0;
  // The check digit will be appended on the right, so the rightmost digit of s is doubled.
  for (let idx = s.length - 1, dbl = true; idx >= 0; idx--, dbl = !dbl) {
    let d = s.charCodeAt(idx) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

const NPI_HALF = 50_000_000;

/**
 * A valid NPI for entity `index` of one kind: '1' + 8 digits + Luhn check digit. Practitioners take bodies
 * [0, 5·10^7), organisations [5·10^7, 10^8); within each half, index ↦ (index·48271 + offset) mod 5·10^7 is a
 * bijection (gcd(48271, 5·10^7) = 1), so NPIs never repeat for up to 5·10^7 entities of a kind.
 */
function npi(L: Layout, kind: 'practitioner' | 'organization', index: number): string {
  const off = hash32(L.seed, T.npi, kind === 'practitioner' ? 1 : 2) % NPI_HALF;
  const body = ((index * 48271 + off) % NPI_HALF) + (kind === 'practitioner' ? 0 : NPI_HALF);
  const base9 = '1' + String(body).padStart(8, '0');
  return base9 + String(npiCheckDigit(base9));
}

// ---------------------------------------------------------------------------------------------------------------
// Small builders

interface RefTargets {
  Organization: Organization;
  Location: Location;
  Endpoint: Endpoint;
  HealthcareService: HealthcareService;
  Practitioner: Practitioner;
}

/** A relative reference `Type/id` (typed by its target so it fits e.g. Reference<Organization>). */
function ref<K extends keyof RefTargets>(type: K, id: string, display?: string): Reference<RefTargets[K]> {
  return display === undefined ? { reference: `${type}/${id}` } : { reference: `${type}/${id}`, display };
}

function cc(system: string, code: string, display?: string, text?: string): CodeableConcept {
  const coding: Coding = display === undefined ? { system, code } : { system, code, display };
  return text === undefined ? { coding: [coding] } : { coding: [coding], text };
}

function orgTypeCC(code: string): CodeableConcept {
  const display = code === 'ntwk' ? 'Network' : code === 'payer' ? 'Payer' : code === 'fac' ? 'Facility' : code === 'prvgrp' ? 'Provider Group' : code;
  return cc(`${CS}OrgTypeCS`, code, display);
}

function stateLocId(L: Layout, state: string): string {
  return `${L.p}-loc-state-${state.toLowerCase()}`;
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;

function availableTimeExt(days: readonly string[], start?: string, end?: string): Extension {
  const ext: Extension[] = days.map((d) => ({ url: 'daysOfWeek', valueCode: d }));
  if (start === undefined) ext.push({ url: 'allDay', valueBoolean: true });
  else ext.push({ url: 'availableStartTime', valueTime: start }, { url: 'availableEndTime', valueTime: end });
  return { url: EXT.availableTime, extension: ext };
}

function phoneTelecom(phone: string, withHours: boolean, allDay = false): ContactPoint {
  const cp: ContactPoint = { system: 'phone', value: phone, use: 'work', rank: 1 };
  if (withHours) cp.extension = [allDay ? availableTimeExt([...WEEKDAYS, 'sat', 'sun']) : availableTimeExt(WEEKDAYS, '08:00:00', '17:00:00')];
  return cp;
}

function addressOf(loc: LocInfo): Address {
  return {
    use: 'work',
    type: 'physical',
    line: loc.line,
    city: loc.place.city,
    district: loc.place.county,
    state: loc.place.state,
    postalCode: loc.place.zip,
    country: 'US',
  };
}

function geolocated(addr: Address, loc: LocInfo): Address {
  return {
    extension: [
      {
        url: EXT.geolocation,
        extension: [
          { url: 'latitude', valueDecimal: loc.lat },
          { url: 'longitude', valueDecimal: loc.lon },
        ],
      },
    ],
    ...addr,
  };
}

function newPatientsExt(r: Rng, network?: string): Extension {
  const a = ACCEPTING[pickCumulative(ACCEPTING_CUM, r.next())];
  const ext: Extension[] = [{ url: 'acceptingPatients', valueCodeableConcept: cc(`${CS}AcceptingPatientsCS`, a.code, a.display) }];
  if (network !== undefined) ext.push({ url: 'fromNetwork', valueReference: { reference: `Organization/${network}` } });
  if (a.code !== 'nopt' && r.chance(0.3)) ext.push({ url: 'characteristics', valueString: r.pick(NEW_PATIENT_NOTES) });
  return { url: EXT.newPatients, extension: ext };
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

function networkId(L: Layout, net: number): string {
  return `${L.p}-net-${net}`;
}

function orgId(L: Layout, k: number): string {
  return `${L.p}-org-${k}`;
}

function payerId(L: Layout): string {
  return `${L.p}-payer`;
}

function periodFrom(r: Rng, fromDay: number, toDay: number): Period {
  return { start: isoDate(fromDay + r.int(toDay - fromDay)) };
}

// ---------------------------------------------------------------------------------------------------------------
// Resource builders

interface PayerInfo {
  name: string;
  short: string;
  place: UsPlace;
  loc: LocInfo;
}

function payerInfo(L: Layout): PayerInfo {
  const r = Rng.for(L.seed, T.payer, 0);
  const name = PAYER_NAMES[r.int(PAYER_NAMES.length)];
  const short = name.replace(/ (Health Plan|Health Insurance|Health Alliance|Health)$/, '');
  const placeIdx = pickCumulative(PLACE_CUM, r.next());
  const place = US_PLACES[placeIdx];
  const line = [`${r.range(100, 2999)} ${r.pick(STREET_NAMES)} ${r.pick(STREET_SUFFIXES)}`];
  return { name, short, place, loc: { place, line, lat: round6(place.lat), lon: round6(place.lon), phone: phoneOf(place, r) } };
}

function buildPayer(L: Layout, payer: PayerInfo): Organization {
  return {
    resourceType: 'Organization',
    id: payerId(L),
    meta: { profile: [PROFILE.organization] },
    extension: [{ url: EXT.orgDescription, valueString: `${payer.name} is a synthetic health plan offering commercial, Medicare Advantage and Marketplace products.` }],
    active: true,
    type: [orgTypeCC('payer')],
    name: payer.name,
    telecom: [
      phoneTelecom(payer.loc.phone, true),
      { system: 'url', value: `https://www.${slug(payer.short)}.example.org`, rank: 2 },
    ],
    address: [geolocated(addressOf(payer.loc), payer.loc)],
    contact: [
      {
        purpose: cc('http://terminology.hl7.org/CodeSystem/contactentity-type', 'ADMIN', 'Administrative'),
        name: { text: 'Provider Relations' },
        telecom: [{ system: 'phone', value: payer.loc.phone, use: 'work' }],
      },
    ],
  };
}

function buildPayerEndpoint(L: Layout, payer: PayerInfo): Endpoint {
  return {
    resourceType: 'Endpoint',
    id: `${L.p}-ep-payer`,
    meta: { profile: [PROFILE.endpoint] },
    extension: [{ url: EXT.endpointUsecase, extension: [{ url: 'type', valueCodeableConcept: cc(V3_ACT_REASON, 'HOPERAT', 'healthcare operations') }] }],
    status: 'active',
    connectionType: { system: `${CS}EndpointConnectionTypeCS`, code: 'rest-non-fhir', display: 'REST (not FHIR)' },
    name: `${payer.name} provider portal`,
    managingOrganization: ref('Organization', payerId(L)),
    contact: [{ system: 'email', value: `portal-support@${slug(payer.short)}.example.org` }],
    payloadType: [cc(`${CS}EndpointPayloadTypeCS`, 'NA', 'Not Applicable')],
    address: `https://portal.${slug(payer.short)}.example.org`,
  };
}

function buildStateLocation(L: Layout, code: string): Location {
  const st = stateByCode(code)!;
  return {
    resourceType: 'Location',
    id: stateLocId(L, code),
    meta: { profile: [PROFILE.location] },
    status: 'active',
    name: code === 'DC' ? 'District of Columbia Area' : `State of ${st.name} Area`,
    description: `Coverage area: the whole of ${st.name}`,
    address: { state: code, country: 'US' },
    physicalType: cc('http://terminology.hl7.org/CodeSystem/location-physical-type', 'jdn', 'Jurisdiction'),
  };
}

function buildNetwork(L: Layout, payer: PayerInfo, net: number): Organization {
  const r = Rng.for(L.seed, T.net, net);
  const def = NETWORKS[net];
  const female = r.chance(0.5);
  return {
    resourceType: 'Organization',
    id: networkId(L, net),
    meta: { profile: [PROFILE.network] },
    extension: US_STATES.map((s) => ({ url: EXT.locationReference, valueReference: ref('Location', stateLocId(L, s.code)) })),
    active: true,
    type: [orgTypeCC('ntwk')],
    name: `${payer.short} ${def.suffix}`,
    alias: [def.description],
    address: [addressOf(payer.loc)],
    partOf: ref('Organization', payerId(L), payer.name),
    contact: [
      {
        name: { family: r.pick(SURNAMES), given: [r.pick(female ? FEMALE_GIVEN : MALE_GIVEN)] },
        telecom: [
          {
            system: 'phone',
            value: payer.loc.phone,
            extension: [{ url: EXT.viaIntermediary, valueReference: ref('Organization', payerId(L)) }],
          },
        ],
      },
    ],
  };
}

function buildInsurancePlan(L: Layout, payer: PayerInfo, q: number): InsurancePlan {
  const def = L.plans[q];
  const r = Rng.for(L.seed, T.plan, q);
  const valid = (nets: readonly number[] | undefined): number[] => (nets ?? []).filter((n) => n < L.nNetworks);
  const identifier: NonNullable<InsurancePlan['identifier']> = [
    {
      use: 'official',
      system: `${SYNTHETIC_CANONICAL_BASE}/sid/plan-id`,
      value: `${slug(payer.short).toUpperCase()}-${def.type.code.toUpperCase()}-${String(q + 1).padStart(3, '0')}`,
      assigner: ref('Organization', payerId(L), payer.name),
    },
  ];
  if (def.maPlan) {
    identifier.push({ system: MA_PLAN_ID_SYSTEM, value: `H${String(1000 + r.int(9000))}-${String(1 + r.int(999)).padStart(3, '0')}-000` });
  }
  const coverage = def.homeStateOnly ? [payer.place.state] : US_STATES.map((s) => s.code);
  const plan: NonNullable<InsurancePlan['plan']> = def.plans.map((pl, idx) => {
    const entry: NonNullable<InsurancePlan['plan']>[number] = {
      type: cc(`${CS}InsurancePlanTypeCS`, pl.code, pl.display),
    };
    if (pl.networks) {
      const nets = valid(pl.networks);
      entry.network = (nets.length > 0 ? nets : [0]).map((n) => ref('Organization', networkId(L, n)));
    }
    if (idx === 0) entry.coverageArea = [ref('Location', stateLocId(L, payer.place.state))];
    return entry;
  });
  const res: InsurancePlan = {
    resourceType: 'InsurancePlan',
    id: `${L.p}-plan-${q}`,
    meta: { profile: [PROFILE.insurancePlan] },
    identifier,
    status: 'active',
    type: [cc(`${CS}InsuranceProductTypeCS`, def.type.code, def.type.display)],
    name: `${payer.short} ${def.suffix}`,
    alias: [`${def.suffix}`],
    period: { start: '2026-01-01', end: '2026-12-31' },
    ownedBy: ref('Organization', payerId(L), payer.name),
    administeredBy: ref('Organization', payerId(L), payer.name),
    coverageArea: coverage.map((s) => ref('Location', stateLocId(L, s))),
    contact: [
      {
        purpose: cc('http://terminology.hl7.org/CodeSystem/contactentity-type', 'PATINF', 'Patient'),
        name: { text: 'Member Services' },
        telecom: [{ system: 'phone', value: payer.loc.phone }],
      },
    ],
    endpoint: [ref('Endpoint', `${L.p}-ep-payer`)],
  };
  const nets = valid(def.networks);
  if (nets.length > 0 || plan.every((pl) => pl.network === undefined)) {
    res.network = (nets.length > 0 ? nets : [0]).map((n) => ref('Organization', networkId(L, n)));
  }
  if (plan.length > 0) res.plan = plan;
  return res;
}

const SAINTS = ['Mary', 'Joseph', 'Luke', 'Francis', 'Vincent', 'Elizabeth', 'Anthony', 'Catherine', 'Jude', 'Agnes'];
const GROUP_FOCUS = ['Family Medicine', 'Primary Care', 'Internal Medicine', 'Multispecialty', 'Physicians', 'Medical', 'Community Health', 'Specialty Care'];
const GROUP_SUFFIX = ['Associates', 'Medical Group', 'Clinic', 'Partners', 'Health Center', 'Group'];

function orgName(org: OrgInfo, place: UsPlace, r: Rng): string {
  const word = r.pick(NAME_WORDS);
  const city = place.city;
  switch (org.def.kind) {
    case 'hospital': {
      const v = r.int(5);
      if (place.population < 25) return `${city} Community Hospital`;
      return v === 0 ? `${city} General Hospital` : v === 1 ? `${word} Medical Center` : v === 2 ? `${city} Regional Medical Center` : v === 3 ? `St. ${r.pick(SAINTS)} Hospital` : `${word} Memorial Hospital`;
    }
    case 'psych':
      return `${word} Behavioral Hospital`;
    case 'snf':
      return `${word} Skilled Nursing and Rehabilitation`;
    case 'group':
      return `${r.chance(0.5) ? city : word} ${r.pick(GROUP_FOCUS)} ${r.pick(GROUP_SUFFIX)}`;
    case 'asc':
      return `${city} Surgery Center`;
    case 'imaging':
      return `${word} Imaging`;
    case 'rehab':
      return `${word} Physical Therapy and Rehabilitation`;
    case 'infusion':
      return `${city} Infusion Center`;
    case 'bh':
      return `${word} ${r.chance(0.5) ? 'Behavioral Health' : 'Counseling Center'}`;
    case 'pharmacy':
      return `${r.pick(PHARMACY_BRANDS)} #${r.range(100, 9999)}`;
    case 'lab':
      return `${word} Clinical Laboratory`;
    case 'urgent':
      return `${word} Urgent Care`;
    case 'home':
      return `${word} Home Health`;
  }
}

const KIND_DESCRIPTION: Readonly<Record<OrgKind, string>> = {
  hospital: 'General acute care hospital',
  psych: 'Inpatient psychiatric hospital',
  snf: 'Skilled nursing facility',
  group: 'Physician group practice',
  asc: 'Ambulatory surgery center',
  imaging: 'Outpatient imaging center',
  rehab: 'Outpatient rehabilitation clinic',
  infusion: 'Outpatient infusion center',
  bh: 'Outpatient behavioral health clinic',
  pharmacy: 'Retail pharmacy',
  lab: 'Clinical laboratory',
  urgent: 'Urgent care center',
  home: 'Home health agency',
};

/** Facility taxonomy used as the organisation's licence qualification. */
function facilityCode(org: OrgInfo): { code: string; display: string } | undefined {
  if (org.def.kind === 'group') return undefined;
  return serviceSpecialty(org, org.def.services[0]);
}

function buildOrganization(L: Layout, org: OrgInfo): Organization {
  const r = Rng.for(L.seed, T.org, org.k, 1);
  const loc0 = locInfo(L, org, 0);
  const name = orgName(org, loc0.place, r);
  const st = stateByCode(loc0.place.state)!;
  const extension: Extension[] = [
    { url: EXT.orgDescription, valueString: `${KIND_DESCRIPTION[org.def.kind]} in ${loc0.place.city}, ${loc0.place.state}.` },
    { url: EXT.orgPeriod, valuePeriod: periodFrom(r, DAY_2005, DAY_2023) },
  ];
  const fc = facilityCode(org);
  if (fc) {
    extension.push({
      url: EXT.qualification,
      extension: [
        { url: 'identifier', valueIdentifier: { system: `${SYNTHETIC_CANONICAL_BASE}/sid/facility-license/${st.code.toLowerCase()}`, value: `${st.code}-${100000 + r.int(900000)}` } },
        { url: 'code', valueCodeableConcept: cc(NUCC, fc.code, fc.display) },
        { url: 'issuer', valueReference: { display: `${st.name} Department of Health` } },
        { url: 'status', valueCode: 'active' },
        { url: 'whereValid', valueCodeableConcept: cc(USPS, st.code) },
      ],
    });
  }
  const identifier: NonNullable<Organization['identifier']> = [
    { use: 'official', type: cc(V2_0203, 'NPI', 'National provider identifier'), system: NPI_SYSTEM, value: npi(L, 'organization', org.k) },
  ];
  if (org.def.kind === 'lab') {
    identifier.push({ system: CLIA_SYSTEM, value: `${String(10 + r.int(90))}D${String(r.int(10_000_000)).padStart(7, '0')}` });
  }
  const res: Organization = {
    resourceType: 'Organization',
    id: orgId(L, org.k),
    meta: { profile: [PROFILE.organization] },
    extension,
    identifier,
    active: true,
    type: [orgTypeCC(org.def.orgType)],
    name,
    telecom: [
      phoneTelecom(loc0.phone, true, org.def.kind === 'hospital'),
      { system: 'url', value: `https://${slug(name)}.example.org`, rank: 2 },
    ],
    address: [geolocated(addressOf(loc0), loc0)],
    contact: [
      {
        purpose: cc('http://terminology.hl7.org/CodeSystem/contactentity-type', 'ADMIN', 'Administrative'),
        name: { text: r.chance(0.5) ? 'Credentialing Department' : 'Practice Manager' },
        telecom: [{ system: 'phone', value: loc0.phone, use: 'work' }],
      },
    ],
  };
  // Some groups, imaging and infusion centres belong to a hospital system (hospitals come first, so the
  // reference points backwards in the stream).
  if ((org.def.kind === 'group' || org.def.kind === 'imaging' || org.def.kind === 'infusion') && r.chance(0.2)) {
    res.partOf = ref('Organization', orgId(L, pickOrgOfKind(L, 'hospital', r)));
  }
  if (org.nEndpoints > 0) {
    res.endpoint = [];
    for (let e = 0; e < org.nEndpoints; e++) res.endpoint.push(ref('Endpoint', `${L.p}-ep-${org.k}-${e}`));
  }
  return res;
}

function buildEndpoint(L: Layout, org: OrgInfo, e: number): Endpoint {
  const loc0 = locInfo(L, org, 0);
  const host = slug(orgName(org, loc0.place, Rng.for(L.seed, T.org, org.k, 1)));
  const fhir = e === 0;
  const res: Endpoint = {
    resourceType: 'Endpoint',
    id: `${L.p}-ep-${org.k}-${e}`,
    meta: { profile: [PROFILE.endpoint] },
    extension: [
      {
        url: EXT.endpointUsecase,
        extension: [
          { url: 'type', valueCodeableConcept: cc(V3_ACT_REASON, fhir ? 'TREAT' : 'COC', fhir ? 'treatment' : 'coordination of care') },
          ...(fhir ? [{ url: 'standard', valueUri: 'http://hl7.org/fhir/R4' }] : []),
        ],
      },
    ],
    status: 'active',
    connectionType: fhir
      ? { system: ENDPOINT_CONNECTION_TYPE, code: 'hl7-fhir-rest', display: 'HL7 FHIR' }
      : { system: ENDPOINT_CONNECTION_TYPE, code: 'direct-project', display: 'Direct Project' },
    name: fhir ? 'FHIR R4 API' : 'Direct secure messaging',
    managingOrganization: ref('Organization', orgId(L, org.k)),
    contact: [{ system: 'email', value: `interop@${host}.example.org` }],
    payloadType: [cc(`${CS}EndpointPayloadTypeCS`, 'NA', 'Not Applicable')],
    address: fhir ? `https://fhir.${host}.example.org/r4` : `mailto:referrals@direct.${host}.example.org`,
  };
  if (fhir) res.payloadMimeType = ['application/fhir+json'];
  return res;
}

function buildLocation(L: Layout, org: OrgInfo, m: number, orgName_: string): Location {
  const loc = locInfo(L, org, m);
  const r = Rng.for(L.seed, T.loc, org.k, 1000 + m);
  const hospital = org.def.kind === 'hospital' || org.def.kind === 'psych' || org.def.kind === 'snf';
  const extension: Extension[] = [];
  if (org.def.kind === 'group' && r.chance(0.35)) extension.push(newPatientsExt(r, networkId(L, org.networks[r.int(org.networks.length)])));
  const nAcc = r.int(3);
  const start = r.int(ACCESSIBILITY.length);
  for (let a = 0; a < nAcc; a++) {
    const acc = ACCESSIBILITY[(start + a) % ACCESSIBILITY.length];
    extension.push({ url: EXT.accessibility, valueCodeableConcept: cc(`${CS}AccessibilityCS`, acc.code, acc.display) });
  }
  const weekend = org.def.kind === 'pharmacy' || org.def.kind === 'urgent';
  const res: Location = {
    resourceType: 'Location',
    id: `${L.p}-loc-${org.k}-${m}`,
    meta: { profile: [PROFILE.location] },
    status: 'active',
    name: m === 0 ? (hospital ? `${orgName_} Main Campus` : orgName_) : `${orgName_} - ${loc.place.city} ${m + 1}`,
    description: `${KIND_DESCRIPTION[org.def.kind]} in ${loc.place.city}, ${loc.place.state}`,
    type: [cc(V3_ROLE_CODE, org.def.locationType.code, org.def.locationType.display)],
    telecom: [phoneTelecom(loc.phone, true, hospital)],
    address: addressOf(loc),
    position: { longitude: loc.lon, latitude: loc.lat },
    managingOrganization: ref('Organization', orgId(L, org.k), orgName_),
    hoursOfOperation: hospital
      ? [{ daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], allDay: true }]
      : weekend
        ? [
            { daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri'], openingTime: '08:00:00', closingTime: '21:00:00' },
            { daysOfWeek: ['sat', 'sun'], openingTime: '09:00:00', closingTime: '18:00:00' },
          ]
        : [{ daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri'], openingTime: '08:00:00', closingTime: '17:00:00' }],
  };
  if (extension.length > 0) res.extension = extension;
  if (!hospital && r.chance(0.3)) res.availabilityExceptions = 'Closed on federal holidays';
  if (m === 0 && hospital) res.alias = ['Main Campus'];
  if (m > 0 && org.def.kind === 'hospital') res.partOf = ref('Location', `${L.p}-loc-${org.k}-0`);
  if (m === 0 && org.nEndpoints > 0) res.endpoint = [ref('Endpoint', `${L.p}-ep-${org.k}-0`)];
  return res;
}

/** Small-town hospitals are Critical Access Hospitals (CMS: at most 25 inpatient beds). */
function isCriticalAccess(org: OrgInfo, def: ServiceDef): boolean {
  return def.key === 'inpatient' && US_PLACES[org.home].population < 25;
}

function serviceSpecialty(org: OrgInfo, def: ServiceDef): { code: string; display: string } {
  return isCriticalAccess(org, def) ? { code: '282NC0060X', display: 'Critical Access Hospital' } : { code: def.specialty, display: def.specialtyDisplay };
}

function buildHealthcareService(L: Layout, org: OrgInfo, s: number, orgName_: string): HealthcareService {
  const def = org.services[s];
  const r = Rng.for(L.seed, T.hcs, org.k, s);
  const loc0 = locInfo(L, org, 0);
  const spec = serviceSpecialty(org, def);
  const extension: Extension[] = [];
  if (def.beds) {
    const beds = isCriticalAccess(org, def) ? r.range(10, 25) : r.range(def.beds.min, def.beds.max);
    extension.push({ url: BED_COUNT_EXTENSION_URL, valueInteger: beds });
  }
  const delivery: Extension[] = [{ url: 'type', valueCodeableConcept: cc(`${CS}DeliveryMethodCS`, def.virtual ? 'virtual' : 'physical', def.virtual ? 'Virtual' : 'Physical') }];
  if (def.virtual) {
    for (const mod of def.key === 'mail-order' ? (['web', 'phone'] as const) : (['video', 'phone', 'app'] as const)) {
      delivery.push({ url: 'virtualModalities', valueCodeableConcept: cc(`${CS}VirtualModalitiesCS`, mod) });
    }
  }
  extension.push({ url: EXT.deliveryMethod, extension: delivery });
  if (def.category !== 'hosp' && def.category !== 'emerg' && r.chance(0.4)) extension.push(newPatientsExt(r));
  const locations: Reference<Location>[] = [];
  if (!def.virtual) {
    const count = def.allLocations ? org.nLocations : 1;
    for (let m = 0; m < count; m++) locations.push(ref('Location', `${L.p}-loc-${org.k}-${m}`));
  }
  const res: HealthcareService = {
    resourceType: 'HealthcareService',
    id: `${L.p}-hcs-${org.k}-${s}`,
    meta: { profile: [PROFILE.healthcareService] },
    extension,
    active: true,
    providedBy: ref('Organization', orgId(L, org.k), orgName_),
    category: [cc(`${CS}HealthcareServiceCategoryCS`, def.category, CATEGORY_DISPLAY[def.category])],
    specialty: [cc(NUCC, spec.code, spec.display)],
    name: `${orgName_} ${def.name}`,
    telecom: [phoneTelecom(loc0.phone, false)],
    appointmentRequired: def.category !== 'emerg' && def.category !== 'urg' && def.category !== 'pharm',
  };
  if (def.serviceType) res.type = [cc(SERVICE_TYPE, def.serviceType.code, def.serviceType.display)];
  if (locations.length > 0) res.location = locations;
  if (def.statewide) res.coverageArea = [ref('Location', stateLocId(L, loc0.place.state))];
  if (def.hsd) {
    res.characteristic = [cc(HSD_TYPE_SYSTEM, def.hsd, def.hsdDisplay, `CMS HSD ${def.hsd} ${def.hsdDisplay}`)];
    res.comment = `Counts toward CMS network adequacy type ${def.hsd} (${def.hsdDisplay}).`;
  }
  if (def.category === 'hosp' || def.category === 'emerg') {
    res.availableTime = [{ daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], allDay: true }];
  } else {
    res.availableTime = [{ daysOfWeek: [...WEEKDAYS], availableStartTime: '08:00:00', availableEndTime: '17:00:00' }];
    if (r.chance(0.2)) {
      res.notAvailable = [{ description: 'Closed for staff training', during: { start: '2026-11-26', end: '2026-11-27' } }];
    }
    res.availabilityExceptions = 'Closed on federal holidays';
  }
  if (org.nEndpoints > 0 && r.chance(0.5)) res.endpoint = [ref('Endpoint', `${L.p}-ep-${org.k}-0`)];
  return res;
}

function buildAffiliation(L: Layout, payer: PayerInfo, org: OrgInfo, net: number, orgName_: string): OrganizationAffiliation {
  const r = Rng.for(L.seed, T.oa, org.k, net);
  const loc0 = locInfo(L, org, 0);
  const period = periodFrom(r, DAY_2015, DAY_2025_06);
  if (r.chance(0.02)) period.end = isoDate(DAY_2023 + r.int(700));
  if (period.end !== undefined && period.end <= period.start!) period.start = isoDate(DAY_2015 + r.int(365));
  const res: OrganizationAffiliation = {
    resourceType: 'OrganizationAffiliation',
    id: `${L.p}-oa-${org.k}-${net}`,
    meta: { profile: [PROFILE.organizationAffiliation] },
    active: true,
    period,
    organization: ref('Organization', payerId(L), payer.name),
    participatingOrganization: ref('Organization', orgId(L, org.k), orgName_),
    network: [ref('Organization', networkId(L, net))],
    code: [cc(`${CS}OrganizationAffiliationRoleCS`, org.def.affiliationRole, org.def.affiliationRoleDisplay)],
    telecom: [{ system: 'phone', value: loc0.phone, rank: 1 }],
  };
  const specs = new Map<string, string>();
  for (const s of org.services) {
    const spec = serviceSpecialty(org, s);
    specs.set(spec.code, spec.display);
  }
  if (specs.size > 0) res.specialty = [...specs].map(([code, display]) => cc(NUCC, code, display));
  res.location = [];
  for (let m = 0; m < org.nLocations; m++) res.location.push(ref('Location', `${L.p}-loc-${org.k}-${m}`));
  if (org.services.length > 0) res.healthcareService = org.services.map((_, s) => ref('HealthcareService', `${L.p}-hcs-${org.k}-${s}`));
  if (org.nEndpoints > 0) res.endpoint = [ref('Endpoint', `${L.p}-ep-${org.k}-0`)];
  return res;
}

interface PractIdentity {
  female: boolean;
  given: string[];
  family: string;
}

function practIdentity(L: Layout, i: number): PractIdentity {
  const r = Rng.for(L.seed, T.pract, i);
  const female = r.chance(0.52);
  const pool = female ? FEMALE_GIVEN : MALE_GIVEN;
  const given = [r.pick(pool)];
  if (r.chance(0.35)) given.push(`${String.fromCharCode(65 + r.int(26))}.`);
  return { female, given, family: r.pick(SURNAMES) };
}

const DR_DEGREES = new Set(['MD', 'DO', 'PHD']);

function buildPractitioner(L: Layout, i: number, plan: PractPlan): Practitioner {
  const id = practIdentity(L, i);
  const r = Rng.for(L.seed, T.pract, i, 1);
  const spec = plan.spec;
  const degree = spec.degrees.length > 0 ? spec.degrees[r.int(spec.degrees.length)] : undefined;
  const suffix = degree ?? (spec.role === 'ch' ? 'DC' : spec.role === 'po' ? 'DPM' : spec.role === 'pt' ? 'DPT' : spec.role === 'sw' ? 'LCSW' : undefined);
  const primary = plan.roles.length > 0 ? orgInfo(L, plan.roles[0].org) : orgInfo(L, pickOrgOfKind(L, SETTING_KIND[spec.setting], r));
  const loc = locInfo(L, primary, Rng.for(L.seed, T.role, i, 0).int(primary.nLocations));
  const st = stateByCode(loc.place.state)!;
  const licensed = isoDate(DAY_2005 - 3650 + r.int(6000));
  const qualExt = (): Extension[] => [
    {
      url: EXT.practitionerQualification,
      extension: [
        { url: 'status', valueCode: 'active' },
        { url: 'whereValid', valueCodeableConcept: cc(USPS, st.code) },
      ],
    },
  ];
  const qualification: NonNullable<Practitioner['qualification']> = [];
  if (degree) {
    qualification.push({
      extension: qualExt(),
      identifier: [{ system: `${SYNTHETIC_CANONICAL_BASE}/sid/state-license/${st.code.toLowerCase()}`, value: `${degree}${100000 + r.int(900000)}` }],
      code: cc(V2_0360, degree, DEGREE_DISPLAY[degree], degree),
      period: { start: licensed },
      issuer: { display: `State of ${st.name}` },
    });
  }
  qualification.push({
    extension: qualExt(),
    code: cc(NUCC, spec.code, spec.display, spec.display),
    period: { start: licensed },
    issuer: { display: `State of ${st.name}` },
  });
  const communication: CodeableConcept[] = [
    {
      extension: [{ url: EXT.communicationProficiency, valueCodeableConcept: cc(`${CS}LanguageProficiencyCS`, '50', 'Functional native proficiency') }],
      coding: [{ system: BCP47, code: 'en', display: 'English' }],
      text: 'English',
    },
  ];
  if (r.chance(0.3)) {
    const lang = LANGUAGES[pickCumulative(LANGUAGE_CUM, r.next())];
    const level = r.pick(['30', '40', '50'] as const);
    const levelDisplay = level === '30' ? 'General professional proficiency' : level === '40' ? 'Advanced professional proficiency' : 'Functional native proficiency';
    communication.push({
      extension: [{ url: EXT.communicationProficiency, valueCodeableConcept: cc(`${CS}LanguageProficiencyCS`, level, levelDisplay) }],
      coding: [{ system: BCP47, code: lang.code, display: lang.display }],
      text: lang.display,
    });
  }
  const text = `${id.given[0]}${id.given.length > 1 ? ` ${id.given[1]}` : ''} ${id.family}${suffix ? `, ${suffix}` : ''}`;
  const res: Practitioner = {
    resourceType: 'Practitioner',
    id: `${L.p}-pract-${i}`,
    meta: { profile: [PROFILE.practitioner] },
    extension: [{ url: EXT.practitionerPeriod, valuePeriod: { start: isoDate(DAY_2005 + r.int(DAY_2023 - DAY_2005)) } }],
    identifier: [{ use: 'official', type: cc(V2_0203, 'NPI', 'National provider identifier'), system: NPI_SYSTEM, value: npi(L, 'practitioner', i) }],
    active: true,
    name: [
      {
        use: 'official',
        text,
        family: id.family,
        given: id.given,
        ...(degree && DR_DEGREES.has(degree) ? { prefix: ['Dr.'] } : {}),
        ...(suffix ? { suffix: [suffix] } : {}),
      },
    ],
    telecom: [{ system: 'phone', value: loc.phone, use: 'work' }],
    address: [geolocated(addressOf(loc), loc)],
    gender: id.female ? 'female' : 'male',
    qualification,
    communication,
  };
  return res;
}

function roleServiceIndex(org: OrgInfo, spec: SpecialtyDef, r: Rng): number {
  for (let s = 0; s < org.services.length; s++) if (org.services[s].specialty === spec.code) return s;
  if (org.services.length === 0) return -1;
  if (org.def.kind !== 'group') return 0;
  return spec.cms.some((c) => PRIMARY_CARE_TYPES.has(c)) && r.chance(0.5) ? 0 : -1;
}

function buildPractitionerRole(L: Layout, i: number, rIdx: number, plan: PractPlan): PractitionerRole {
  const rp = plan.roles[rIdx];
  const org = orgInfo(L, rp.org);
  const spec = plan.spec;
  const r = Rng.for(L.seed, T.role, i, rIdx);
  const m0 = r.int(org.nLocations);
  const locs = [m0];
  if (org.nLocations > 1 && r.chance(0.2)) locs.push((m0 + 1) % org.nLocations);
  const loc = locInfo(L, org, m0);
  const netId = networkId(L, rp.net);
  const extension: Extension[] = [
    { url: EXT.networkReference, valueReference: ref('Organization', netId) },
    newPatientsExt(r, netId),
  ];
  if (r.chance(0.3)) {
    extension.push({
      url: EXT.qualification,
      extension: [
        { url: 'code', valueCodeableConcept: cc(NUCC, spec.code, spec.display) },
        { url: 'status', valueCode: 'active' },
        { url: 'whereValid', valueCodeableConcept: cc(USPS, loc.place.state) },
      ],
    });
  }
  // Period: most roles are current; ~4% ended (terminated participation), a few end in the future.
  const startDay = DAY_2005 + r.int(DAY_2025_06 - DAY_2005);
  const period: Period = { start: isoDate(startDay) };
  const u = r.next();
  if (u < 0.04) {
    const endDay = Math.max(startDay + 180, DAY_2023) + r.int(540);
    period.end = isoDate(Math.min(endDay, DAY_2025_06));
    if (period.end <= period.start!) period.start = isoDate(DAY_2015 + r.int(1500));
  } else if (u < 0.07) {
    period.end = isoDate(DAY_2025_06 + 600 + r.int(900));
  }
  const telecom: ContactPoint[] = [phoneTelecom(loc.phone, r.chance(0.5))];
  if (r.chance(0.3)) telecom.push({ system: 'fax', value: `(${loc.place.areaCode}) 555-01${String(r.int(100)).padStart(2, '0')}`, use: 'work', rank: 2 });
  if (r.chance(0.1)) {
    // Appointments booked through the organisation's central line.
    telecom.push({
      system: 'phone',
      value: locInfo(L, org, 0).phone,
      use: 'work',
      rank: 3,
      extension: [{ url: EXT.viaIntermediary, valueReference: ref('Organization', orgId(L, org.k)) }],
    });
  }
  const res: PractitionerRole = {
    resourceType: 'PractitionerRole',
    id: `${L.p}-role-${i}-${rIdx}`,
    meta: { profile: [PROFILE.practitionerRole] },
    extension,
    active: true,
    period,
    practitioner: ref('Practitioner', `${L.p}-pract-${i}`),
    organization: ref('Organization', orgId(L, org.k)),
    code: [cc(`${CS}ProviderRoleCS`, spec.role, PROVIDER_ROLE_DISPLAY[spec.role])],
    specialty: [cc(NUCC, spec.code, spec.display)],
    location: locs.map((m) => ref('Location', `${L.p}-loc-${org.k}-${m}`)),
    telecom,
    availableTime: [
      { daysOfWeek: ['mon', 'tue', 'wed', 'thu'], availableStartTime: '08:00:00', availableEndTime: '17:00:00' },
      { daysOfWeek: ['fri'], availableStartTime: '08:00:00', availableEndTime: r.chance(0.5) ? '12:00:00' : '17:00:00' },
    ],
  };
  const s = roleServiceIndex(org, spec, r);
  if (s >= 0) res.healthcareService = [ref('HealthcareService', `${L.p}-hcs-${org.k}-${s}`)];
  if (r.chance(0.1)) res.notAvailable = [{ description: 'On leave', during: { start: '2026-07-01', end: '2026-07-15' } }];
  if (org.nEndpoints > 0 && r.chance(0.4)) res.endpoint = [ref('Endpoint', `${L.p}-ep-${org.k}-0`)];
  return res;
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

/**
 * Streams a synthetic Plan-Net directory. Same options → identical sequence (byte-identical JSON).
 * Memory use is constant in `practitioners`.
 */
export function* generateDirectory(opts: SyntheticOptions): Generator<Resource> {
  const L = layoutOf(opts);
  const payer = payerInfo(L);
  yield buildPayer(L, payer);
  yield buildPayerEndpoint(L, payer);
  for (const st of US_STATES) yield buildStateLocation(L, st.code);
  for (let net = 0; net < L.nNetworks; net++) yield buildNetwork(L, payer, net);
  for (let q = 0; q < L.plans.length; q++) yield buildInsurancePlan(L, payer, q);

  for (let k = 0; k < L.nOrgs; k++) yield buildOrganization(L, orgInfo(L, k));
  for (let k = 0; k < L.nOrgs; k++) {
    const org = orgInfo(L, k);
    for (let e = 0; e < org.nEndpoints; e++) yield buildEndpoint(L, org, e);
  }
  for (let k = 0; k < L.nOrgs; k++) {
    const org = orgInfo(L, k);
    const name = orgName(org, locInfo(L, org, 0).place, Rng.for(L.seed, T.org, k, 1));
    for (let m = 0; m < org.nLocations; m++) yield buildLocation(L, org, m, name);
  }
  for (let k = 0; k < L.nOrgs; k++) {
    const org = orgInfo(L, k);
    const name = orgName(org, locInfo(L, org, 0).place, Rng.for(L.seed, T.org, k, 1));
    for (let s = 0; s < org.services.length; s++) yield buildHealthcareService(L, org, s, name);
  }
  for (let k = 0; k < L.nOrgs; k++) {
    const org = orgInfo(L, k);
    const name = orgName(org, locInfo(L, org, 0).place, Rng.for(L.seed, T.org, k, 1));
    for (const net of org.networks) yield buildAffiliation(L, payer, org, net, name);
  }
  for (let i = 0; i < L.n; i++) yield buildPractitioner(L, i, practPlan(L, i));
  for (let i = 0; i < L.n; i++) {
    const plan = practPlan(L, i);
    for (let r = 0; r < plan.roles.length; r++) yield buildPractitionerRole(L, i, r, plan);
  }
}

/** Exact number of resources generateDirectory(opts) yields (computed without building them; O(N) time, O(1) memory). */
export function estimateResourceCount(opts: SyntheticOptions): number {
  const L = layoutOf(opts);
  let count = 1 + 1 + US_STATES.length + L.nNetworks + L.plans.length + L.nOrgs + L.n;
  for (let k = 0; k < L.nOrgs; k++) {
    const org = orgInfo(L, k);
    count += org.nEndpoints + org.nLocations + org.services.length + org.networks.length;
  }
  for (let i = 0; i < L.n; i++) count += practPlan(L, i).roles.length;
  return count;
}

/** Sizing summary (for CLIs and tests). */
export function directoryLayout(opts: SyntheticOptions): { networks: number; insurancePlans: number; organizations: number; organizationsByKind: Record<string, number> } {
  const L = layoutOf(opts);
  const organizationsByKind: Record<string, number> = {};
  ORG_KINDS.forEach((k, i) => (organizationsByKind[k.kind] = L.kindCount[i]));
  return { networks: L.nNetworks, insurancePlans: L.plans.length, organizations: L.nOrgs, organizationsByKind };
}
