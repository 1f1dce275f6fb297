/**
 * Specialty and facility reference tables for the synthetic directory.
 *
 * Practitioner specialties: every NUCC code below is both in the CMS HSD→NUCC crosswalk
 * (shared/adequacy/cms-specialty-to-nucc.csv) and in the Plan-Net IndividualAndGroupSpecialtiesVS (so it is valid for
 * PractitionerRole.specialty, which is required-bound to that value set), and together they cover every CMS HSD
 * provider type (001–008, 010–023, 025–031, 033–037) plus the individual-provider codes of the facility types that
 * HSD counts by provider (049 PT, 050 OT, 051 speech, 068 outpatient behavioral health).
 * `weight` is a rough share per 1,000 directory practitioners (primary care and mid-level heavy, as in a typical
 * Medicare Advantage / commercial directory). `cms` lists the HSD type codes the crosswalk maps the code to.
 * `role` is the Plan-Net ProviderRoleCS code (PractitionerRole.code, required binding), `degrees` are HL7 v2-0360
 * degree codes (empty where v2-0360 has no fitting degree, e.g. DC, DPM, DPT, MSW: those practitioners carry only
 * their NUCC licence qualification). `setting` says where the practitioner mainly works.
 * Displays are the NUCC displays of the Plan-Net value set.
 */

export type PractitionerSetting = 'group' | 'hospital' | 'bh' | 'rehab';

export interface SpecialtyDef {
  code: string;
  display: string;
  cms: readonly string[];
  weight: number;
  role: string;
  degrees: readonly string[];
  setting: PractitionerSetting;
}

export const PRACTITIONER_SPECIALTIES: readonly SpecialtyDef[] = [
  { code: '208D00000X', display: "General Practice Physician", cms: ['001'], weight: 15, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207Q00000X', display: "Family Medicine Physician", cms: ['002'], weight: 110, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207QA0505X', display: "Adult Medicine Physician", cms: ['002'], weight: 5, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207QG0300X', display: "Geriatric Medicine (Family Medicine) Physician", cms: ['002', '004'], weight: 5, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207R00000X', display: "Internal Medicine Physician", cms: ['003'], weight: 100, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207RG0300X', display: "Geriatric Medicine (Internal Medicine) Physician", cms: ['004'], weight: 8, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '363A00000X', display: "Physician Assistant", cms: ['005', '068'], weight: 45, role: 'pa', degrees: ['PA'], setting: 'group' },
  { code: '363AM0700X', display: "Medical Physician Assistant", cms: ['005'], weight: 10, role: 'pa', degrees: ['PA'], setting: 'group' },
  { code: '363L00000X', display: "Nurse Practitioner", cms: ['006'], weight: 30, role: 'crnp', degrees: ['NP'], setting: 'group' },
  { code: '363LA2200X', display: "Adult Health Nurse Practitioner", cms: ['006'], weight: 10, role: 'crnp', degrees: ['NP', 'CANP'], setting: 'group' },
  { code: '363LF0000X', display: "Family Nurse Practitioner", cms: ['006'], weight: 35, role: 'crnp', degrees: ['NP', 'FPNP'], setting: 'group' },
  { code: '363LG0600X', display: "Gerontology Nurse Practitioner", cms: ['006'], weight: 5, role: 'crnp', degrees: ['NP'], setting: 'group' },
  { code: '363LP2300X', display: "Primary Care Nurse Practitioner", cms: ['006'], weight: 10, role: 'crnp', degrees: ['NP'], setting: 'group' },
  { code: '207K00000X', display: "Allergy & Immunology Physician", cms: ['007'], weight: 8, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207KA0200X', display: "Allergy Physician", cms: ['007'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'group' },
  { code: '207RC0000X', display: "Cardiovascular Disease Physician", cms: ['008'], weight: 25, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207RC0001X', display: "Clinical Cardiac Electrophysiology Physician", cms: ['008'], weight: 4, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207RI0011X', display: "Interventional Cardiology Physician", cms: ['008'], weight: 6, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207RA0001X', display: "Advanced Heart Failure and Transplant Cardiology Physician", cms: ['008'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '111N00000X', display: "Chiropractor", cms: ['010'], weight: 15, role: 'ch', degrees: [], setting: 'group' },
  { code: '207N00000X', display: "Dermatology Physician", cms: ['011'], weight: 12, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207ND0101X', display: "MOHS-Micrographic Surgery Physician", cms: ['011'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'group' },
  { code: '207RE0101X', display: "Endocrinology, Diabetes & Metabolism Physician", cms: ['012'], weight: 8, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207Y00000X', display: "Otolaryngology Physician", cms: ['013'], weight: 9, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207YP0228X', display: "Pediatric Otolaryngology Physician", cms: ['013'], weight: 1, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207RG0100X', display: "Gastroenterology Physician", cms: ['014'], weight: 14, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '208600000X', display: "Surgery Physician", cms: ['015'], weight: 18, role: 'ph', degrees: ['MD', 'DO'], setting: 'hospital' },
  { code: '2086S0127X', display: "Trauma Surgery Physician", cms: ['015'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207V00000X', display: "Obstetrics & Gynecology Physician", cms: ['016'], weight: 25, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207VG0400X', display: "Gynecology Physician", cms: ['016'], weight: 4, role: 'ph', degrees: ['MD'], setting: 'group' },
  { code: '207VM0101X', display: "Maternal & Fetal Medicine Physician", cms: ['016'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207VX0201X', display: "Gynecologic Oncology Physician", cms: ['016', '021'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207RI0200X', display: "Infectious Disease Physician", cms: ['017'], weight: 6, role: 'ph', degrees: ['MD', 'DO'], setting: 'hospital' },
  { code: '207RN0300X', display: "Nephrology Physician", cms: ['018'], weight: 8, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '2084N0400X', display: "Neurology Physician", cms: ['019'], weight: 14, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '2084N0402X', display: "Neurology with Special Qualifications in Child Neurology Physician", cms: ['019'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207T00000X', display: "Neurological Surgery Physician", cms: ['020'], weight: 4, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207RX0202X', display: "Medical Oncology Physician", cms: ['021'], weight: 7, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207RH0003X', display: "Hematology & Oncology Physician", cms: ['021'], weight: 8, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '2086X0206X', display: "Surgical Oncology Physician", cms: ['021'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '2085R0001X', display: "Radiation Oncology Physician", cms: ['022'], weight: 4, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207W00000X', display: "Ophthalmology Physician", cms: ['023'], weight: 14, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207WX0107X', display: "Retina Specialist (Ophthalmology) Physician", cms: ['023'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'group' },
  { code: '207WX0009X', display: "Glaucoma Specialist (Ophthalmology) Physician", cms: ['023'], weight: 1, role: 'ph', degrees: ['MD'], setting: 'group' },
  { code: '207X00000X', display: "Orthopaedic Surgery Physician", cms: ['025'], weight: 20, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207XX0005X', display: "Sports Medicine (Orthopaedic Surgery) Physician", cms: ['025'], weight: 3, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207XS0117X', display: "Orthopaedic Surgery of the Spine Physician", cms: ['025'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '207XX0004X', display: "Orthopaedic Foot and Ankle Surgery Physician", cms: ['025'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'group' },
  { code: '208100000X', display: "Physical Medicine & Rehabilitation Physician", cms: ['026'], weight: 7, role: 'ph', degrees: ['MD', 'DO'], setting: 'rehab' },
  { code: '2081P2900X', display: "Pain Medicine (Physical Medicine & Rehabilitation) Physician", cms: ['026'], weight: 2, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '208200000X', display: "Plastic Surgery Physician", cms: ['027'], weight: 5, role: 'ph', degrees: ['MD'], setting: 'group' },
  { code: '213E00000X', display: "Podiatrist", cms: ['028'], weight: 10, role: 'po', degrees: [], setting: 'group' },
  { code: '213ES0103X', display: "Foot & Ankle Surgery Podiatrist", cms: ['028'], weight: 2, role: 'po', degrees: [], setting: 'group' },
  { code: '2084P0800X', display: "Psychiatry Physician", cms: ['029'], weight: 22, role: 'ph', degrees: ['MD', 'DO'], setting: 'bh' },
  { code: '2084P0804X', display: "Child & Adolescent Psychiatry Physician", cms: ['029'], weight: 4, role: 'ph', degrees: ['MD', 'DO'], setting: 'bh' },
  { code: '2084P0805X', display: "Geriatric Psychiatry Physician", cms: ['029'], weight: 2, role: 'ph', degrees: ['MD'], setting: 'bh' },
  { code: '2084P0802X', display: "Addiction Psychiatry Physician", cms: ['029'], weight: 1, role: 'ph', degrees: ['MD'], setting: 'bh' },
  { code: '207RP1001X', display: "Pulmonary Disease Physician", cms: ['030'], weight: 10, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '207RR0500X', display: "Rheumatology Physician", cms: ['031'], weight: 6, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '208800000X', display: "Urology Physician", cms: ['033'], weight: 10, role: 'ph', degrees: ['MD', 'DO'], setting: 'group' },
  { code: '2088P0231X', display: "Pediatric Urology Physician", cms: ['033'], weight: 1, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '2086S0129X', display: "Vascular Surgery Physician", cms: ['034'], weight: 4, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '208G00000X', display: "Thoracic Surgery (Cardiothoracic Vascular Surgery) Physician", cms: ['035'], weight: 3, role: 'ph', degrees: ['MD'], setting: 'hospital' },
  { code: '103TC0700X', display: "Clinical Psychologist", cms: ['036'], weight: 20, role: 'py', degrees: ['PHD'], setting: 'bh' },
  { code: '103T00000X', display: "Psychologist", cms: ['036'], weight: 5, role: 'py', degrees: ['PHD'], setting: 'bh' },
  { code: '1041C0700X', display: "Clinical Social Worker", cms: ['037'], weight: 25, role: 'sw', degrees: [], setting: 'bh' },
  { code: '225100000X', display: "Physical Therapist", cms: ['049'], weight: 20, role: 'pt', degrees: [], setting: 'rehab' },
  { code: '2251S0007X', display: "Sports Physical Therapist", cms: ['049'], weight: 2, role: 'pt', degrees: [], setting: 'rehab' },
  { code: '225X00000X', display: "Occupational Therapist", cms: ['050'], weight: 8, role: 'ot', degrees: ['MS'], setting: 'rehab' },
  { code: '235Z00000X', display: "Speech-Language Pathologist", cms: ['051'], weight: 6, role: 'sp', degrees: ['MA', 'MS'], setting: 'rehab' },
  { code: '106H00000X', display: "Marriage & Family Therapist", cms: ['068'], weight: 8, role: 'mt', degrees: ['MA', 'MS'], setting: 'bh' },
  { code: '101YM0800X', display: "Mental Health Counselor", cms: ['068'], weight: 12, role: 'co', degrees: ['MA', 'MS'], setting: 'bh' },
  { code: '2084A0401X', display: "Addiction Medicine (Psychiatry & Neurology) Physician", cms: ['068'], weight: 2, role: 'ph', degrees: ['MD', 'DO'], setting: 'bh' },
  { code: '207QA0401X', display: "Addiction Medicine (Family Medicine) Physician", cms: ['068'], weight: 1, role: 'ph', degrees: ['MD', 'DO'], setting: 'bh' },
  { code: '363LP0808X', display: "Psychiatric/Mental Health Nurse Practitioner", cms: ['068'], weight: 6, role: 'crnp', degrees: ['NP'], setting: 'bh' },
  { code: '364SP0808X', display: "Psychiatric/Mental Health Clinical Nurse Specialist", cms: ['068'], weight: 1, role: 'apn', degrees: ['CNS', 'MSN'], setting: 'bh' },
];

/** ProviderRoleCS displays for the role codes used above. */
export const PROVIDER_ROLE_DISPLAY: Readonly<Record<string, string>> = {
  ph: 'Physician',
  pa: 'Physician Assistant',
  crnp: 'Certified Registered Nurse Practitioner',
  apn: 'Advanced Practice Nursing Providers',
  ch: 'Chiropractor',
  po: 'Podiatrist',
  py: 'Psychologist',
  sw: 'Social Worker',
  pt: 'Physical Therapist',
  ot: 'Occupational Therapist',
  sp: 'Speech Language Pathologist',
  mt: 'Marriage/Family Therapist',
  co: 'Counselor',
};

/** HL7 v2-0360 degree displays for the degree codes used above. */
export const DEGREE_DISPLAY: Readonly<Record<string, string>> = {
  MD: 'Doctor of Medicine',
  DO: 'Doctor of Osteopathy',
  PA: 'Physician Assistant',
  NP: 'Nurse Practitioner',
  CANP: 'Certified Adult Nurse Practitioner',
  FPNP: 'Family Practice Nurse Practitioner',
  PHD: 'Doctor of Philosophy',
  MS: 'Master of Science',
  MA: 'Master of Arts',
  CNS: 'Certified Nurse Specialist',
  MSN: 'Master of Science - Nursing',
};

// ---------------------------------------------------------------------------------------------------------------
// Facilities

/** Kinds of provider organisation the generator creates. Order matters: it is the order of the id ranges. */
export type OrgKind =
  | 'hospital'
  | 'psych'
  | 'snf'
  | 'group'
  | 'asc'
  | 'imaging'
  | 'rehab'
  | 'infusion'
  | 'bh'
  | 'pharmacy'
  | 'lab'
  | 'urgent'
  | 'home';

/** One kind of HealthcareService a facility offers. */
export interface ServiceDef {
  key: string;
  name: string;
  /** Plan-Net HealthcareServiceCategoryCS code */
  category: string;
  /** NUCC code (Plan-Net SpecialtiesVS) */
  specialty: string;
  specialtyDisplay: string;
  /** CMS HSD facility/provider type the service counts for in network-adequacy, if any */
  hsd?: string;
  hsdDisplay?: string;
  /** http://terminology.hl7.org/CodeSystem/service-type code, where the (Australian-derived) list has a fitting one */
  serviceType?: { code: string; display: string };
  /** share of organisations of the kind offering it (the first organisation of each kind offers every service) */
  share: number;
  /** inpatient service: carries a staffed-bed count */
  beds?: { min: number; max: number };
  virtual?: boolean;
  /** serves a whole state (HealthcareService.coverageArea → the state region Location) */
  statewide?: boolean;
  /** references every location of the organisation instead of only the main one */
  allLocations?: boolean;
}

export interface OrgKindDef {
  kind: OrgKind;
  /** share of provider organisations */
  weight: number;
  /** Plan-Net OrgTypeCS code */
  orgType: 'fac' | 'prvgrp';
  /** Plan-Net OrganizationAffiliationRoleCS code */
  affiliationRole: string;
  affiliationRoleDisplay: string;
  /** v3-RoleCode (ServiceDeliveryLocationRoleType) for its Locations */
  locationType: { code: string; display: string };
  /** min/max number of Locations */
  locations: [number, number];
  /** probability of a FHIR endpoint; hospitals also get a Direct endpoint */
  endpointShare: number;
  services: readonly ServiceDef[];
}

const HOSP = { code: '282N00000X', display: 'General Acute Care Hospital' };

export const ORG_KINDS: readonly OrgKindDef[] = [
  {
    kind: 'hospital', weight: 0.07, orgType: 'fac', affiliationRole: 'hospital', affiliationRoleDisplay: 'Hospital',
    locationType: { code: 'GACH', display: 'Hospitals; General Acute Care Hospital' }, locations: [2, 3], endpointShare: 1,
    services: [
      { key: 'inpatient', name: 'Acute Inpatient Care', category: 'hosp', specialty: HOSP.code, specialtyDisplay: HOSP.display, hsd: '040', hsdDisplay: 'Acute Inpatient Hospitals', share: 1, beds: { min: 25, max: 650 } },
      { key: 'emergency', name: 'Emergency Department', category: 'emerg', specialty: HOSP.code, specialtyDisplay: HOSP.display, share: 0.95 },
      { key: 'cardiac-surgery', name: 'Cardiac Surgery Program', category: 'hosp', specialty: '208G00000X', specialtyDisplay: 'Thoracic Surgery (Cardiothoracic Vascular Surgery) Physician', hsd: '041', hsdDisplay: 'Cardiac Surgery Program', share: 0.35 },
      { key: 'cardiac-cath', name: 'Cardiac Catheterization Laboratory', category: 'hosp', specialty: '207RI0011X', specialtyDisplay: 'Interventional Cardiology Physician', hsd: '042', hsdDisplay: 'Cardiac Catheterization Services', share: 0.6 },
      { key: 'icu', name: 'Intensive Care Unit', category: 'hosp', specialty: '2086S0102X', specialtyDisplay: 'Surgical Critical Care Physician', hsd: '043', hsdDisplay: 'Critical Care Services – Intensive Care Units (ICU)', share: 0.8, beds: { min: 6, max: 60 } },
      { key: 'outpatient-surgery', name: 'Outpatient Surgery', category: 'outpat', specialty: HOSP.code, specialtyDisplay: HOSP.display, hsd: '045', hsdDisplay: 'Surgical Services (Outpatient or ASC)', share: 0.7 },
      { key: 'radiology', name: 'Diagnostic Imaging', category: 'outpat', specialty: HOSP.code, specialtyDisplay: HOSP.display, hsd: '047', hsdDisplay: 'Diagnostic Radiology', share: 0.85, allLocations: true },
      { key: 'infusion', name: 'Outpatient Infusion and Chemotherapy', category: 'outpat', specialty: '261QI0500X', specialtyDisplay: 'Infusion Therapy Clinic/Center', hsd: '057', hsdDisplay: 'Outpatient Infusion/Chemotherapy', serviceType: { code: '501', display: 'Cancer Services' }, share: 0.5 },
    ],
  },
  {
    kind: 'psych', weight: 0.012, orgType: 'fac', affiliationRole: 'hospital', affiliationRoleDisplay: 'Hospital',
    locationType: { code: 'PSYCHF', display: 'Psychatric Care Facility' }, locations: [1, 1], endpointShare: 0.5,
    services: [
      { key: 'inpatient-psych', name: 'Inpatient Psychiatric Care', category: 'hosp', specialty: '283Q00000X', specialtyDisplay: 'Psychiatric Hospital', hsd: '052', hsdDisplay: 'Inpatient Psychiatric Facility Services', share: 1, beds: { min: 20, max: 160 } },
    ],
  },
  {
    kind: 'snf', weight: 0.05, orgType: 'fac', affiliationRole: 'nurseCustodial', affiliationRoleDisplay: 'Nursing and Custodial Care Facility',
    locationType: { code: 'SNF', display: 'Skilled nursing facility' }, locations: [1, 1], endpointShare: 0.1,
    services: [
      { key: 'skilled-nursing', name: 'Skilled Nursing Care', category: 'hosp', specialty: '314000000X', specialtyDisplay: 'Skilled Nursing Facility', hsd: '046', hsdDisplay: 'Skilled Nursing Facilities', serviceType: { code: '11', display: 'Personal Care for Older Persons' }, share: 1, beds: { min: 40, max: 220 } },
    ],
  },
  {
    kind: 'group', weight: 0.51, orgType: 'prvgrp', affiliationRole: 'group', affiliationRoleDisplay: 'Medical Group',
    locationType: { code: 'PROFF', display: "Provider's Office" }, locations: [1, 3], endpointShare: 0.3,
    services: [
      { key: 'telehealth', name: 'Telehealth Visits', category: 'prov', specialty: '207Q00000X', specialtyDisplay: 'Family Medicine Physician', serviceType: { code: '554', display: 'Chronic Disease Management' }, share: 0.3, virtual: true, statewide: true },
    ],
  },
  {
    kind: 'asc', weight: 0.03, orgType: 'fac', affiliationRole: 'outpatient', affiliationRoleDisplay: 'Clinic or Outpatient Facility',
    locationType: { code: 'SU', display: 'Surgery clinic' }, locations: [1, 1], endpointShare: 0.2,
    services: [
      { key: 'asc', name: 'Ambulatory Surgery', category: 'outpat', specialty: '261QA1903X', specialtyDisplay: 'Ambulatory Surgical Clinic/Center', hsd: '045', hsdDisplay: 'Surgical Services (Outpatient or ASC)', share: 1 },
    ],
  },
  {
    kind: 'imaging', weight: 0.03, orgType: 'fac', affiliationRole: 'outpatient', affiliationRoleDisplay: 'Clinic or Outpatient Facility',
    locationType: { code: 'RADDX', display: 'Radiology diagnostics or therapeutics unit' }, locations: [1, 2], endpointShare: 0.2,
    services: [
      { key: 'imaging', name: 'Diagnostic Radiology', category: 'outpat', specialty: '261QR0200X', specialtyDisplay: 'Radiology Clinic/Center', hsd: '047', hsdDisplay: 'Diagnostic Radiology', share: 1, allLocations: true },
      { key: 'mammography', name: 'Mammography', category: 'outpat', specialty: '261QR0206X', specialtyDisplay: 'Mammography Clinic/Center', hsd: '048', hsdDisplay: 'Mammography', serviceType: { code: '559', display: "Women's Health" }, share: 0.7 },
    ],
  },
  {
    kind: 'rehab', weight: 0.04, orgType: 'fac', affiliationRole: 'outpatient', affiliationRoleDisplay: 'Clinic or Outpatient Facility',
    locationType: { code: 'OF', display: 'Outpatient facility' }, locations: [1, 2], endpointShare: 0.1,
    services: [
      { key: 'pt', name: 'Physical Therapy', category: 'outpat', specialty: '261QR0400X', specialtyDisplay: 'Rehabilitation Clinic/Center', hsd: '049', hsdDisplay: 'Physical Therapy', share: 1, allLocations: true },
      { key: 'ot', name: 'Occupational Therapy', category: 'outpat', specialty: '261QR0400X', specialtyDisplay: 'Rehabilitation Clinic/Center', hsd: '050', hsdDisplay: 'Occupational Therapy', share: 0.7 },
      { key: 'speech', name: 'Speech Therapy', category: 'outpat', specialty: '261QR0400X', specialtyDisplay: 'Rehabilitation Clinic/Center', hsd: '051', hsdDisplay: 'Speech Therapy', serviceType: { code: '68', display: 'Speech Pathology/Therapy' }, share: 0.6 },
    ],
  },
  {
    kind: 'infusion', weight: 0.02, orgType: 'fac', affiliationRole: 'outpatient', affiliationRoleDisplay: 'Clinic or Outpatient Facility',
    locationType: { code: 'ONCL', display: 'Medical oncology clinic' }, locations: [1, 1], endpointShare: 0.2,
    services: [
      { key: 'infusion', name: 'Infusion and Chemotherapy', category: 'outpat', specialty: '261QI0500X', specialtyDisplay: 'Infusion Therapy Clinic/Center', hsd: '057', hsdDisplay: 'Outpatient Infusion/Chemotherapy', serviceType: { code: '501', display: 'Cancer Services' }, share: 1 },
    ],
  },
  {
    kind: 'bh', weight: 0.05, orgType: 'fac', affiliationRole: 'behavioral', affiliationRoleDisplay: 'Outpatient Behavioral Health Provider',
    locationType: { code: 'PSY', display: 'Psychiatry clinic' }, locations: [1, 2], endpointShare: 0.2,
    services: [
      { key: 'mental-health', name: 'Outpatient Mental Health', category: 'behav', specialty: '261QM0801X', specialtyDisplay: 'Mental Health Clinic/Center (Including Community Mental Health Center)', hsd: '068', hsdDisplay: 'Outpatient Behavioral Health', share: 1, allLocations: true },
      { key: 'sud', name: 'Substance Use Disorder Treatment', category: 'behav', specialty: '261QR0405X', specialtyDisplay: 'Substance Use Disorder Rehabilitation Clinic/Center', hsd: '068', hsdDisplay: 'Outpatient Behavioral Health', serviceType: { code: '108', display: 'Non-resid. Alcohol/Drug Treatment' }, share: 0.35 },
      { key: 'virtual-counseling', name: 'Virtual Counseling', category: 'behav', specialty: '101YM0800X', specialtyDisplay: 'Mental Health Counselor', hsd: '068', hsdDisplay: 'Outpatient Behavioral Health', serviceType: { code: '76', display: 'Health Counselling' }, share: 0.4, virtual: true, statewide: true },
    ],
  },
  {
    kind: 'pharmacy', weight: 0.1, orgType: 'fac', affiliationRole: 'pharmacy', affiliationRoleDisplay: 'Pharmacy',
    locationType: { code: 'OUTPHARM', display: 'outpatient pharmacy' }, locations: [1, 3], endpointShare: 0,
    services: [
      { key: 'retail', name: 'Retail Pharmacy', category: 'pharm', specialty: '3336C0003X', specialtyDisplay: 'Community/Retail Pharmacy', serviceType: { code: '537', display: 'Medication Reviews' }, share: 1, allLocations: true },
      { key: 'mail-order', name: 'Mail Order Pharmacy', category: 'pharm', specialty: '3336M0002X', specialtyDisplay: 'Mail Order Pharmacy', share: 0.15, virtual: true, statewide: true },
    ],
  },
  {
    kind: 'lab', weight: 0.03, orgType: 'fac', affiliationRole: 'laboratory', affiliationRoleDisplay: 'Laboratory',
    locationType: { code: 'OUTLAB', display: 'outpatient laboratory' }, locations: [1, 3], endpointShare: 0.3,
    services: [
      { key: 'lab', name: 'Clinical Laboratory', category: 'lab', specialty: '291U00000X', specialtyDisplay: 'Clinical Medical Laboratory', share: 1, allLocations: true },
    ],
  },
  {
    kind: 'urgent', weight: 0.03, orgType: 'fac', affiliationRole: 'urgent', affiliationRoleDisplay: 'Urgent Care Center',
    locationType: { code: 'OF', display: 'Outpatient facility' }, locations: [1, 2], endpointShare: 0.1,
    services: [
      { key: 'urgent', name: 'Urgent Care', category: 'urg', specialty: '261QU0200X', specialtyDisplay: 'Urgent Care Clinic/Center', share: 1, allLocations: true },
    ],
  },
  {
    kind: 'home', weight: 0.02, orgType: 'fac', affiliationRole: 'home', affiliationRoleDisplay: 'Home Health Provider',
    locationType: { code: 'OF', display: 'Outpatient facility' }, locations: [1, 1], endpointShare: 0.1,
    services: [
      { key: 'home-health', name: 'Home Health Care', category: 'home', specialty: '251E00000X', specialtyDisplay: 'Home Health Agency', serviceType: { code: '8', display: 'Home Care/Housekeeping Assistance' }, share: 1, statewide: true },
    ],
  },
];
