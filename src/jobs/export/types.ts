/** Shapes shared by the export API (kick-off, status, downloads) and the export worker. */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { QueryPairs } from '../../search/engine.ts';

/** Normalized kick-off parameters, stored with the job. */
export interface ExportParams {
  /** Resource types to export, sorted. */
  types: string[];
  /** `_since` as an ISO instant: only resources changed after it, plus deletions after it. */
  since?: string;
  /** `_typeFilter`: per type, queries whose matches are exported (a resource matching any one of them). */
  typeFilters?: Record<string, QueryPairs[]>;
  /** `_elements`: top-level elements to keep, for one type or (type undefined) for every type. */
  elements?: { type?: string; name: string }[];
  /** Notes for the manifest's `error` file: parameters ignored under `Prefer: handling=lenient`. */
  issues: OperationOutcomeIssue[];
}

export type ExportKind = 'export' | 'publish';
export type ExportStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'expired';

/** One stored file of a finished attempt. */
export interface ExportFile {
  /** output: resources; deleted: Bundles of deletions (_since); error: OperationOutcomes. */
  kind: 'output' | 'deleted' | 'error';
  /** Manifest type: the resource type, `Bundle` for deletions, `OperationOutcome` for errors. */
  type: string;
  /** Public file name (in the URL), e.g. `Practitioner-1.ndjson`. */
  name: string;
  /** Storage key. */
  key: string;
  gzip: boolean;
  count: number;
  bytes: number;
}

export interface ExportJob {
  tenant: string;
  id: string;
  kind: ExportKind;
  status: ExportStatus;
  requestUrl: string;
  params: ExportParams;
  requesterKind: string;
  requesterId: string | null;
  createdAt: string;
  attempt: number;
  attemptId: string | null;
  transactionTime: string | null;
  progress: string | null;
  files: ExportFile[] | null;
  error: unknown;
  expiresAt: string | null;
  lastPollAt: string | null;
}

/** The storage folder of one job (all of its attempts). */
export function jobPrefix(tenant: string, jobId: string): string { return `tenants/${tenant}/jobs/${jobId}/`; }
