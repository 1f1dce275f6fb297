/**
 * Console data loads (src/console/loads/): one row per load started from the console, updated as it progresses
 * (at most once a second, and a heartbeat every few seconds while it runs) and when it ends, so the history survives
 * restarts and every instance of a deployment sees every load. A `running` row whose heartbeat has stopped is shown
 * as interrupted (its server died). Rejections are kept bounded: the first ones (src/console/loads/tracker.ts) in
 * `rejections`, with the total in `rejected`.
 */
import type { Knex } from 'knex';
import { tenantPolicySql } from './policies.ts';

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`
    CREATE TABLE console_loads (
      tenant_id      text NOT NULL REFERENCES tenants (tenant_id),
      load_id        uuid NOT NULL,
      started_by     text NOT NULL,
      file_name      text NOT NULL,
      bytes          bigint NOT NULL,
      status         text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
      started_at     timestamptz NOT NULL DEFAULT now(),
      heartbeat_at   timestamptz NOT NULL DEFAULT now(),
      finished_at    timestamptz,
      processed      integer NOT NULL DEFAULT 0,
      loaded         integer NOT NULL DEFAULT 0,
      rejected       integer NOT NULL DEFAULT 0,
      warnings       integer NOT NULL DEFAULT 0,
      loaded_by_type jsonb NOT NULL DEFAULT '{}',
      rejections     jsonb NOT NULL DEFAULT '[]',
      error          text,
      PRIMARY KEY (tenant_id, load_id)
    );
    -- the Loads page (newest first) and the dashboard's last 30 days
    CREATE INDEX console_loads_recent ON console_loads (tenant_id, started_at DESC);
    ${tenantPolicySql('console_loads')}
    GRANT SELECT, INSERT, UPDATE, DELETE ON console_loads TO ${app};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS console_loads');
}
