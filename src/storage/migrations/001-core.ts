/**
 * Core storage: the tenant registry, current resources and their full version history.
 * Every key leads with tenant_id; every tenant table has a row-level-security policy on it.
 */
import type { Knex } from 'knex';
import { tenantPolicySql } from './policies.ts';

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE EXTENSION IF NOT EXISTS unaccent;
    CREATE EXTENSION IF NOT EXISTS cube;
    CREATE EXTENSION IF NOT EXISTS earthdistance;

    CREATE TABLE tenants (
      tenant_id   text PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
      name        text NOT NULL,
      settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at  timestamptz NOT NULL DEFAULT now()
    );

    -- The current version of every resource (deleted ones keep a tombstone row so reads answer 410).
    CREATE TABLE resources (
      tenant_id     text NOT NULL REFERENCES tenants (tenant_id),
      resource_type text NOT NULL,
      id            text NOT NULL CHECK (id ~ '^[A-Za-z0-9.-]{1,64}$'),
      rid           bigint GENERATED ALWAYS AS IDENTITY,
      version_id    integer NOT NULL,
      last_updated  timestamptz NOT NULL,
      deleted       boolean NOT NULL DEFAULT false,
      content       text,    -- the exact JSON served (jsonb would reorder keys and cost a re-serialization per read)
      PRIMARY KEY (tenant_id, resource_type, id)
    );
    CREATE UNIQUE INDEX resources_rid ON resources (tenant_id, rid);
    -- type-level crawls: _lastUpdated ranges and the default (last_updated, id) cursor order
    CREATE INDEX resources_type_updated ON resources (tenant_id, resource_type, last_updated, id) WHERE NOT deleted;

    -- Every version, the current one included, for vread and history.
    CREATE TABLE resource_history (
      tenant_id     text NOT NULL,
      resource_type text NOT NULL,
      id            text NOT NULL,
      version_id    integer NOT NULL,
      last_updated  timestamptz NOT NULL,
      deleted       boolean NOT NULL DEFAULT false,
      method        text NOT NULL,
      content       text,    -- the exact JSON served (jsonb would reorder keys and cost a re-serialization per read)
      PRIMARY KEY (tenant_id, resource_type, id, version_id)
    );
    CREATE INDEX resource_history_type_time ON resource_history (tenant_id, resource_type, last_updated DESC, id);
    CREATE INDEX resource_history_time ON resource_history (tenant_id, last_updated DESC);

    ${tenantPolicySql('resources')}
    ${tenantPolicySql('resource_history')}

    GRANT USAGE ON SCHEMA public TO ${app};
    GRANT SELECT, INSERT, UPDATE ON tenants TO ${app};
    GRANT SELECT, INSERT, UPDATE, DELETE ON resources, resource_history TO ${app};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS resource_history, resources, tenants CASCADE');
}
