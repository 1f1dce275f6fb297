/**
 * npm run tenant -- create <id> [--name "Plan name"] [--strict-validation]
 * npm run tenant -- list
 */
import { parse, runCli, withDatabase, UsageError } from './common.ts';
import { TenantRegistry } from '../tenancy/tenants.ts';

const USAGE = `Usage:
  npm run tenant -- create <id> [--name "<display name>"] [--strict-validation]
      Create a tenant (a health plan) with its FHIR base at /t/<id>/fhir.
      <id>: 1-63 lowercase letters, digits and hyphens.
  npm run tenant -- list
      List tenants.
Uses DATABASE_URL, or the embedded database under DATA_DIR (shared with a running service).`;

runCli(async () => {
  const { values, positionals } = parse(process.argv.slice(2), { name: { type: 'string' }, 'strict-validation': { type: 'boolean' } }, USAGE);
  const [cmd, id, ...extra] = positionals;
  if (cmd === 'create') {
    if (!id || extra.length) throw new UsageError(`create needs exactly one tenant id\n\n${USAGE}`);
    await withDatabase(async ({ db }) => {
      const registry = new TenantRegistry(db);
      const created = await registry.create(id, values.name ?? id, values['strict-validation'] ? { strictValidation: true } : {});
      if (!created) { console.error(`Tenant "${id}" already exists.`); process.exitCode = 1; return; }
      console.log(`Created tenant "${id}"; its FHIR base is /t/${id}/fhir`);
    });
  } else if (cmd === 'list') {
    await withDatabase(async ({ db }) => {
      const tenants = await new TenantRegistry(db).list();
      if (tenants.length === 0) console.log('No tenants yet. Create one with: npm run tenant -- create <id>');
      for (const t of tenants) console.log(`${t.id}\t${t.name}\t${t.createdAt}${t.settings.strictValidation ? '\tstrict-validation' : ''}`);
    });
  } else {
    throw new UsageError(cmd ? `Unknown command "${cmd}"\n\n${USAGE}` : USAGE);
  }
});
