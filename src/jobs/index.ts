/**
 * The job runner as the service composes it: pg-boss plus every job kind the service knows. server.ts builds it
 * with the other services; main.ts starts it with workers (role `all` or `worker`) or without (role `api`).
 */
import type { AppServices } from '../fhir/services.ts';
import type { Logger } from '../observability/logger.ts';
import { attachJobRunner, JobRunner } from './runner.ts';
import { BULK_DATA_KINDS } from './export/export-kind.ts';
import { ADEQUACY_KINDS } from '../adequacy/job.ts';
import { prepareQueueSchema } from './queue-schema.ts';

export function createJobRunner(services: AppServices, logger: Logger): JobRunner {
  const runner = new JobRunner({ services, logger, kinds: [...BULK_DATA_KINDS, ...ADEQUACY_KINDS] });
  attachJobRunner(services, runner);
  return runner;
}

/** Installs or upgrades the queue schema and its queues, as the database owner (role `migrate`, and every start). */
export async function prepareJobQueues(ownerUrl: string, appRole: string): Promise<void> {
  await prepareQueueSchema(ownerUrl, appRole);
}

export { JobRunner, jobRunnerOf } from './runner.ts';
