/**
 * Network adequacy: per-tenant datasets that override the CMS defaults (a criteria CSV in the shape of
 * county-criteria-2026.csv, enrollee counts by county, enrollee points), and one row per report job (parameters,
 * who asked, state, progress and — once complete — its files, which live in the job file storage behind signed URLs).
 */
import type { Knex } from 'knex';
import { tenantPolicySql } from './policies.ts';

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`
    CREATE TABLE adequacy_datasets (
      tenant_id   text NOT NULL REFERENCES tenants (tenant_id),
      kind        text NOT NULL CHECK (kind IN ('criteria', 'enrollee-counts', 'enrollee-points')),
      name        text NOT NULL,
      year        integer,
      content     text NOT NULL,
      uploaded_by text,
      uploaded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, kind)
    );
    CREATE TABLE adequacy_jobs (
      tenant_id      text NOT NULL REFERENCES tenants (tenant_id),
      job_id         uuid NOT NULL,
      status         text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
      params         jsonb NOT NULL,
      requester_kind text NOT NULL,
      requester_id   text,
      storage        text NOT NULL,
      created_at     timestamptz NOT NULL DEFAULT now(),
      finished_at    timestamptz,
      progress       text,
      files          jsonb,
      error          jsonb,
      PRIMARY KEY (tenant_id, job_id)
    );
    ${tenantPolicySql('adequacy_datasets')}
    ${tenantPolicySql('adequacy_jobs')}
    GRANT SELECT, INSERT, UPDATE, DELETE ON adequacy_datasets, adequacy_jobs TO ${app};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS adequacy_jobs, adequacy_datasets');
}
