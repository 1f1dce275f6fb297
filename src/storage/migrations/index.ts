/**
 * Knex migrations, listed explicitly (no directory scanning, so the compiled and the type-stripped runs agree).
 * Each migration is a function of the application role's name, which receives grants on what it creates.
 */
import type { Knex } from 'knex';
import * as m001 from './001-core.ts';
import * as m002 from './002-search.ts';
import * as m003 from './003-audit.ts';
import * as m004 from './004-auth.ts';
import * as m006 from './006-export.ts';
import * as m007 from './007-adequacy.ts';
import * as m005 from './005-saml-sessions.ts';
import * as m008 from './008-secrets-at-rest.ts';
import * as m009 from './009-adequacy-travel-times.ts';
import * as m010 from './010-console-loads.ts';
import * as m011 from './011-search-walk-indexes.ts';

export interface Migration { name: string; up(knex: Knex, appRole: string): Promise<void>; down(knex: Knex, appRole: string): Promise<void> }

export const MIGRATIONS: Migration[] = [
  { name: '001-core', ...m001 },
  { name: '002-search', ...m002 },
  { name: '003-audit', ...m003 },
  { name: '004-auth', ...m004 },
  { name: '006-export', ...m006 },
  { name: '007-adequacy', ...m007 },
  { name: '005-saml-sessions', ...m005 },
  { name: '008-secrets-at-rest', ...m008 },
  { name: '009-adequacy-travel-times', ...m009 },
  { name: '010-console-loads', ...m010 },
  { name: '011-search-walk-indexes', ...m011 },
];

export function migrationSource(appRole: string): Knex.MigrationSource<Migration> {
  return {
    getMigrations: async () => MIGRATIONS,
    getMigrationName: (m) => m.name,
    getMigration: async (m) => ({ up: (k: Knex) => m.up(k, appRole), down: (k: Knex) => m.down(k, appRole) }),
  };
}

