/**
 * The HSD provider and facility tables, per county served: a site is listed under the SSA code of every county of
 * the service area it serves for a type (within that county's maximum distance — and time, where assessed — of at
 * least one of its beneficiaries: the sites the analysis counts for the county), as HSD submissions list a provider
 * once per county it is used for. A provider serving three counties appears three times; one outside the service
 * area's reach not at all. Rows are produced county by county (SSA order), so only one county's rows are held at a time.
 */
import type { Site } from './analyze.ts';
import type { SiteDetail } from './collect.ts';
import type { HsdRecord } from './hsd-columns.ts';
import { BED_TYPE, rollUp, type County, type HsdType, type ReferenceData } from './reference.ts';

const key = (r: HsdRecord) => `${r.hsdCode}|${r.npi}|${r.name}|${r.street}|${r.city}|${r.zip}`;

export class HsdTables {
  readonly #details: SiteDetail[];
  readonly #ref: ReferenceData;
  /** fips → [site ref, type code] pairs served */
  readonly #served = new Map<string, { county: County; refs: number[]; types: string[] }>();

  constructor(details: SiteDetail[], ref: ReferenceData) { this.#details = details; this.#ref = ref; }

  /** The analysis' ServedCallback. */
  add = (county: County, type: HsdType, sites: Site[]): void => {
    let e = this.#served.get(county.fips);
    if (!e) this.#served.set(county.fips, e = { county, refs: [], types: [] });
    for (const s of sites) if (s.ref !== undefined) { e.refs.push(s.ref); e.types.push(type.code); }
  };

  /** The table's rows, county by county in SSA order, sorted and without duplicates within a county. Re-iterable. */
  records(kind: 'provider' | 'facility'): Iterable<HsdRecord> {
    const self = this;
    return { *[Symbol.iterator]() { yield* self.#records(kind); } };
  }

  *#records(kind: 'provider' | 'facility'): Generator<HsdRecord> {
    const counties = [...this.#served.values()].sort((a, b) => (a.county.ssa < b.county.ssa ? -1 : a.county.ssa > b.county.ssa ? 1 : 0));
    for (const { county, refs, types } of counties) {
      const rows = new Map<string, HsdRecord>();
      for (let i = 0; i < refs.length; i++) {
        const d = this.#details[refs[i]];
        for (const code of d.codes) {
          if (rollUp(code) !== types[i]) continue;
          const t = this.#ref.typeByCode.get(rollUp(code));
          if ((t?.category ?? d.kind) !== kind) continue;
          const rec: HsdRecord = {
            ssa: county.ssa, name: d.name, npi: d.npi, hsdCode: code, typeName: t?.name ?? '', street: d.street, city: d.city, state: d.state, zip: d.zip,
            group: d.group, beds: kind === 'facility' && rollUp(code) === BED_TYPE ? d.beds : null, acceptingNewPatients: d.accepting,
          };
          const k = key(rec);
          if (!rows.has(k)) rows.set(k, rec);
        }
      }
      yield* [...rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
    }
  }
}
