/**
 * npm run reindex [-- --tenant <id>] [--batch-size N]
 * Re-extracts every stored resource's search index rows with the SearchParameters now in profiles/search-parameters/
 * (all tenants unless --tenant is given), then refreshes the planner statistics of the index tables.
 */
import pg from 'pg';
import { parse, runCli, withDatabase, UsageError } from '../../cli/common.ts';
import { TenantRegistry } from '../../tenancy/tenants.ts';
import { createSearchEngine } from '../index.ts';
import { reindexTenant } from '../reindex.ts';
import { INDEX_TABLES } from '../index/indexer.ts';

const USAGE = `Usage: npm run reindex -- [--tenant <id>] [--batch-size N] [--parameters <folder>]
  Rebuilds the search index of one tenant (or of every tenant) from the stored resources, using the
  SearchParameter definitions in profiles/search-parameters/ (or --parameters). Run it after adding or
  changing a definition; the service picks the definitions up when it restarts.`;

runCli(async () => {
  const { values } = parse(process.argv.slice(2), { tenant: { type: 'string', short: 't' }, 'batch-size': { type: 'string' }, parameters: { type: 'string' } }, USAGE);
  const batchSize = values['batch-size'] ? Number(values['batch-size']) : 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`--batch-size must be a positive integer\n\n${USAGE}`);
  await withDatabase(async ({ db }) => {
    const registry = new TenantRegistry(db);
    const tenants = values.tenant ? [values.tenant] : (await registry.list()).map((t) => t.id);
    if (values.tenant && !(await registry.get(values.tenant))) throw new Error(`Tenant "${values.tenant}" does not exist`);
    const engine = createSearchEngine(values.parameters);
    console.log(`${engine.registry.all().length} search parameters over ${engine.registry.types.length} resource types`);
    for (const tenant of tenants) {
      const t0 = Date.now();
      let last = Date.now();
      const n = await reindexTenant(db, engine.indexer, tenant, {
        batchSize,
        onProgress: (p) => { if (Date.now() - last > 2000) { last = Date.now(); process.stderr.write(`  ${tenant}: ${p.resources} resources...\n`); } },
      });
      console.log(`${tenant}: reindexed ${n} resources in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    // fresh statistics, so the planner sees the new rows (as the owner: the service role cannot ANALYZE)
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try { await owner.query(`ANALYZE ${INDEX_TABLES.join(', ')}`); } finally { await owner.end(); }
  });
});
