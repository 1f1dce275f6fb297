/**
 * Bulk export and bulk publish: one row per job (its parameters, who asked, state, progress, and — once complete —
 * the files of the attempt that finished it), and the pointer to each tenant's current published file set.
 *
 * The queue itself lives in pg-boss's own schema (see src/jobs/queue-schema.ts and docs/adr/0007-jobs.md); these rows
 * are what the API answers from, so a status poll never depends on the queue's internals.
 */
import type { Knex } from 'knex';
import { tenantPolicySql } from './policies.ts';

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`
    CREATE TABLE export_jobs (
      tenant_id        text NOT NULL REFERENCES tenants (tenant_id),
      job_id           uuid NOT NULL,
      kind             text NOT NULL CHECK (kind IN ('export', 'publish')),
      status           text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'expired')),
      request_url      text NOT NULL,
      params           jsonb NOT NULL,
      requester_kind   text NOT NULL,
      requester_id     text,
      storage          text NOT NULL,        -- the file storage location its files go to (src/jobs/storage)
      created_at       timestamptz NOT NULL DEFAULT now(),
      started_at       timestamptz,
      finished_at      timestamptz,
      attempt          integer NOT NULL DEFAULT 0,
      attempt_id       text,                 -- storage folder of the current (or the finishing) attempt
      transaction_time timestamptz,
      progress         text,
      files            jsonb,                -- [{ kind: output|deleted|error, type, name, count, bytes }] when completed
      error            jsonb,                -- OperationOutcome when failed
      expires_at       timestamptz,          -- files are deleted after this
      download_lease   timestamptz,          -- a download started recently: do not delete the files before this
      last_poll_at     timestamptz,
      PRIMARY KEY (tenant_id, job_id)
    );
    -- concurrency limits and the "is anything running" checks
    CREATE INDEX export_jobs_active ON export_jobs (tenant_id, requester_id) WHERE status IN ('queued', 'running');
    -- the retention sweep
    CREATE INDEX export_jobs_expiry ON export_jobs (tenant_id, storage, expires_at) WHERE status IN ('completed', 'failed', 'cancelled');

    -- Each tenant's current static bulk-publish set (a completed export_jobs row of kind publish).
    CREATE TABLE bulk_publications (
      tenant_id    text PRIMARY KEY REFERENCES tenants (tenant_id),
      job_id       uuid NOT NULL,
      published_at timestamptz NOT NULL,
      FOREIGN KEY (tenant_id, job_id) REFERENCES export_jobs (tenant_id, job_id)
    );

    ${tenantPolicySql('export_jobs')}
    ${tenantPolicySql('bulk_publications')}
    GRANT SELECT, INSERT, UPDATE, DELETE ON export_jobs, bulk_publications TO ${app};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS bulk_publications, export_jobs');
}
