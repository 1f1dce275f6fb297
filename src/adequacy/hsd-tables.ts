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
  readonly #typeCodes: string[];
  /** fips → (site ref × 64 + type number) per site served: one small integer a pair (national networks have millions) */
  readonly #served = new Map<string, { county: County; pairs: number[] }>();

  constructor(details: SiteDetail[], ref: ReferenceData) {
    this.#details = details;
    this.#ref = ref;
    this.#typeCodes = ref.types.map((t) => t.code);
    if (this.#typeCodes.length > 64) throw new Error('more than 64 HSD types');
  }

  /** The analysis' ServedCallback. */
  add = (county: County, type: HsdType, sites: Site[]): void => {
    let e = this.#served.get(county.fips);
    if (!e) this.#served.set(county.fips, e = { county, pairs: [] });
    const t = this.#typeCodes.indexOf(type.code);
    for (const s of sites) if (s.ref !== undefined) e.pairs.push(s.ref * 64 + t);
  };

  /** The table's rows, county by county in SSA order, sorted and without duplicates within a county. Re-iterable. */
  records(kind: 'provider' | 'facility'): Iterable<HsdRecord> {
    const self = this;
    return { *[Symbol.iterator]() { yield* self.#records(kind); } };
  }

  *#records(kind: 'provider' | 'facility'): Generator<HsdRecord> {
    const counties = [...this.#served.values()].sort((a, b) => (a.county.ssa < b.county.ssa ? -1 : a.county.ssa > b.county.ssa ? 1 : 0));
    for (const { county, pairs } of counties) {
      const rows = new Map<string, HsdRecord>();
      for (const pair of pairs) {
        const d = this.#details[Math.floor(pair / 64)];
        const type = this.#typeCodes[pair % 64];
        for (const code of d.codes) {
          if (rollUp(code) !== type) continue;
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
