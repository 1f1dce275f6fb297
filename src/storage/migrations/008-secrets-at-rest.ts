/**
 * Encryption at rest (src/security/envelope.ts): the service re-writes SAML SP private keys stored in clear before
 * this change, encrypted, on first read, so it needs UPDATE on that one column.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex, app: string): Promise<void> {
  await knex.raw(`GRANT UPDATE (private_key) ON saml_sp_keys TO ${app}`);
}

export async function down(knex: Knex, app: string): Promise<void> {
  await knex.raw(`REVOKE UPDATE (private_key) ON saml_sp_keys FROM ${app}`);
}
