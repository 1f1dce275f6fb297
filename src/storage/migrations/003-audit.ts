/**
 * The audit trail (see docs/adr/0004-audit.md): one row per request, append-only for the service's role, hash-chained
 * per tenant.
 *
 * - audit_events: the rows. `hash = sha256(prev_hash || int8send(seq) || content_hash)`, where content_hash is the
 *   SHA-256 of the row's canonical content (src/audit/record.ts); `npm run audit:verify` recomputes both.
 * - audit_chain_head: one row per tenant holding the last seq and hash. Appending locks it FOR UPDATE, and writers
 *   append as the very last statement before COMMIT, so the lock is held for one round trip.
 * - audit_checkpoints: signed (HMAC) records of (tenant, seq, hash) left by the retention job: `purge` where old rows
 *   were deleted (the chain stays verifiable from there), `anchor` at the head it verified.
 *
 * No foreign key to tenants: a request to a syntactically valid but unknown tenant is recorded under that id, and a
 * tenant's trail outlives the tenant. Row-level security keys every table on tenant_id like the rest of the schema.
 * The app role may INSERT and SELECT rows, never UPDATE or DELETE them; only the owner (the purge job) deletes.
 */
import type { Knex } from 'knex';
import { tenantPolicySql } from './policies.ts';

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`
    CREATE TABLE audit_chain_head (
      tenant_id text PRIMARY KEY,
      seq       bigint NOT NULL,
      hash      bytea NOT NULL
    );

    CREATE TABLE audit_events (
      tenant_id      text NOT NULL,
      seq            bigint NOT NULL,
      recorded_at    timestamptz NOT NULL,       -- when the request arrived
      request_id     text NOT NULL,
      actor_kind     text NOT NULL CHECK (actor_kind IN ('anonymous', 'client', 'staff', 'system')),
      actor_id       text,
      actor_roles    text[],                     -- staff roles or client scopes
      action         text NOT NULL,              -- FHIR interaction, operation or admin action
      method         text,
      resource_type  text,
      resource_ids   text[],
      search_params  text[],                     -- parameter names only
      query          text,                       -- query string with values: authenticated callers only
      status         integer NOT NULL,
      outcome        smallint NOT NULL,          -- AuditEvent.outcome: 0 success, 4 minor, 8 serious failure
      duration_ms    double precision NOT NULL,
      result_count   integer,
      source_ip      text,                       -- authenticated callers (and failed sign-in attempts) only
      user_agent     text,
      network_hash   text,                       -- anonymous callers: keyed hash of the /24 or /48, key rotates daily
      in_transaction boolean NOT NULL,           -- written in the transaction of the change it records
      prev_hash      bytea NOT NULL,
      hash           bytea NOT NULL,
      PRIMARY KEY (tenant_id, seq)
    );
    CREATE INDEX audit_events_time ON audit_events (tenant_id, recorded_at);
    CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id, seq) WHERE actor_id IS NOT NULL;
    CREATE INDEX audit_events_request ON audit_events (tenant_id, request_id);

    -- purge: rows up to seq were deleted by the retention job; the chain now starts after (seq, hash).
    -- anchor: the chain up to seq was verified and its hash signed, so even someone who rewrites rows and recomputes
    --         every later hash (the database owner) is caught at the next anchor.
    CREATE TABLE audit_checkpoints (
      tenant_id   text NOT NULL,
      kind        text NOT NULL CHECK (kind IN ('purge', 'anchor')),
      seq         bigint NOT NULL,
      hash        bytea NOT NULL,
      purged_rows bigint NOT NULL DEFAULT 0,
      cutoff      timestamptz,
      created_at  timestamptz NOT NULL DEFAULT now(),
      key_id      text NOT NULL,
      signature   bytea NOT NULL,                -- HMAC-SHA256 over (kind, tenant, seq, hash); src/audit/checkpoint-key.ts
      PRIMARY KEY (tenant_id, kind, seq)
    );

    ${tenantPolicySql('audit_chain_head')}
    ${tenantPolicySql('audit_events')}
    ${tenantPolicySql('audit_checkpoints')}

    -- The first prev_hash of a tenant's chain.
    CREATE FUNCTION audit_genesis(p_tenant text) RETURNS bytea LANGUAGE sql IMMUTABLE
      AS $f$ SELECT sha256(convert_to('plannet-audit-genesis:' || p_tenant, 'UTF8')) $f$;

    -- Appends rows (a JSON array of audit_events columns plus content_hash in hex) to the tenant's chain, in order.
    -- Runs as the caller (RLS applies); must be the last statement of its transaction, since it holds the chain head.
    CREATE FUNCTION audit_append(p_tenant text, p_rows jsonb) RETURNS bigint LANGUAGE plpgsql AS $f$
    DECLARE
      v_seq bigint; v_hash bytea; v_first bigint; v_n int;
      v_content bytea[]; v_prev bytea[]; v_hashes bytea[];
    BEGIN
      -- one pass over the JSON for the content hashes (indexing p_rows in the loop would re-read it per row)
      v_content := ARRAY(SELECT decode(x ->> 'content_hash', 'hex') FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS t(x, o) ORDER BY o);
      v_n := coalesce(array_length(v_content, 1), 0);
      IF v_n = 0 THEN RETURN NULL; END IF;
      IF current_setting('app.tenant_id', true) IS DISTINCT FROM p_tenant THEN
        RAISE EXCEPTION 'audit_append for tenant % in a transaction of tenant %', p_tenant, current_setting('app.tenant_id', true);
      END IF;
      SELECT seq, hash INTO v_seq, v_hash FROM audit_chain_head WHERE tenant_id = p_tenant FOR UPDATE;
      IF NOT FOUND THEN
        INSERT INTO audit_chain_head (tenant_id, seq, hash) VALUES (p_tenant, 0, audit_genesis(p_tenant)) ON CONFLICT (tenant_id) DO NOTHING;
        SELECT seq, hash INTO v_seq, v_hash FROM audit_chain_head WHERE tenant_id = p_tenant FOR UPDATE;
      END IF;
      v_first := v_seq + 1;
      v_prev := array_fill(NULL::bytea, ARRAY[v_n]);
      v_hashes := array_fill(NULL::bytea, ARRAY[v_n]);
      FOR i IN 1 .. v_n LOOP
        v_prev[i] := v_hash;
        v_seq := v_seq + 1;
        v_hash := sha256(v_hash || int8send(v_seq) || v_content[i]);
        v_hashes[i] := v_hash;
      END LOOP;
      INSERT INTO audit_events (tenant_id, seq, recorded_at, request_id, actor_kind, actor_id, actor_roles, action, method,
                                resource_type, resource_ids, search_params, query, status, outcome, duration_ms, result_count,
                                source_ip, user_agent, network_hash, in_transaction, prev_hash, hash)
      SELECT p_tenant, v_first + e.ord - 1, r.recorded_at, r.request_id, r.actor_kind, r.actor_id, r.actor_roles, r.action, r.method,
             r.resource_type, r.resource_ids, r.search_params, r.query, r.status, r.outcome, r.duration_ms, r.result_count,
             r.source_ip, r.user_agent, r.network_hash, r.in_transaction, v_prev[e.ord], v_hashes[e.ord]
        FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS e(doc, ord),
             LATERAL jsonb_populate_record(NULL::audit_events, e.doc) AS r;
      UPDATE audit_chain_head SET seq = v_seq, hash = v_hash WHERE tenant_id = p_tenant;
      RETURN v_seq;
    END $f$;

    -- One statement that scopes itself to the tenant and appends (for jobs and operators; the service's flushes hash
    -- in the service and insert in bulk, src/audit/store.ts, under the same head lock and chain rule).
    CREATE FUNCTION audit_append_as(p_tenant text, p_rows jsonb) RETURNS bigint LANGUAGE plpgsql AS $f$
    BEGIN
      PERFORM set_config('app.tenant_id', p_tenant, true);
      RETURN audit_append(p_tenant, p_rows);
    END $f$;

    GRANT SELECT, INSERT ON audit_events TO ${app};
    GRANT SELECT, INSERT, UPDATE ON audit_chain_head TO ${app};
    GRANT SELECT ON audit_checkpoints TO ${app};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION IF EXISTS audit_append_as(text, jsonb);
    DROP FUNCTION IF EXISTS audit_append(text, jsonb);
    DROP FUNCTION IF EXISTS audit_genesis(text);
    DROP TABLE IF EXISTS audit_checkpoints, audit_events, audit_chain_head;
  `);
}
