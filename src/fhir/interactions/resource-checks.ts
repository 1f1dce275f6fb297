/**
 * Checks every write shares: the body is a resource of the URL's type, its id agrees with the URL, and it conforms
 * to its Plan-Net profile. Profile errors are 422 with one issue per element (FHIRPath `expression`); warnings ride
 * along in the response's OperationOutcome when asked for.
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FhirError } from '../outcome/errors.ts';
import type { FhirContext } from '../services.ts';
import { FHIR_ID_PATTERN } from '../../storage/resource-store.ts';
import { isPlanNetType } from '../../validation/validator.ts';

export function assertSupportedType(type: string): void {
  if (!isPlanNetType(type)) {
    throw new FhirError('not-found', `Resource type "${type}" is not served here; this Plan-Net directory serves Endpoint, HealthcareService, InsurancePlan, Location, Organization, OrganizationAffiliation, Practitioner and PractitionerRole`);
  }
}

export function assertValidId(id: string): void {
  if (!FHIR_ID_PATTERN.test(id)) throw new FhirError('bad-request', `"${id}" is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)`, { expression: 'id' });
}

export function asResource(body: unknown, expectedType?: string): Resource {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new FhirError('bad-request', 'The request body must be a FHIR resource (a JSON object)');
  const rt = (body as { resourceType?: unknown }).resourceType;
  if (typeof rt !== 'string') throw new FhirError('bad-request', 'The resource has no resourceType', { expression: 'resourceType' });
  if (expectedType && rt !== expectedType) {
    throw new FhirError('bad-request', `The resource is a ${rt} but the URL is for ${expectedType}`, { expression: 'resourceType' });
  }
  assertSupportedType(rt);
  return body as Resource;
}

/** Validates against the Plan-Net profile; throws 422 on errors, returns the warnings. */
export function validateOrThrow(ctx: FhirContext, resource: Resource): OperationOutcomeIssue[] {
  const issues = ctx.services.validator.validate(resource, { warningsAsErrors: ctx.tenant.settings.strictValidation === true });
  const fhirIssues: OperationOutcomeIssue[] = issues.map((i) => ({
    severity: i.severity, code: i.code as OperationOutcomeIssue['code'], diagnostics: i.diagnostics, expression: [i.expression],
  }));
  if (issues.some((i) => i.severity === 'error')) {
    throw new FhirError('unprocessable', 'The resource does not conform to its Plan-Net profile', { issues: fhirIssues });
  }
  return fhirIssues;
}
