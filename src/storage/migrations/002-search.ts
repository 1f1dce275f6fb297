/**
 * Search index tables (the HAPI / Microsoft shape): one row per extracted value, keyed by the tenant, the parameter
 * (`pid`, see src/search/registry) and the resource's surrogate key `rid`. Each table has a value index for lookups
 * (ending in rid, so a single-value match comes back in rid order and a page is an index range) and a
 * (tenant_id, rid, pid) index for per-resource work (re-indexing, :missing, includes, sort keys).
 *
 * Row-level security covers every table. Two lookups need operators PostgreSQL does not mark leakproof (pg_trgm's
 * LIKE for `:contains`, cube containment for `near`), which it will not push into an index under RLS; those run in
 * SECURITY DEFINER functions that filter on the transaction's `app.tenant_id` themselves.
 */
import type { Knex } from 'knex';
import { tenantPolicySql } from './policies.ts';

const TABLES = ['search_token', 'search_string', 'search_reference', 'search_date', 'search_uri', 'search_geo'];

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`
    CREATE EXTENSION IF NOT EXISTS btree_gin;
    CREATE EXTENSION IF NOT EXISTS btree_gist;

    -- code/system of Coding, CodeableConcept, Identifier, ContactPoint, code, boolean...
    CREATE TABLE search_token (
      tenant_id text NOT NULL,
      pid       integer NOT NULL,
      rid       bigint NOT NULL,
      system    text COLLATE "C",
      code      text COLLATE "C" NOT NULL
    );
    CREATE INDEX search_token_value ON search_token (tenant_id, pid, code, rid) INCLUDE (system);
    CREATE INDEX search_token_rid ON search_token (tenant_id, rid, pid);

    -- strings: norm = lower case, accents removed (prefix search), exact = as written (:exact); trgm marks values of
    -- parameters that declare :contains, the only ones in the (costly to maintain) trigram index
    CREATE TABLE search_string (
      tenant_id text NOT NULL,
      pid       integer NOT NULL,
      rid       bigint NOT NULL,
      norm      text COLLATE "C" NOT NULL,
      exact     text NOT NULL,
      trgm      boolean NOT NULL
    );
    CREATE INDEX search_string_value ON search_string (tenant_id, pid, norm, rid);
    CREATE INDEX search_string_rid ON search_string (tenant_id, rid, pid);
    CREATE INDEX search_string_trgm ON search_string USING gin (tenant_id, pid, norm gin_trgm_ops) WHERE trgm;

    -- references: target_rid is the target's rid (rids are stable: updates and deletions keep the resources row), so
    -- chains, _has and includes join index to index without touching resources; a reference to a resource not stored
    -- (yet) or on another server gets a negative stand-in (a hash of Type/id or of the url), replaced by the rid when
    -- the target is created. A search by id is then one range of search_reference_target, in rid order.
    CREATE TABLE search_reference (
      tenant_id   text NOT NULL,
      pid         integer NOT NULL,
      rid         bigint NOT NULL,
      target_type text COLLATE "C" NOT NULL,  -- '' for references to other servers
      target_id   text COLLATE "C" NOT NULL,
      url         text,                       -- absolute url of references to other servers
      target_rid  bigint NOT NULL
    );
    CREATE INDEX search_reference_target ON search_reference (tenant_id, pid, target_rid, rid);
    CREATE INDEX search_reference_rid ON search_reference (tenant_id, rid, pid) INCLUDE (target_rid, target_type);
    CREATE INDEX search_reference_unresolved ON search_reference (tenant_id, target_rid) WHERE target_rid < 0;

    -- dates and periods as [lo, hi) ranges (open ends are ±infinity)
    CREATE TABLE search_date (
      tenant_id text NOT NULL,
      pid       integer NOT NULL,
      rid       bigint NOT NULL,
      lo        timestamptz NOT NULL,
      hi        timestamptz NOT NULL
    );
    CREATE INDEX search_date_lo ON search_date (tenant_id, pid, lo, rid) INCLUDE (hi);
    CREATE INDEX search_date_hi ON search_date (tenant_id, pid, hi, rid) INCLUDE (lo);
    CREATE INDEX search_date_rid ON search_date (tenant_id, rid, pid);

    CREATE TABLE search_uri (
      tenant_id text NOT NULL,
      pid       integer NOT NULL,
      rid       bigint NOT NULL,
      uri       text COLLATE "C" NOT NULL
    );
    CREATE INDEX search_uri_value ON search_uri (tenant_id, pid, uri, rid);
    CREATE INDEX search_uri_rid ON search_uri (tenant_id, rid, pid);

    -- positions (Location near): an earthdistance point with a GiST index
    CREATE TABLE search_geo (
      tenant_id text NOT NULL,
      pid       integer NOT NULL,
      rid       bigint NOT NULL,
      lat       double precision NOT NULL,
      lon       double precision NOT NULL,
      pt        earth NOT NULL
    );
    CREATE INDEX search_geo_pt ON search_geo USING gist (tenant_id, pid, pt);
    CREATE INDEX search_geo_rid ON search_geo (tenant_id, rid, pid);

    -- the planner's choice between walking rids and hashing a candidate set rests on these estimates: codes and
    -- targets are strongly correlated with their parameter (and tenant), which per-column statistics cannot see.
    -- (Default statistics targets: raising them to 1000 tripled planning time for little gain.)
    CREATE STATISTICS search_token_stats (mcv, ndistinct, dependencies) ON tenant_id, pid, code, system FROM search_token;
    CREATE STATISTICS search_reference_stats (mcv, ndistinct, dependencies) ON tenant_id, pid, target_rid FROM search_reference;

    -- type-level listing in rid order (the default search order: stable while resources are updated)
    CREATE INDEX resources_type_rid ON resources (tenant_id, resource_type, rid) WHERE NOT deleted;

    ${TABLES.map(tenantPolicySql).join('\n')}
    GRANT SELECT, INSERT, UPDATE, DELETE ON ${TABLES.join(', ')} TO ${app};

    -- :contains, for the current tenant only: through the trigram index for parameters that declare it, else by
    -- scanning the parameter's values
    CREATE FUNCTION search_string_contains(p_pid integer, p_pattern text, p_indexed boolean) RETURNS SETOF bigint
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000
      AS $$ BEGIN
        IF p_indexed THEN
          RETURN QUERY SELECT s.rid FROM search_string s
            WHERE s.tenant_id = current_setting('app.tenant_id', true) AND s.pid = p_pid AND s.trgm AND s.norm LIKE p_pattern;
        ELSE
          RETURN QUERY SELECT s.rid FROM search_string s
            WHERE s.tenant_id = current_setting('app.tenant_id', true) AND s.pid = p_pid AND s.norm LIKE p_pattern;
        END IF;
      END $$;
    -- near: positions within p_meters of (p_lat, p_lon), with their great-circle distance, for the current tenant
    -- only. The filter compares chord lengths (cube_distance, one C call) with the chord of p_meters: the same test
    -- as earth_distance() <= p_meters, which costs ten times more per row.
    CREATE FUNCTION search_geo_near(p_pid integer, p_lat double precision, p_lon double precision, p_meters double precision)
      RETURNS TABLE (rid bigint, distance double precision)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000
      AS $$ DECLARE
        c cube := ll_to_earth(p_lat, p_lon);  -- computed once, not per row
        r double precision := earth();
        chord double precision := 2 * earth() * sin(least(p_meters / (2 * earth()), pi() / 2));
      BEGIN
        RETURN QUERY SELECT g.rid, 2 * r * asin(least(1, cube_distance(c, g.pt) / (2 * r)))
          FROM search_geo g
         WHERE g.tenant_id = current_setting('app.tenant_id', true) AND g.pid = p_pid
           AND earth_box(c, p_meters) @> g.pt AND cube_distance(c, g.pt) <= chord;
      END $$;
    REVOKE ALL ON FUNCTION search_string_contains(integer, text, boolean) FROM PUBLIC;
    REVOKE ALL ON FUNCTION search_geo_near(integer, double precision, double precision, double precision) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION search_string_contains(integer, text, boolean) TO ${app};
    GRANT EXECUTE ON FUNCTION search_geo_near(integer, double precision, double precision, double precision) TO ${app};
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION IF EXISTS search_string_contains(integer, text, boolean);
    DROP FUNCTION IF EXISTS search_geo_near(integer, double precision, double precision, double precision);
    DROP INDEX IF EXISTS resources_type_rid;
    DROP TABLE IF EXISTS ${TABLES.join(', ')} CASCADE;
  `);
}
