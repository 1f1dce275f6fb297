/**
 * Staff sign-in storage: each tenant's SAML IdP configuration and generated SP keys, the outstanding AuthnRequest ids
 * (InResponseTo checks that work across instances), the assertion ids seen (replay protection until they expire), and
 * server-side staff sessions (logout and revocation take effect at once). Every table is tenant-scoped with RLS.
 */
import type { Knex } from 'knex';
import { tenantPolicySql } from './policies.ts';

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`
    CREATE TABLE saml_idp_configs (
      tenant_id            text PRIMARY KEY REFERENCES tenants (tenant_id),
      idp_entity_id        text NOT NULL,
      sso_url              text NOT NULL,
      certificates         text[] NOT NULL CHECK (cardinality(certificates) > 0),
      metadata_url         text,
      role_attribute       text NOT NULL DEFAULT 'groups',
      role_map             jsonb NOT NULL DEFAULT '{}'::jsonb,
      user_attribute       text,
      want_response_signed boolean NOT NULL DEFAULT false,
      updated_at           timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE saml_sp_keys (
      tenant_id    text NOT NULL REFERENCES tenants (tenant_id),
      purpose      text NOT NULL CHECK (purpose IN ('signing', 'encryption')),
      private_key  text NOT NULL,
      certificate  text NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, purpose)
    );
    CREATE TABLE saml_requests (
      tenant_id    text NOT NULL,
      request_id   text NOT NULL,
      return_to    text NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      expires_at   timestamptz NOT NULL,
      consumed_at  timestamptz,
      PRIMARY KEY (tenant_id, request_id)
    );
    CREATE INDEX saml_requests_expiry ON saml_requests (tenant_id, expires_at);
    CREATE TABLE saml_assertion_ids (
      tenant_id    text NOT NULL,
      issuer       text NOT NULL,
      assertion_id text NOT NULL,
      expires_at   timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, issuer, assertion_id)
    );
    CREATE INDEX saml_assertion_ids_expiry ON saml_assertion_ids (tenant_id, expires_at);
    CREATE TABLE staff_sessions (
      tenant_id           text NOT NULL REFERENCES tenants (tenant_id),
      session_id          uuid NOT NULL,
      token_hash          bytea NOT NULL,
      user_id             text NOT NULL,
      display_name        text,
      roles               text[] NOT NULL,
      csrf_token          text NOT NULL,
      idp_session_index   text,
      created_at          timestamptz NOT NULL DEFAULT now(),
      last_seen_at        timestamptz NOT NULL DEFAULT now(),
      absolute_expires_at timestamptz NOT NULL,
      ended_at            timestamptz,
      end_reason          text,
      PRIMARY KEY (tenant_id, session_id),
      UNIQUE (tenant_id, token_hash)
    );
    CREATE INDEX staff_sessions_user ON staff_sessions (tenant_id, user_id) WHERE ended_at IS NULL;
    ${tenantPolicySql('saml_idp_configs')}
    ${tenantPolicySql('saml_sp_keys')}
    ${tenantPolicySql('saml_requests')}
    ${tenantPolicySql('saml_assertion_ids')}
    ${tenantPolicySql('staff_sessions')}
    GRANT SELECT, INSERT, UPDATE, DELETE ON saml_idp_configs TO ${app};
    GRANT SELECT, INSERT ON saml_sp_keys TO ${app};
    GRANT SELECT, INSERT, UPDATE, DELETE ON saml_requests, staff_sessions TO ${app};
    GRANT SELECT, INSERT, DELETE ON saml_assertion_ids TO ${app};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS staff_sessions, saml_assertion_ids, saml_requests, saml_sp_keys, saml_idp_configs');
}
