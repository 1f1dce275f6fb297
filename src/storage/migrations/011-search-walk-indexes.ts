/**
 * Index rows in (parameter, rid) order, for pages in rid order whose matches are too many to collect and sort: a chain
 * on a big city (`PractitionerRole?location.address-city=Los Angeles`, ~11,000 references to ~1,300 Locations) or a
 * frequent name prefix (`Practitioner?name=mar`, ~20,000 values) then walks the parameter's rows in rid order,
 * checking each against the hashed targets or the prefix, and stops after a page (see search-engine.ts planCriteria).
 * Both are index-only (INCLUDE). search_*_rid (tenant_id, rid, pid) cannot serve: its rows of every parameter and type
 * are interleaved, so a walk for one parameter reads through all the others.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE INDEX search_reference_source ON search_reference (tenant_id, pid, rid) INCLUDE (target_rid);
    CREATE INDEX search_string_source ON search_string (tenant_id, pid, rid) INCLUDE (norm);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS search_reference_source; DROP INDEX IF EXISTS search_string_source;');
}
