/**
 * Access control storage: SMART Backend Services clients, the assertion `jti`s seen (replay protection that survives
 * restarts and spans instances), and each tenant's token-signing keys.
 */
import type { Knex } from 'knex';
import { tenantPolicySql } from './policies.ts';

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`
    CREATE TABLE smart_clients (
      tenant_id   text NOT NULL REFERENCES tenants (tenant_id),
      client_id   text NOT NULL,
      name        text NOT NULL,
      scopes      text[] NOT NULL,
      jwks        jsonb,
      jwks_uri    text,
      created_at  timestamptz NOT NULL DEFAULT now(),
      revoked_at  timestamptz,
      PRIMARY KEY (tenant_id, client_id),
      CHECK ((jwks IS NULL) <> (jwks_uri IS NULL))
    );
    CREATE TABLE smart_assertion_jtis (
      tenant_id   text NOT NULL,
      client_id   text NOT NULL,
      jti         text NOT NULL,
      expires_at  timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, client_id, jti)
    );
    CREATE INDEX smart_assertion_jtis_expiry ON smart_assertion_jtis (tenant_id, expires_at);
    CREATE TABLE signing_keys (
      tenant_id    text NOT NULL REFERENCES tenants (tenant_id),
      kid          text NOT NULL,
      alg          text NOT NULL,
      public_jwk   jsonb NOT NULL,
      private_jwk  text NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      retired_at   timestamptz,
      PRIMARY KEY (tenant_id, kid)
    );
    ${tenantPolicySql('smart_clients')}
    ${tenantPolicySql('smart_assertion_jtis')}
    ${tenantPolicySql('signing_keys')}
    GRANT SELECT, INSERT, UPDATE ON smart_clients, signing_keys TO ${app};
    GRANT SELECT, INSERT, DELETE ON smart_assertion_jtis TO ${app};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS signing_keys, smart_assertion_jtis, smart_clients');
}
