/**
 * The CMS HSD provider and facility table layouts: the ONE place they are defined (seeds/adequacy/hsd-columns.md,
 * Part A). That layout is NOT verified against the CY2026 HPMS templates (only a third-party spec was found), so every
 * column is marked `verified: false` and the reports say so; correct the headers and order here when the real
 * templates are at hand.
 */
export interface HsdRecord {
  /** SSA state/county code of the county served (a site serving three counties has three rows; hsd-tables.ts). */
  ssa: string;
  name: string;
  npi: string;
  /** HSD specialty code as submitted (001–006 for primary care, not S03). */
  hsdCode: string;
  typeName: string;
  street: string;
  city: string;
  state: string;
  zip: string;
  /** Medical group (the PractitionerRole's organization) for providers. */
  group: string;
  beds: number | null;
  acceptingNewPatients: boolean;
}

export interface HsdColumn {
  header: string;
  verified: boolean;
  /**
   * The value depends only on the county served (it may read `ssa` and nothing else); every other column must not
   * read `ssa`. hsd-tables.ts encodes the other columns once per site and reuses them for every county the site
   * serves, and checks both rules (a column breaking them fails loudly rather than writing wrong rows).
   */
  county?: true;
  value: (r: HsdRecord) => string;
}

export const HSD_LAYOUT_SOURCE = 'seeds/adequacy/hsd-columns.md Part A (third-party spec; NOT verified against the CY2026 HPMS templates)';

export const PROVIDER_COLUMNS: HsdColumn[] = [
  { header: 'SSA State/County Code', verified: false, county: true, value: (r) => r.ssa },
  { header: 'Name of Physician or Mid-Level Practitioner', verified: false, value: (r) => r.name },
  { header: 'National Provider Identifier (NPI) Number', verified: false, value: (r) => r.npi },
  { header: 'Provider Specialty Code', verified: false, value: (r) => r.hsdCode },
  // not derivable from a directory (contracted / employed / sub-contracted): left empty rather than guessed
  { header: 'Contract Type', verified: false, value: () => '' },
  { header: 'Provider Street Address', verified: false, value: (r) => r.street },
  { header: 'Provider City', verified: false, value: (r) => r.city },
  { header: 'Provider State Code', verified: false, value: (r) => r.state },
  { header: 'Provider Zip Code', verified: false, value: (r) => r.zip },
  { header: 'Medical Group Affiliation', verified: false, value: (r) => r.group },
];

export const FACILITY_COLUMNS: HsdColumn[] = [
  { header: 'SSA State/County Code', verified: false, county: true, value: (r) => r.ssa },
  { header: 'Facility or Service Type', verified: false, value: (r) => r.typeName },
  { header: 'Facility Specialty Code', verified: false, value: (r) => r.hsdCode },
  { header: 'National Provider Identifier (NPI) Number', verified: false, value: (r) => r.npi },
  { header: '# of Staffed, Medicare-Certified Beds', verified: false, value: (r) => (r.beds === null ? '' : String(r.beds)) },
  { header: 'Facility Name', verified: false, value: (r) => r.name },
  { header: 'Provider Street Address', verified: false, value: (r) => r.street },
  { header: 'Provider City', verified: false, value: (r) => r.city },
  { header: 'Provider State Code', verified: false, value: (r) => r.state },
  { header: 'Provider Zip Code', verified: false, value: (r) => r.zip },
];
