/**
 * Job kinds: each background job the runner carries is one `JobKind` — a queue name, its retry and heartbeat
 * policy, an optional schedule, and the function that runs one attempt. The runner knows nothing about exports;
 * adding a kind (the network-adequacy report is next) is adding an entry to the list the composition root passes in.
 */
import type { AppServices } from '../fhir/services.ts';
import type { Logger } from '../observability/logger.ts';
import type { FileStorage } from './storage/storage.ts';
import type { JobRunner } from './runner.ts';

export interface RunningJob<D> {
  /** pg-boss job id (for export jobs it is also the export's id). */
  id: string;
  data: D;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
  /** No retry follows if this attempt fails. */
  lastAttempt: boolean;
  /** Aborted when the process shuts down or the queue takes the job away (cancelled, heartbeat lost). */
  signal: AbortSignal;
}

export interface JobContext {
  services: AppServices;
  storage: FileStorage;
  logger: Logger;
  runner: JobRunner;
}

export interface JobKind<D extends object = object> {
  /** Queue name; stable, because queued jobs refer to it. */
  name: string;
  /** Long jobs send heartbeats and are retried elsewhere when they stop (a killed worker). */
  heartbeat: boolean;
  /** Upper bound on one attempt, seconds (a safety net; heartbeats catch dead workers much sooner). */
  expireInSeconds: number;
  /** How many attempts of this kind one process runs at once. */
  concurrency(services: AppServices): number;
  /** Cron expression (UTC) to enqueue this kind on; undefined = only on demand. */
  cron?(services: AppServices): string | undefined;
  run(job: RunningJob<D>, ctx: JobContext): Promise<void>;
}
