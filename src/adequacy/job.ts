/**
 * The `network-adequacy` job kind on the pg-boss runner: one job per report. The job row (adequacy_jobs, migration
 * 007) holds the parameters, who asked, progress and, once complete, the file list; the files go to the job file
 * storage under tenants/{tenant}/adequacy/{job}/ and are served through signed, expiring URLs. A finished report
 * (completed, failed or cancelled) expires ADEQUACY_RETENTION_SECONDS later; `adequacy-retention` deletes it.
 */
import { randomUUID } from 'node:crypto';
import type { AppServices } from '../fhir/services.ts';
import { FhirError } from '../fhir/outcome/errors.ts';
import type { JobContext, JobKind, RunningJob } from '../jobs/kinds.ts';
import { jobRunnerOf, type JobRunner } from '../jobs/runner.ts';
import type { TenantTx } from '../storage/db.ts';
import { AdequacyInputError, runAdequacy } from './run.ts';
import { loadTenantOverrides } from './store.ts';

export interface AdequacyParams {
  networks: string[];
  plan?: string;
  states: string[];
  counties: string[];
  types: string[];
  mapTypes?: string[];
  asOf: string;
  standards: 'cms' | 'tenant' | 'default';
}
export interface AdequacyJobData { tenant: string; jobId: string }
export interface AdequacyFile { name: string; contentType: string; bytes: number }
export interface AdequacyJobRow {
  id: string; status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'; params: AdequacyParams; requesterKind: string; requesterId: string | null;
  storage: string; progress: string | null; files: AdequacyFile[] | null; error: object | null;
  /** What the report says about travel time (set on completion). */
  travelTime: string | null;
  /** The report and its files are deleted after this (set when it finishes). */
  expiresAt: Date | null;
  createdAt: Date;
}

export const ADEQUACY_KIND_NAME = 'network-adequacy';
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const adequacyPrefix = (tenant: string, job: string) => `tenants/${tenant}/adequacy/${job}/`;

export async function insertAdequacyJob(tx: TenantTx, runner: JobRunner, params: AdequacyParams, requester: { kind: string; id: string | null }): Promise<string> {
  const id = randomUUID();
  await tx.query(`INSERT INTO adequacy_jobs (tenant_id, job_id, status, params, requester_kind, requester_id, storage) VALUES ($1, $2, 'queued', $3, $4, $5, $6)`,
    [tx.tenant, id, JSON.stringify(params), requester.kind, requester.id, runner.storage.id]);
  await runner.send(ADEQUACY_KIND_NAME, { tenant: tx.tenant, jobId: id } satisfies AdequacyJobData, { tx, id });
  return id;
}

export async function getAdequacyJob(tx: TenantTx, id: string): Promise<AdequacyJobRow | undefined> {
  const r = await tx.query(`SELECT * FROM adequacy_jobs WHERE tenant_id = $1 AND job_id = $2`, [tx.tenant, id]);
  return r.rows[0] ? rowToJob(r.rows[0]) : undefined;
}

function rowToJob(x: Record<string, any>): AdequacyJobRow {
  return {
    id: x.job_id, status: x.status, params: x.params, requesterKind: x.requester_kind, requesterId: x.requester_id, storage: x.storage, progress: x.progress, files: x.files, error: x.error,
    travelTime: x.travel_time, expiresAt: x.expires_at ? new Date(x.expires_at) : null, createdAt: new Date(x.created_at),
  };
}

/** The tenant's latest reports, newest first (the console lists them with who started each). */
export async function listAdequacyJobs(tx: TenantTx, limit = 50): Promise<AdequacyJobRow[]> {
  const r = await tx.query(`SELECT * FROM adequacy_jobs WHERE tenant_id = $1 ORDER BY created_at DESC, job_id LIMIT $2`, [tx.tenant, limit]);
  return r.rows.map(rowToJob);
}

/**
 * Cancels a report of this requester (DELETE on its status URL, and the console's Cancel): the row is marked
 * cancelled and expires at once (the retention job removes it), a queued or running job is cancelled on the runner,
 * and its files are removed. Returns false if there is no such report of theirs, or it was already cancelled.
 */
export async function cancelAdequacyJob(services: AppServices, tenant: string, requester: { kind: string; id: string | null }, id: string): Promise<boolean> {
  if (!JOB_ID.test(id)) return false;
  const job = await services.db.withTenant(tenant, async (tx) => {
    const job = await getAdequacyJob(tx, id);
    if (!job || job.requesterKind !== requester.kind || job.requesterId !== requester.id || job.status === 'cancelled') return undefined;
    await tx.query(`UPDATE adequacy_jobs SET status = 'cancelled', finished_at = now(), expires_at = now() WHERE tenant_id = $1 AND job_id = $2`, [tenant, id]);
    return job;
  });
  if (!job) return false;
  const runner = jobRunnerOf(services);
  if (job.status === 'queued' || job.status === 'running') await runner.cancel(ADEQUACY_KIND_NAME, id).catch(() => {});
  await runner.storage.deletePrefix(adequacyPrefix(tenant, id)).catch(() => {});
  return true;
}

async function update(services: AppServices, tenant: string, id: string, set: string, values: unknown[]): Promise<void> {
  await services.db.withTenant(tenant, (tx) => tx.query(`UPDATE adequacy_jobs SET ${set} WHERE tenant_id = $1 AND job_id = $2 AND status IN ('queued', 'running')`, [tenant, id, ...values]));
}

export async function runAdequacyJob(job: RunningJob<AdequacyJobData>, ctx: JobContext): Promise<void> {
  const { tenant, jobId } = job.data;
  const { services, storage, logger } = ctx;
  const row = await services.db.withTenant(tenant, (tx) => getAdequacyJob(tx, jobId));
  if (!row || (row.status !== 'queued' && row.status !== 'running')) return;
  await update(services, tenant, jobId, `status = 'running', progress = 'starting'`, []);
  const prefix = adequacyPrefix(tenant, jobId);
  try {
    await storage.deletePrefix(prefix);
    const p = row.params;
    const overrides = await loadTenantOverrides(services.db, tenant);
    if (p.standards === 'cms') delete overrides.criteria;
    if (p.standards === 'tenant' && !overrides.criteria) throw new AdequacyInputError('standards=tenant, but this tenant has uploaded no criteria');
    const retention = services.config.adequacy.retentionSeconds;
    const result = await runAdequacy(services.db, {
      tenant, networks: p.networks, plan: p.plan, states: p.states, counties: p.counties, types: p.types, mapTypes: p.mapTypes, asOf: p.asOf, ...overrides,
    }, async (text) => { job.signal.throwIfAborted(); await update(services, tenant, jobId, 'progress = $3', [text.slice(0, 200)]); });
    const files: AdequacyFile[] = [];
    for (const f of result.files) {
      const w = await storage.createWriter(`${prefix}${f.name}`);
      if (Buffer.isBuffer(f.body)) await w.write(f.body);
      else for (const chunk of f.body) await w.write(chunk); // the HSD tables, produced as they are written
      files.push({ name: f.name, contentType: f.contentType, bytes: await w.close() });
    }
    await update(services, tenant, jobId, `status = 'completed', progress = 'done', files = $3, travel_time = $4, finished_at = now(), expires_at = now() + make_interval(secs => $5)`,
      [JSON.stringify(files), result.travelTime, retention]);
    logger.info({ tenant, job: jobId, files: files.length, rows: result.rows }, 'network adequacy report completed');
  } catch (err) {
    const permanent = err instanceof AdequacyInputError || (err instanceof FhirError && err.status < 500);
    if (!permanent && !job.lastAttempt) throw err;
    const fe = err instanceof AdequacyInputError ? new FhirError('bad-request', err.message) : err instanceof FhirError ? err : new FhirError('internal', 'The adequacy report failed; it has been logged. Start a new one.');
    await update(services, tenant, jobId, `status = 'failed', error = $3, finished_at = now(), expires_at = now() + make_interval(secs => $4)`,
      [JSON.stringify(fe.toOutcome()), services.config.adequacy.retentionSeconds]);
    await storage.deletePrefix(prefix).catch(() => {});
    logger.error({ err }, 'network adequacy report failed');
  }
}

export const NETWORK_ADEQUACY_KIND: JobKind<AdequacyJobData> = {
  name: ADEQUACY_KIND_NAME,
  heartbeat: true,
  expireInSeconds: 2 * 3600,
  concurrency: () => 1,
  run: runAdequacyJob,
};

/** Deletes reports whose retention has passed: their files from this process's storage, then their rows. */
export async function sweepExpiredReports(ctx: Pick<JobContext, 'services' | 'storage' | 'logger'>): Promise<number> {
  const { services, storage } = ctx;
  let removed = 0;
  for (const t of await services.tenants.list()) {
    const due = await services.db.withTenant(t.id, (tx) => tx.query<{ job_id: string }>(
      `SELECT job_id FROM adequacy_jobs WHERE tenant_id = $1 AND expires_at <= now() AND storage = $2 ORDER BY expires_at LIMIT 1000`, [t.id, storage.id]));
    for (const { job_id: id } of due.rows) {
      // files first: a row without files is harmless, files without a row would never be found again
      await storage.deletePrefix(adequacyPrefix(t.id, id));
      await services.db.withTenant(t.id, (tx) => tx.query(`DELETE FROM adequacy_jobs WHERE tenant_id = $1 AND job_id = $2 AND expires_at <= now()`, [t.id, id]));
      removed++;
    }
  }
  if (removed) ctx.logger.info({ reports: removed }, 'expired network adequacy reports deleted');
  return removed;
}

export const ADEQUACY_RETENTION_KIND: JobKind<object> = {
  name: 'adequacy-retention',
  heartbeat: false,
  expireInSeconds: 15 * 60,
  concurrency: () => 1,
  cron: () => '*/5 * * * *',
  run: async (_job, ctx) => { await sweepExpiredReports(ctx); },
};

/** The job kinds of network adequacy (src/jobs/index.ts registers them). */
export const ADEQUACY_KINDS: JobKind<any>[] = [NETWORK_ADEQUACY_KIND, ADEQUACY_RETENTION_KIND];
