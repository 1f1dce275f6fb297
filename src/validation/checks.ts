/**
 * Rules checked in code rather than in the JSON Schemas: FHIRPath invariants of the profiles (errors) and the
 * Plan-Net 1.2.0 / US Core 7 rules that 1.1.0 data and real directories often break (warnings by default).
 * Everything here must stay cheap: it runs on every resource on the ingest path.
 */
import { isNpiFormat, isValidNpi } from './npi.ts';
import type { ValidationIssue } from './validator.ts';

export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
export const CLIA_SYSTEM = 'urn:oid:2.16.840.1.113883.4.7';
export const NAIC_SYSTEM = 'urn:oid:2.16.840.1.113883.6.300';
const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net';
const NEWPATIENTS_URL = `${PN}/StructureDefinition/newpatients`;
const HSC_SYSTEM = `${PN}/CodeSystem/HealthcareServiceCategoryCS`;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
}

type Emit = (severity: 'error' | 'warning', code: string, expression: string, diagnostics: string) => void;

/** Runs the code checks for one resource (already known to be a Plan-Net type). */
export function runChecks(resource: Obj, resourceType: string, out: ValidationIssue[]): void {
  const emit: Emit = (severity, code, expression, diagnostics) => out.push({ severity, code, diagnostics, expression });

  switch (resourceType) {
    case 'Organization':
      checkOrganization(resource, emit);
      checkIdentifiers(resource, resourceType, emit, true);
      break;
    case 'Practitioner':
      checkIdentifiers(resource, resourceType, emit, false);
      break;
    case 'PractitionerRole':
      checkPractitionerRole(resource, emit);
      break;
    case 'InsurancePlan':
      checkInsurancePlan(resource, emit);
      break;
    case 'OrganizationAffiliation':
      if (!present(resource.organization) && !present(resource.participatingOrganization)) {
        emit('error', 'invariant', 'OrganizationAffiliation', 'organization-or-participatingOrganization: organization or participatingOrganization SHALL be present');
      }
      break;
    case 'HealthcareService':
      checkHealthcareService(resource, emit);
      break;
  }
  if (resourceType === 'HealthcareService' || resourceType === 'Location' || resourceType === 'PractitionerRole') {
    checkNewPatients(resource, resourceType, emit);
  }
  checkContained(resource, resourceType, emit);
}

function checkOrganization(r: Obj, emit: Emit): void {
  if (!present(r.identifier) && !present(r.name)) {
    emit('error', 'invariant', 'Organization', 'org-1: the organization SHALL at least have a name or an identifier');
  }
  arr(r.address).forEach((a, i) => {
    if (isObj(a) && a.use === 'home') emit('error', 'invariant', `Organization.address[${i}].use`, "org-2: an address of an organization can never be of use 'home'");
  });
  arr(r.telecom).forEach((t, i) => {
    if (isObj(t) && t.use === 'home') emit('error', 'invariant', `Organization.telecom[${i}].use`, "org-3: the telecom of an organization can never be of use 'home'");
  });
}

/** US Core 7 identifier rules (Plan-Net 1.2.0): NPI us-core-16/17 (Practitioner, Organization), CLIA us-core-18, NAIC us-core-19 (Organization). */
function checkIdentifiers(r: Obj, resourceType: string, emit: Emit, isOrganization: boolean): void {
  arr(r.identifier).forEach((id, i) => {
    if (!isObj(id) || typeof id.value !== 'string') return;
    const expr = `${resourceType}.identifier[${i}].value`;
    const v = id.value;
    if (id.system === NPI_SYSTEM) {
      if (!isNpiFormat(v)) emit('warning', 'invariant', expr, `us-core-16: NPI '${v}' must be exactly 10 digits (US Core 7 / Plan-Net 1.2.0)`);
      else if (!isValidNpi(v)) emit('warning', 'invariant', expr, `us-core-17: NPI '${v}' has an invalid check digit (Luhn with prefix 80840; US Core 7 / Plan-Net 1.2.0)`);
    } else if (isOrganization && id.system === CLIA_SYSTEM) {
      if (!/^[0-9]{2}D[0-9]{7}$/.test(v)) emit('warning', 'invariant', expr, `us-core-18: CLIA number '${v}' must match 2 digits, 'D', 7 digits (US Core 7 / Plan-Net 1.2.0)`);
    } else if (isOrganization && id.system === NAIC_SYSTEM) {
      if (!/^[0-9]{5}$/.test(v)) emit('warning', 'invariant', expr, `us-core-19: NAIC code '${v}' must be 5 digits (US Core 7 / Plan-Net 1.2.0)`);
    }
  });
}

function checkPractitionerRole(r: Obj, emit: Emit): void {
  if (!present(r.practitioner) && !present(r.organization) && !present(r.healthcareService) && !present(r.location)) {
    emit(
      'error',
      'invariant',
      'PractitionerRole',
      'practitioner-or-organization-or-healthcareservice-or-location: practitioner, organization, healthcareService or location SHALL be present',
    );
  }
  if (!present(r.telecom) && !present(r.endpoint)) {
    emit('warning', 'invariant', 'PractitionerRole', 'pd-1: SHALL have contact information (telecom) or a reference to an Endpoint (US Core 7 / Plan-Net 1.2.0)');
  }
}

function checkInsurancePlan(r: Obj, emit: Emit): void {
  if (!present(r.identifier) && !present(r.name)) {
    emit('error', 'invariant', 'InsurancePlan', 'ipn-1: the insurance plan SHALL at least have a name or an identifier');
  }
  const plans = arr(r.plan);
  if (!present(r.network) && !plans.some((p) => isObj(p) && present(p.network))) {
    emit('error', 'invariant', 'InsurancePlan', 'network-or-plan-Network: if an InsurancePlan does not define a network, then its plans must define one');
  }
  const codes = new Set<string>();
  for (const p of plans) {
    if (!isObj(p) || !isObj(p.type)) continue;
    for (const c of arr(p.type.coding)) {
      if (!isObj(c) || typeof c.code !== 'string') continue;
      if (codes.has(c.code)) {
        emit('error', 'invariant', 'InsurancePlan.plan', `plan-type-is-distinct: plan type code '${c.code}' is used by more than one plan`);
        return;
      }
      codes.add(c.code);
    }
  }
}

function checkHealthcareService(r: Obj, emit: Emit): void {
  const categories = arr(r.category);
  if (categories.length > 1) {
    emit('warning', 'business-rule', 'HealthcareService.category', `${categories.length} categories: Plan-Net 1.1.0 (and the Inferno 1.1.0 test kit) allows exactly one; 1.2.0 allows several`);
  } else if (categories.length === 1) {
    const c = categories[0];
    const fromPlanNet = isObj(c) && arr(c.coding).some((x) => isObj(x) && x.system === HSC_SYSTEM);
    if (!fromPlanNet) {
      emit('warning', 'business-rule', 'HealthcareService.category[0]', 'no category from the Plan-Net HealthcareServiceCategoryCS (the plan-net-category slice is how clients find services)');
    }
  }
}

/** newpatients: no characteristics when not accepting patients (the invariant as fixed in 2.0.0-ballot: code `nopt`). */
function checkNewPatients(r: Obj, resourceType: string, emit: Emit): void {
  arr(r.extension).forEach((ext, i) => {
    if (!isObj(ext) || ext.url !== NEWPATIENTS_URL) return;
    const subs = arr(ext.extension).filter(isObj);
    const accepting = subs.find((s) => s.url === 'acceptingPatients');
    const notAccepting =
      accepting !== undefined &&
      isObj(accepting.valueCodeableConcept) &&
      arr(accepting.valueCodeableConcept.coding).some((c) => isObj(c) && c.code === 'nopt');
    if (notAccepting && subs.some((s) => s.url === 'characteristics')) {
      emit('warning', 'invariant', `${resourceType}.extension[${i}]`, 'new-patients-characteristics: if no new patients are accepted (nopt), no characteristics are allowed');
    }
  });
}

/** dom-2, dom-4, dom-5 on contained resources. (dom-3, "contained resources are referenced", is not checked.) */
function checkContained(r: Obj, resourceType: string, emit: Emit): void {
  const contained = r.contained;
  if (!Array.isArray(contained)) return;
  contained.forEach((c, i) => {
    if (!isObj(c)) return;
    const expr = `${resourceType}.contained[${i}]`;
    if (present(c.contained)) emit('error', 'invariant', expr, 'dom-2: a contained resource SHALL NOT contain nested resources');
    if (isObj(c.meta)) {
      if (present(c.meta.versionId) || present(c.meta.lastUpdated)) {
        emit('error', 'invariant', `${expr}.meta`, 'dom-4: a contained resource SHALL NOT have a meta.versionId or meta.lastUpdated');
      }
      if (present(c.meta.security)) emit('error', 'invariant', `${expr}.meta.security`, 'dom-5: a contained resource SHALL NOT have a security label');
    }
  });
}
