/**
 * The `export_jobs` rows: what the API answers from and what a worker's attempt updates. Every statement runs in a
 * tenant transaction (row-level security), and every update an attempt makes is fenced by its `attempt_id`, so an
 * attempt the queue has given up on (a worker thought dead) can never overwrite or publish over a newer one.
 */
import { randomBytes } from 'node:crypto';
import type { Db, TenantTx } from '../../storage/db.ts';
import type { ExportFile, ExportJob, ExportKind, ExportParams } from './types.ts';

const COLUMNS = `tenant_id, job_id, kind, status, request_url, params, requester_kind, requester_id, created_at, attempt, attempt_id,
  transaction_time, progress, files, error, expires_at, last_poll_at`;

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

function toJob(r: Record<string, any>): ExportJob {
  return {
    tenant: r.tenant_id, id: r.job_id, kind: r.kind, status: r.status, requestUrl: r.request_url, params: r.params,
    requesterKind: r.requester_kind, requesterId: r.requester_id, createdAt: iso(r.created_at)!, attempt: r.attempt,
    attemptId: r.attempt_id, transactionTime: iso(r.transaction_time), progress: r.progress, files: r.files, error: r.error,
    expiresAt: iso(r.expires_at), lastPollAt: iso(r.last_poll_at),
  };
}

export interface NewJob {
  id: string;
  kind: ExportKind;
  requestUrl: string;
  params: ExportParams;
  requesterKind: string;
  requesterId: string | null;
  /** FileStorage.id of the storage its files will go to. */
  storage: string;
}

export async function insertJob(tx: TenantTx, job: NewJob): Promise<void> {
  await tx.query(
    `INSERT INTO export_jobs (tenant_id, job_id, kind, status, request_url, params, requester_kind, requester_id, storage)
     VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8)`,
    [tx.tenant, job.id, job.kind, job.requestUrl, JSON.stringify(job.params), job.requesterKind, job.requesterId, job.storage]);
}

/** Serializes kick-offs of one tenant (so the concurrency limits cannot be raced past). */
export async function lockTenantKickoffs(tx: TenantTx): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('export-kickoff:' || $1))`, [tx.tenant]);
}

export async function countActive(tx: TenantTx, requesterId: string | null): Promise<{ tenant: number; requester: number }> {
  const { rows } = await tx.query(
    `SELECT count(*)::int AS tenant, count(*) FILTER (WHERE requester_id IS NOT DISTINCT FROM $2)::int AS requester
       FROM export_jobs WHERE tenant_id = $1 AND kind = 'export' AND status IN ('queued', 'running')`, [tx.tenant, requesterId]);
  return rows[0];
}

export async function getJob(tx: TenantTx, id: string, opts: { forUpdate?: boolean } = {}): Promise<ExportJob | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return undefined;
  const { rows } = await tx.query(`SELECT ${COLUMNS} FROM export_jobs WHERE tenant_id = $1 AND job_id = $2${opts.forUpdate ? ' FOR UPDATE' : ''}`, [tx.tenant, id]);
  return rows[0] ? toJob(rows[0]) : undefined;
}

/** The tenant's jobs of one kind, newest first (the staff console's list). */
export async function listJobs(tx: TenantTx, kind: ExportKind, limit = 50): Promise<ExportJob[]> {
  const { rows } = await tx.query(
    `SELECT ${COLUMNS} FROM export_jobs WHERE tenant_id = $1 AND kind = $2 ORDER BY created_at DESC, job_id LIMIT ${Math.max(1, Math.min(500, Math.floor(limit)))}`,
    [tx.tenant, kind]);
  return rows.map(toJob);
}

export async function notePoll(tx: TenantTx, id: string): Promise<void> {
  await tx.query('UPDATE export_jobs SET last_poll_at = now() WHERE tenant_id = $1 AND job_id = $2', [tx.tenant, id]);
}

/** A client's DELETE: returns the status the job had, or undefined if there was nothing to cancel. */
export async function cancelJob(tx: TenantTx, id: string): Promise<ExportJob | undefined> {
  const job = await getJob(tx, id, { forUpdate: true });
  if (!job || job.status === 'cancelled' || job.status === 'expired') return undefined;
  await tx.query(
    `UPDATE export_jobs SET status = 'cancelled', finished_at = coalesce(finished_at, now()), files = NULL, progress = NULL,
            expires_at = now() WHERE tenant_id = $1 AND job_id = $2`, [tx.tenant, id]);
  return job;
}

/** Starts an attempt: returns its id, or undefined if the job is no longer waiting for work (cancelled, done). */
export async function beginAttempt(db: Db, tenant: string, id: string): Promise<{ attemptId: string; job: ExportJob } | undefined> {
  const attemptId = `a${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
  return db.withTenant(tenant, async (tx) => {
    const { rows } = await tx.query(
      `UPDATE export_jobs SET status = 'running', attempt = attempt + 1, attempt_id = $3, started_at = coalesce(started_at, now()),
              progress = 'starting'
        WHERE tenant_id = $1 AND job_id = $2 AND status IN ('queued', 'running')
        RETURNING ${COLUMNS}`, [tenant, id, attemptId]);
    return rows[0] ? { attemptId, job: toJob(rows[0]) } : undefined;
  });
}

/** Records progress; false if this attempt no longer owns the job (cancelled, or superseded by a newer attempt). */
export async function checkpoint(db: Db, tenant: string, id: string, attemptId: string, progress: string): Promise<boolean> {
  return db.withTenant(tenant, async (tx) => {
    const { rowCount } = await tx.query(
      `UPDATE export_jobs SET progress = $4 WHERE tenant_id = $1 AND job_id = $2 AND attempt_id = $3 AND status = 'running'`,
      [tenant, id, attemptId, progress.slice(0, 99)]);
    return rowCount === 1;
  });
}

/**
 * Publishes a finished attempt: its files become the job's manifest in one statement. For a bulk-publish job the
 * tenant's published set switches to it in the same transaction, and the set it replaces expires after a grace period.
 * False if the attempt lost the job meanwhile (the caller then deletes its files).
 */
export async function completeAttempt(db: Db, tenant: string, id: string, attemptId: string, r: {
  files: ExportFile[]; transactionTime: Date; retentionSeconds: number | null; publishGraceSeconds?: number;
}): Promise<boolean> {
  return db.withTenant(tenant, async (tx) => {
    const { rows } = await tx.query(
      `UPDATE export_jobs SET status = 'completed', files = $4, transaction_time = $5, finished_at = now(), progress = NULL,
              expires_at = CASE WHEN $6::int IS NULL THEN NULL ELSE now() + make_interval(secs => $6::int) END
        WHERE tenant_id = $1 AND job_id = $2 AND attempt_id = $3 AND status = 'running'
        RETURNING kind`, [tenant, id, attemptId, JSON.stringify(r.files), r.transactionTime.toISOString(), r.retentionSeconds]);
    if (!rows[0]) return false;
    if (rows[0].kind === 'publish') {
      const { rows: prev } = await tx.query('SELECT job_id FROM bulk_publications WHERE tenant_id = $1 FOR UPDATE', [tenant]);
      await tx.query(
        `INSERT INTO bulk_publications (tenant_id, job_id, published_at) VALUES ($1, $2, now())
         ON CONFLICT (tenant_id) DO UPDATE SET job_id = EXCLUDED.job_id, published_at = EXCLUDED.published_at`, [tenant, id]);
      if (prev[0]) {
        await tx.query(
          `UPDATE export_jobs SET expires_at = now() + make_interval(secs => $3::int) WHERE tenant_id = $1 AND job_id = $2`,
          [tenant, prev[0].job_id, r.publishGraceSeconds ?? 0]);
      }
    }
    return true;
  });
}

/** The job failed for good (no retry follows): the status URL answers with this OperationOutcome. */
export async function failJob(db: Db, tenant: string, id: string, outcome: object, attemptId?: string): Promise<void> {
  await db.withTenant(tenant, async (tx) => {
    await tx.query(
      `UPDATE export_jobs SET status = 'failed', error = $3, finished_at = now(), progress = NULL, files = NULL,
              expires_at = now() + interval '1 day'
        WHERE tenant_id = $1 AND job_id = $2 AND status IN ('queued', 'running')${attemptId ? ' AND attempt_id = $4' : ''}`,
      attemptId ? [tenant, id, JSON.stringify(outcome), attemptId] : [tenant, id, JSON.stringify(outcome)]);
  });
}

/** A download is starting: keep the files at least this long, whatever the retention says. */
export async function leaseForDownload(tx: TenantTx, id: string, seconds: number): Promise<void> {
  await tx.query(
    `UPDATE export_jobs SET download_lease = greatest(coalesce(download_lease, now()), now() + make_interval(secs => $3::int))
      WHERE tenant_id = $1 AND job_id = $2`, [tx.tenant, id, seconds]);
}

export async function currentPublication(tx: TenantTx): Promise<ExportJob | undefined> {
  const { rows } = await tx.query(
    `SELECT ${COLUMNS.split(',').map((c) => `j.${c.trim()}`).join(', ')} FROM bulk_publications p
       JOIN export_jobs j ON j.tenant_id = p.tenant_id AND j.job_id = p.job_id WHERE p.tenant_id = $1`, [tx.tenant]);
  return rows[0] ? toJob(rows[0]) : undefined;
}

/** Jobs of this storage whose files are due for deletion (retention passed, no download lease). */
export async function dueForDeletion(tx: TenantTx, storage: string, limit = 100): Promise<{ id: string; status: string }[]> {
  const { rows } = await tx.query(
    `SELECT job_id, status FROM export_jobs
      WHERE tenant_id = $1 AND storage = $2 AND status IN ('completed', 'failed', 'cancelled') AND expires_at < now()
        AND (download_lease IS NULL OR download_lease < now())
        AND NOT EXISTS (SELECT 1 FROM bulk_publications p WHERE p.tenant_id = export_jobs.tenant_id AND p.job_id = export_jobs.job_id)
      ORDER BY expires_at LIMIT ${Number(limit)}`, [tx.tenant, storage]);
  return rows.map((r) => ({ id: r.job_id, status: r.status }));
}

export async function markFilesDeleted(tx: TenantTx, id: string): Promise<void> {
  // a cancelled job keeps answering 404 (cancelled); a finished one now answers as expired
  await tx.query(
    `UPDATE export_jobs SET status = CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'expired' END, files = NULL, expires_at = NULL
      WHERE tenant_id = $1 AND job_id = $2`, [tx.tenant, id]);
}
