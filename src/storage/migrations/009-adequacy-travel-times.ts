/**
 * Network adequacy, second increment: a tenant's travel-time matrix (county × Location → minutes, from the plan's
 * GIS vendor; src/adequacy/travel-times.ts), one header row per tenant plus its pairs, replaced whole in one
 * transaction; what a finished report says about travel time (adequacy_jobs.travel_time, for its manifest); and
 * report retention (adequacy_jobs.expires_at, set when a report finishes; the sweep deletes the files and the row
 * after it).
 */
import type { Knex } from 'knex';
import { tenantPolicySql } from './policies.ts';

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`
    CREATE TABLE adequacy_travel_time_sets (
      tenant_id   text PRIMARY KEY REFERENCES tenants (tenant_id),
      name        text NOT NULL,
      pairs       bigint NOT NULL,
      counties    integer NOT NULL,
      uploaded_by text,
      uploaded_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE adequacy_travel_times (
      tenant_id   text NOT NULL REFERENCES adequacy_travel_time_sets (tenant_id) ON DELETE CASCADE,
      fips        char(5) NOT NULL,
      location_id text NOT NULL,
      minutes     real NOT NULL CHECK (minutes >= 0),
      PRIMARY KEY (tenant_id, fips, location_id)
    );
    ALTER TABLE adequacy_jobs ADD COLUMN expires_at timestamptz, ADD COLUMN travel_time text;
    -- the retention sweep
    CREATE INDEX adequacy_jobs_expiry ON adequacy_jobs (tenant_id, expires_at) WHERE expires_at IS NOT NULL;
    ${tenantPolicySql('adequacy_travel_time_sets')}
    ${tenantPolicySql('adequacy_travel_times')}
    GRANT SELECT, INSERT, UPDATE, DELETE ON adequacy_travel_time_sets, adequacy_travel_times TO ${app};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS adequacy_travel_times, adequacy_travel_time_sets;
    DROP INDEX IF EXISTS adequacy_jobs_expiry;
    ALTER TABLE adequacy_jobs DROP COLUMN IF EXISTS expires_at, DROP COLUMN IF EXISTS travel_time;
  `);
}
