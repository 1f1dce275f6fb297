/**
 * Job kinds of bulk data: `bulk-export` runs one export or bulk-publish job (an `export_jobs` row); `export-retention`
 * deletes files whose time is up; `bulk-publish-schedule` enqueues a publish of every public tenant.
 *
 * An attempt writes into its own storage folder and publishes by switching the job row to `completed` with its file
 * list, fenced by its attempt id: a killed worker's attempt leaves only files nobody points to, and the retry starts
 * over in a new snapshot (the files and counts of a retried job are exactly those of a clean run).
 */
import { randomUUID } from 'node:crypto';
import { FhirError } from '../../fhir/outcome/errors.ts';
import { PLAN_NET_TYPES } from '../../validation/validator.ts';
import type { JobContext, JobKind, RunningJob } from '../kinds.ts';
import { beginAttempt, checkpoint, completeAttempt, dueForDeletion, failJob, insertJob, markFilesDeleted } from './job-store.ts';
import { runExportAttempt } from './exporter.ts';
import { jobPrefix } from './types.ts';

export interface ExportJobData { tenant: string; jobId: string }

class AttemptSuperseded extends Error {}

export function progressText(exported: number, estimated: number | undefined): string {
  if (!estimated) return `${exported} resources exported`;
  const pct = Math.min(99, Math.floor((exported / Math.max(estimated, 1)) * 100));
  return `${pct}% (${exported} of about ${Math.max(estimated, exported)} resources)`;
}

export async function runExportJob(job: RunningJob<ExportJobData>, ctx: JobContext): Promise<void> {
  const { tenant, jobId } = job.data;
  const { services, storage, logger } = ctx;
  const { db, config } = services;
  const started = await beginAttempt(db, tenant, jobId);
  if (!started) { logger.info('export job no longer wanted (cancelled or finished)'); return; }
  const { attemptId, job: row } = started;
  const folder = jobPrefix(tenant, jobId);
  const prefix = `${folder}${attemptId}/`;
  try {
    await storage.deletePrefix(folder); // whatever earlier, interrupted attempts left behind
    const t0 = Date.now();
    const result = await runExportAttempt({
      db, search: services.search, storage, tenant, params: row.params, prefix,
      maxLinesPerFile: config.export.maxLinesPerFile, gzip: config.export.gzip, snapshotMarginMs: config.export.snapshotMarginMs,
      signal: job.signal,
      // the big scan in a thread of its own (scan-thread.ts says why), when its storage can be rebuilt there
      scanThread: ctx.runner.storageConfig && config.export.scanThread ? { config: ctx.runner.storageConfig } : undefined,
      onProgress: async (p) => {
        if (!(await checkpoint(db, tenant, jobId, attemptId, progressText(p.exported, p.estimated)))) throw new AttemptSuperseded();
      },
    });
    job.signal.throwIfAborted();
    const published = await completeAttempt(db, tenant, jobId, attemptId, {
      files: result.files, transactionTime: result.transactionTime,
      retentionSeconds: row.kind === 'publish' ? null : config.export.retentionSeconds,
      publishGraceSeconds: config.export.publishGraceSeconds,
    });
    if (!published) { await storage.deletePrefix(prefix); logger.info('export finished but was cancelled meanwhile; files removed'); return; }
    logger.info({ tenant, exported: result.exported, deleted: result.deleted, files: result.files.length, ms: Date.now() - t0 }, 'export completed');
  } catch (err) {
    await storage.deletePrefix(prefix).catch(() => {});
    if (err instanceof AttemptSuperseded) { logger.info('export cancelled; attempt stopped'); return; }
    const permanent = err instanceof FhirError && err.status < 500;
    if (job.lastAttempt || permanent) {
      const fe = permanent ? err as FhirError : new FhirError('internal', 'The export failed; it has been logged. Start a new export.');
      await failJob(db, tenant, jobId, fe.toOutcome(), attemptId);
      logger.error({ err }, 'export failed for good');
      return;
    }
    await checkpoint(db, tenant, jobId, attemptId, `retrying after an error (attempt ${job.attempt} failed)`).catch(() => {});
    throw err;
  }
}

export const BULK_EXPORT_KIND: JobKind<ExportJobData> = {
  name: 'bulk-export',
  heartbeat: true,
  expireInSeconds: 6 * 3600,
  concurrency: (s) => s.config.export.workerConcurrency,
  run: runExportJob,
};

/** Deletes the files of jobs whose retention has passed (never while a download lease is held). */
export async function sweepExpiredFiles(ctx: Pick<JobContext, 'services' | 'storage' | 'logger'>): Promise<number> {
  const { services, storage } = ctx;
  let removed = 0;
  for (const tenant of await services.tenants.list()) {
    const due = await services.db.withTenant(tenant.id, (tx) => dueForDeletion(tx, storage.id));
    for (const j of due) {
      await storage.deletePrefix(jobPrefix(tenant.id, j.id));
      await services.db.withTenant(tenant.id, (tx) => markFilesDeleted(tx, j.id));
      removed++;
    }
  }
  if (removed) ctx.logger.info({ jobs: removed }, 'expired export files deleted');
  return removed;
}

export const EXPORT_RETENTION_KIND: JobKind<object> = {
  name: 'export-retention',
  heartbeat: false,
  expireInSeconds: 15 * 60,
  concurrency: () => 1,
  cron: () => '* * * * *',
  run: async (_job, ctx) => { await sweepExpiredFiles(ctx); },
};

/** Queues a bulk-publish of one tenant's public directory; returns the job id. */
export async function enqueuePublish(ctx: Pick<JobContext, 'services' | 'runner'>, tenant: string, requestUrl: string, requester: { kind: string; id: string | null }): Promise<string> {
  const id = randomUUID();
  await ctx.services.db.withTenant(tenant, async (tx) => {
    await insertJob(tx, { id, kind: 'publish', requestUrl, params: { types: [...PLAN_NET_TYPES], issues: [] }, requesterKind: requester.kind, requesterId: requester.id, storage: ctx.runner.storage.id });
    await ctx.runner.send(BULK_EXPORT_KIND.name, { tenant, jobId: id }, { tx, id });
  });
  return id;
}

export const BULK_PUBLISH_SCHEDULE_KIND: JobKind<object> = {
  name: 'bulk-publish-schedule',
  heartbeat: false,
  expireInSeconds: 15 * 60,
  concurrency: () => 1,
  cron: (s) => s.config.export.publishCron.trim() || undefined,
  run: async (_job, ctx) => {
    for (const t of await ctx.services.tenants.list()) {
      if (t.settings.requireAuthForReads) continue; // a private directory is never published for anonymous crawlers
      try {
        await enqueuePublish(ctx, t.id, `scheduled:${ctx.services.config.export.publishCron}`, { kind: 'system', id: 'bulk-publish-schedule' });
      } catch (err) {
        ctx.logger.error({ err, tenant: t.id }, 'could not queue the scheduled bulk publish');
      }
    }
  },
};

/** Every job kind of the service (the network-adequacy report will join this list). */
export const BULK_DATA_KINDS: JobKind<any>[] = [BULK_EXPORT_KIND, EXPORT_RETENTION_KIND, BULK_PUBLISH_SCHEDULE_KIND];
