/**
 * The OperationDefinition of $network-adequacy, served at [base]/OperationDefinition/network-adequacy and named by the
 * CapabilityStatement. ADEQUACY_PARAMETERS is also the list the operation's parser accepts (routes.ts), so what is
 * declared and what is accepted cannot drift apart.
 */
import type { OperationDefinition, OperationDefinitionParameter } from '@medplum/fhirtypes';

const PN = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/';

export const ADEQUACY_PARAMETERS: OperationDefinitionParameter[] = [
  { name: 'network', use: 'in', min: 0, max: '*', type: 'Reference', targetProfile: [`${PN}plannet-Network`],
    documentation: 'A Plan-Net Network (Organization) to assess; repeat for several. A plain id (valueString) or a comma-separated list is also accepted. Give at least one network, or an insurance-plan.' },
  { name: 'insurance-plan', use: 'in', min: 0, max: '1', type: 'Reference', targetProfile: [`${PN}plannet-InsurancePlan`],
    documentation: 'An InsurancePlan: every network it names (InsurancePlan.network and plan.network) is assessed, one report file set each.' },
  { name: 'service-area', use: 'in', min: 1, max: '*', type: 'string',
    documentation: 'States and counties assessed: a USPS state code ("MD" or "state:MD"), a county FIPS code ("county:24031" or "24031") or an SSA state/county code. Repeat, or separate with commas.' },
  { name: 'standards', use: 'in', min: 0, max: '1', type: 'code',
    documentation: '"cms-ma-2026": the CMS MA CY2026 county criteria; "tenant": the criteria the tenant uploaded (an error if none). Default: the tenant\'s upload if any, else CMS.' },
  { name: 'type', use: 'in', min: 0, max: '*', type: 'code',
    documentation: 'CMS HSD provider/facility type codes to assess (e.g. S03, 008, 040). Default: every type with criteria.' },
  { name: 'map-type', use: 'in', min: 0, max: '*', type: 'code',
    documentation: 'Types that get a map of their own besides the all-types map. Default: S03 and 040.' },
  { name: 'as-of', use: 'in', min: 0, max: '1', type: 'date',
    documentation: 'The date that decides which roles and affiliations are active. Default: today. Identical inputs, as-of included, give byte-identical files.' },
];

export const adequacyOperationUrl = (base: string) => `${base}/OperationDefinition/network-adequacy`;

export function networkAdequacyOperationDefinition(base: string): OperationDefinition {
  return {
    resourceType: 'OperationDefinition',
    id: 'network-adequacy',
    url: adequacyOperationUrl(base),
    name: 'NetworkAdequacy',
    title: 'Network adequacy report (CMS time/distance and minimum counts per county and type)',
    status: 'active',
    kind: 'operation',
    publisher: 'plannet-directory',
    description: 'Starts a network-adequacy report for one or more Plan-Net networks over a service area: per county × CMS HSD type, '
      + 'the share of beneficiaries within the maximum distance (and time, where the tenant uploaded a travel-time matrix), the providers '
      + 'within reach against the minimum, and pass/fail; with HSD provider/facility tables per county served, maps and an HTML report. '
      + 'Asynchronous like $export: 202 Accepted with Content-Location [base]/$network-adequacy-status/{id}; poll it for a manifest of signed, '
      + 'expiring file URLs. Needs the permission adequacy:run (staff roles exporter/admin, or the SMART scope system/adequacy.run).',
    affectsState: true,
    code: 'network-adequacy',
    system: true,
    type: false,
    instance: false,
    parameter: [
      ...ADEQUACY_PARAMETERS,
      { name: 'return', use: 'out', min: 0, max: '1', type: 'OperationOutcome',
        documentation: 'On acceptance (202) an informational OperationOutcome; the report itself is reached through the Content-Location status URL.' },
    ],
  };
}
