/**
 * Gathers one network's providers and facilities from the tenant's directory, streaming (server-side cursors, a
 * batch at a time, nothing loads a whole table): the network's active PractitionerRoles (network-reference
 * extension), its active OrganizationAffiliations and the HealthcareServices they bring in (or, for an affiliation
 * with no services, the affiliation itself), mapped to CMS HSD types (NUCC specialty via the crosswalk; a service's
 * HSD type characteristic first — the only way to 041–043), at their Locations' positions. Locations without a
 * position are not counted and are reported. Each site keeps its Location (as a number, for travel times) and its
 * details (name, NPI, address, group: the HSD table rows, written per county the site serves; hsd-tables.ts).
 */
import Cursor from 'pg-cursor';
import type { TenantTx } from '../storage/db.ts';
import { BED_COUNT_EXTENSION_URL, HSD_TYPE_SYSTEM } from '../seeds/synthetic/generator.ts';
import type { Site } from './analyze.ts';
import { rollUp, type ReferenceData } from './reference.ts';

const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/';
const NETWORK_REFERENCE = `${PN}network-reference`;
const NEW_PATIENTS = `${PN}newpatients`;
const NUCC = 'http://nucc.org/provider-taxonomy';
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

type Json = Record<string, any>;

async function* stream(tx: TenantTx, type: string, like?: string, batch = 2000): AsyncGenerator<Json> {
  const sql = `SELECT content FROM resources WHERE tenant_id = $1 AND resource_type = $2 AND NOT deleted${like ? ' AND content LIKE $3' : ''} ORDER BY id`;
  const cursor = tx.client.query(new Cursor(sql, like ? [tx.tenant, type, like] : [tx.tenant, type]));
  try {
    for (;;) {
      const rows = await cursor.read(batch);
      for (const r of rows) yield JSON.parse(r.content);
      if (rows.length < batch) break;
    }
  } finally { await cursor.close(); }
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
const refId = (ref: string | undefined, type: string) => (ref && ref.startsWith(`${type}/`) ? ref.slice(type.length + 1) : undefined);

export function isActive(r: Json, asOf: string): boolean {
  if (r.active === false) return false;
  const end = r.period?.end as string | undefined;
  const start = r.period?.start as string | undefined;
  if (end && end.slice(0, 10) < asOf) return false;
  if (start && start.slice(0, 10) > asOf) return false;
  return true;
}

function accepting(r: Json): boolean {
  for (const e of r.extension ?? []) {
    if (e.url !== NEW_PATIENTS) continue;
    // only `newpt` accepts new patients (existptonly / existptfam / nopt do not)
    for (const x of e.extension ?? []) if (x.url === 'acceptingPatients' && x.valueCodeableConcept?.coding?.some((c: Json) => c.code === 'newpt')) return true;
  }
  return false;
}

function nuccCodes(r: Json): string[] {
  const out: string[] = [];
  for (const cc of r.specialty ?? []) for (const c of cc.coding ?? []) if ((c.system === NUCC || !c.system) && c.code) out.push(c.code);
  return out;
}

function hsdCharacteristic(r: Json): string[] {
  const out: string[] = [];
  for (const cc of r.characteristic ?? []) for (const c of cc.coding ?? []) if (c.system === HSD_TYPE_SYSTEM && c.code) out.push(String(c.code).padStart(3, '0'));
  return out;
}

function npiOf(r: Json | undefined): string {
  for (const id of r?.identifier ?? []) if (id.system === NPI_SYSTEM && id.value) return String(id.value);
  return '';
}

function humanName(p: Json | undefined): string {
  const n = p?.name?.[0];
  if (!n) return '';
  if (n.text) return n.text;
  return [...(n.prefix ?? []), ...(n.given ?? []), n.family, ...(n.suffix ?? [])].filter(Boolean).join(' ');
}

interface LocInfo { lat: number | null; lon: number | null; name: string; street: string; city: string; state: string; zip: string }

/** What the HSD tables say about a site (Site.ref indexes these). */
export interface SiteDetail {
  name: string;
  npi: string;
  /** HSD specialty codes as submitted (001–006 kept apart from S03). */
  codes: string[];
  kind: 'provider' | 'facility';
  street: string; city: string; state: string; zip: string;
  /** Medical group (the PractitionerRole's organization) for providers. */
  group: string;
  beds: number;
  accepting: boolean;
}

export interface Collected {
  networkName: string;
  sites: Site[];
  details: SiteDetail[];
  /** Location id → the number sites carry as `loc`. */
  locationIndex: Map<string, number>;
  locationsWithoutPosition: { id: string; name: string; sites: number }[];
}

interface RawSite { entityKey: string; rawTypes: string[]; loc: string; beds: number; accepting: boolean; kind: 'provider' | 'facility'; name: string; npiRef?: string; groupRef?: string; resourceRef: string }

export async function collectNetwork(tx: TenantTx, ref: ReferenceData, networkId: string, asOf: string): Promise<Collected> {
  const netRef = `Organization/${networkId}`;
  const like = `%"${likeEscape(netRef)}"%`;
  const raw: RawSite[] = [];
  const typeOf = (code: string) => ref.typeByCode.get(rollUp(code));

  // affiliations of the network: their services, or the affiliation itself
  const hcsIds = new Set<string>();
  const participating = new Set<string>();
  for await (const oa of stream(tx, 'OrganizationAffiliation', like)) {
    if (!isActive(oa, asOf) || !(oa.network ?? []).some((n: Json) => n.reference === netRef)) continue;
    const org = refId(oa.participatingOrganization?.reference, 'Organization');
    if (org) participating.add(org);
    const services = (oa.healthcareService ?? []).map((h: Json) => refId(h.reference, 'HealthcareService')).filter(Boolean) as string[];
    for (const h of services) hcsIds.add(h);
    if (services.length > 0) continue;
    const types = [...new Set(nuccCodes(oa).flatMap((c) => ref.nuccToTypes.get(c) ?? []))];
    if (!types.length) continue;
    for (const l of oa.location ?? []) {
      const loc = refId(l.reference, 'Location');
      if (loc) raw.push({ entityKey: `OrganizationAffiliation/${oa.id}`, rawTypes: types, loc, beds: 0, accepting: false, kind: typeOf(types[0])?.category ?? 'facility', name: oa.participatingOrganization?.display ?? '', npiRef: org ? `Organization/${org}` : undefined, resourceRef: `OrganizationAffiliation/${oa.id}` });
    }
  }
  if (hcsIds.size || participating.size) {
    for await (const hs of stream(tx, 'HealthcareService')) {
      const org = refId(hs.providedBy?.reference, 'Organization');
      if (!hcsIds.has(hs.id) && !(org && participating.has(org) && hcsIds.size === 0)) continue;
      if (!isActive(hs, asOf)) continue;
      const chars = hsdCharacteristic(hs);
      const types = chars.length ? chars : [...new Set(nuccCodes(hs).flatMap((c) => ref.nuccToTypes.get(c) ?? []))];
      if (!types.length) continue;
      const beds = (hs.extension ?? []).find((e: Json) => e.url === BED_COUNT_EXTENSION_URL)?.valueInteger ?? 0;
      for (const l of hs.location ?? []) {
        const loc = refId(l.reference, 'Location');
        if (loc) raw.push({ entityKey: `HealthcareService/${hs.id}`, rawTypes: types, loc, beds, accepting: accepting(hs), kind: 'facility', name: hs.providedBy?.display ?? hs.name ?? '', npiRef: org ? `Organization/${org}` : undefined, resourceRef: `HealthcareService/${hs.id}` });
      }
    }
  }
  for await (const pr of stream(tx, 'PractitionerRole', like)) {
    if (!isActive(pr, asOf)) continue;
    if (!(pr.extension ?? []).some((e: Json) => e.url === NETWORK_REFERENCE && e.valueReference?.reference === netRef)) continue;
    const types = [...new Set(nuccCodes(pr).flatMap((c) => ref.nuccToTypes.get(c) ?? []))];
    if (!types.length) continue;
    const pract = pr.practitioner?.reference as string | undefined;
    for (const l of pr.location ?? []) {
      const loc = refId(l.reference, 'Location');
      if (loc) raw.push({ entityKey: pract ?? `PractitionerRole/${pr.id}`, rawTypes: types, loc, beds: 0, accepting: accepting(pr), kind: 'provider', name: pr.practitioner?.display ?? '', npiRef: pract, groupRef: pr.organization?.reference, resourceRef: `PractitionerRole/${pr.id}` });
    }
  }

  // the Locations, names and NPIs these sites need
  const locIds = new Set(raw.map((r) => r.loc));
  const locs = new Map<string, LocInfo>();
  for await (const l of stream(tx, 'Location')) {
    if (!locIds.has(l.id)) continue;
    const a = l.address ?? {};
    const lat = typeof l.position?.latitude === 'number' ? l.position.latitude : null;
    const lon = typeof l.position?.longitude === 'number' ? l.position.longitude : null;
    locs.set(l.id, { lat, lon, name: l.name ?? '', street: (a.line ?? []).join(' '), city: a.city ?? '', state: a.state ?? '', zip: a.postalCode ?? '' });
  }
  const wanted = { Practitioner: new Set<string>(), Organization: new Set<string>([networkId]) };
  for (const r of raw) for (const x of [r.npiRef, r.groupRef]) {
    const p = refId(x, 'Practitioner'); if (p) wanted.Practitioner.add(p);
    const o = refId(x, 'Organization'); if (o) wanted.Organization.add(o);
  }
  const names = new Map<string, { name: string; npi: string }>();
  for (const type of ['Practitioner', 'Organization'] as const) {
    if (!wanted[type].size) continue;
    for await (const r of stream(tx, type)) {
      if (wanted[type].has(r.id)) names.set(`${type}/${r.id}`, { name: type === 'Practitioner' ? humanName(r) : (r.name ?? ''), npi: npiOf(r) });
    }
  }

  // entities numbered in sorted key order (deterministic)
  raw.sort((a, b) => (a.entityKey < b.entityKey ? -1 : a.entityKey > b.entityKey ? 1 : a.resourceRef < b.resourceRef ? -1 : a.resourceRef > b.resourceRef ? 1 : a.loc < b.loc ? -1 : a.loc > b.loc ? 1 : 0));
  const entityNo = new Map<string, number>();
  const locationIndex = new Map<string, number>();
  const sites: Site[] = [];
  const details: SiteDetail[] = [];
  const missing = new Map<string, number>();
  for (const r of raw) {
    const loc = locs.get(r.loc);
    if (!loc || loc.lat === null || loc.lon === null) { missing.set(r.loc, (missing.get(r.loc) ?? 0) + 1); continue; }
    let e = entityNo.get(r.entityKey);
    if (e === undefined) { e = entityNo.size; entityNo.set(r.entityKey, e); }
    let l = locationIndex.get(r.loc);
    if (l === undefined) { l = locationIndex.size; locationIndex.set(r.loc, l); }
    const types = [...new Set(r.rawTypes.map(rollUp))].filter((t) => ref.typeByCode.has(t)).sort();
    sites.push({ entity: e, types, lat: loc.lat, lon: loc.lon, beds: r.beds, accepting: r.accepting, loc: l, ref: details.length });
    const who = r.npiRef ? names.get(r.npiRef) : undefined;
    details.push({
      name: who?.name || r.name, npi: who?.npi ?? '', codes: [...new Set(r.rawTypes)].sort(), kind: r.kind, street: loc.street, city: loc.city, state: loc.state, zip: loc.zip,
      group: r.groupRef ? names.get(r.groupRef)?.name ?? '' : '', beds: r.beds, accepting: r.accepting,
    });
  }
  const locationsWithoutPosition = [...missing].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, n]) => ({ id: `Location/${id}`, name: locs.get(id)?.name ?? '(not found)', sites: n }));
  return { networkName: names.get(`Organization/${networkId}`)?.name || networkId, sites, details, locationIndex, locationsWithoutPosition };
}

/** The networks of an InsurancePlan (InsurancePlan.network). */
export async function planNetworks(tx: TenantTx, planId: string): Promise<string[]> {
  const r = await tx.query<{ content: string }>(`SELECT content FROM resources WHERE tenant_id = $1 AND resource_type = 'InsurancePlan' AND id = $2 AND NOT deleted`, [tx.tenant, planId]);
  if (!r.rows.length) throw new Error(`InsurancePlan/${planId} not found`);
  const plan = JSON.parse(r.rows[0].content);
  return [...new Set<string>([...(plan.network ?? []), ...(plan.plan ?? []).flatMap((p: Json) => p.network ?? [])].map((n: Json) => refId(n.reference, 'Organization')).filter(Boolean) as string[])].sort();
}

export async function networkExists(tx: TenantTx, id: string): Promise<boolean> {
  const r = await tx.query(`SELECT 1 FROM resources WHERE tenant_id = $1 AND resource_type = 'Organization' AND id = $2 AND NOT deleted`, [tx.tenant, id]);
  return r.rows.length > 0;
}
