/**
 * `[base]/metadata`: a CapabilityStatement built from what this server actually supports — the search engine's
 * parameters, includes and revincludes, the interactions the router serves — instantiating the Plan-Net one.
 * The Plan-Net statement in profiles/ supplies the profile canonicals per type.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { PROJECT_ROOT } from '../../config/config.ts';
import type { SearchEngine } from '../../search/engine.ts';
import { PLAN_NET_TYPES } from '../../validation/validator.ts';
import { adequacyOperationUrl } from '../../adequacy/operation-definition.ts';

export const PLAN_NET_CAPABILITY_CANONICAL = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CapabilityStatement/plan-net';
export const SERVER_VERSION = '0.1.0';
export const BULK_DATA_CAPABILITY_CANONICAL = 'http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data';
export const BULK_EXPORT_OPERATION = 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export';

const planNet = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'profiles', 'plan-net-capability-statement.json'), 'utf8')) as CapabilityStatement;

export interface CapabilityExtras {
  /** e.g. `include` lists and revincludes per type, supplied by the search engine when it supports them. */
  searchInclude?(type: string): string[];
  searchRevInclude?(type: string): string[];
  operations?: { name: string; definition: string }[];
}

export function buildCapabilityStatement(baseUrl: string, search: SearchEngine & CapabilityExtras): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = PLAN_NET_TYPES.map((type) => {
    const pn = planNet.rest?.[0]?.resource?.find((r) => r.type === type);
    const params = search.supportedParams(type);
    return {
      type,
      supportedProfile: pn?.supportedProfile ?? [],
      interaction: ['read', 'vread', 'search-type', 'history-instance', 'history-type', 'create', 'update', 'delete']
        .map((code) => ({ code: code as 'read' })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      referencePolicy: ['literal', 'local', 'resolves'],
      searchInclude: search.searchInclude?.(type) ?? [],
      searchRevInclude: search.searchRevInclude?.(type) ?? [],
      searchParam: params.map((p) => ({ name: p.name, type: p.type as 'token', ...(p.definition ? { definition: p.definition } : {}), ...(p.documentation ? { documentation: p.documentation } : {}) })),
      operation: [{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }],
    };
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    publisher: 'plannet-directory',
    kind: 'instance',
    instantiates: [PLAN_NET_CAPABILITY_CANONICAL, BULK_DATA_CAPABILITY_CANONICAL],
    software: { name: 'plannet-directory', version: SERVER_VERSION },
    implementation: { description: 'Plan-Net provider directory', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    implementationGuide: ['http://hl7.org/fhir/us/davinci-pdex-plan-net/ImplementationGuide/hl7.fhir.us.davinci-pdex-plan-net'],
    rest: [{
      mode: 'server',
      documentation: 'Public read and search per CMS-9115-F; writes, batch/transaction and history for maintenance.',
      resource,
      interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
      // system-level Bulk Data export (Group and Patient levels are not offered: no Groups or Patients here)
      operation: [{ name: 'export', definition: BULK_EXPORT_OPERATION }, { name: 'network-adequacy', definition: adequacyOperationUrl(baseUrl) }, ...(search.operations ?? []).map((o) => ({ name: o.name, definition: o.definition }))],
    }],
  };
}
