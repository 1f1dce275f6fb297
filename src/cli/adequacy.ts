/**
 * npm run adequacy -- --tenant <id> (--network <id> ... | --plan <id>) (--state XX ... | --county <fips|ssa> ...) --out <dir>
 *   [--type S03 ...] [--map-type 040 ...] [--as-of YYYY-MM-DD] [--no-png]
 * Runs a network-adequacy report in process against the database (DATA_DIR / DATABASE_URL, like the other CLIs)
 * and writes its files to --out; prints where they went.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, runCli, UsageError, withDatabase } from './common.ts';
import { AdequacyInputError, runAdequacy } from '../adequacy/run.ts';
import { loadTenantOverrides } from '../adequacy/store.ts';
import type { TravelTimeStatus } from '../adequacy/outputs.ts';
import type { TravelTimeSetInfo } from '../adequacy/travel-times.ts';

const USAGE = `Usage: npm run adequacy -- --tenant <id> (--network <id> | --plan <InsurancePlan id>) (--state <XX> | --county <FIPS|SSA>) --out <dir>
  [--type <CMS type> ...] [--map-type <CMS type> ...] [--as-of YYYY-MM-DD] [--no-png]`;

/** What the report says about travel time (the run's own verdict), and from which matrix. */
function travelTimeLine(status: TravelTimeStatus, matrix: TravelTimeSetInfo | undefined): string {
  const named = matrix ? `the tenant's travel-time matrix "${matrix.name}" (uploaded ${matrix.uploadedAt})` : '';
  if (status === 'assessed') return `Travel time: assessed in every county, from ${named}; a county × type passes on both time and distance.`;
  if (status === 'partly assessed') return `Travel time: partly assessed, from ${named}: counties the matrix has no rows for are not assessed (see summary.json); distances are great-circle miles.`;
  return matrix
    ? `Travel time: not assessed (${named} has no rows for these counties); distances are great-circle miles.`
    : 'Travel time: not assessed (no travel-time matrix uploaded); distances are great-circle miles.';
}

runCli(async () => {
  const { values } = parse(process.argv.slice(2), {
    tenant: { type: 'string' }, network: { type: 'string', multiple: true }, plan: { type: 'string' },
    state: { type: 'string', multiple: true }, county: { type: 'string', multiple: true }, out: { type: 'string' },
    type: { type: 'string', multiple: true }, 'map-type': { type: 'string', multiple: true }, 'as-of': { type: 'string' }, 'no-png': { type: 'boolean' },
  }, USAGE);
  if (!values.tenant || !values.out || (!values.network?.length && !values.plan) || (!values.state?.length && !values.county?.length)) throw new UsageError(USAGE);
  const asOf = values['as-of'] ?? new Date().toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf)) throw new UsageError('--as-of must be YYYY-MM-DD');
  const out = path.resolve(values.out);
  const t0 = Date.now();
  await withDatabase(async ({ db }) => {
    try {
      const overrides = await loadTenantOverrides(db, values.tenant!);
      const result = await runAdequacy(db, {
        tenant: values.tenant!, networks: values.network, plan: values.plan, states: values.state, counties: values.county,
        types: values.type, mapTypes: values['map-type'], asOf, png: !values['no-png'], ...overrides,
      }, (text) => { process.stderr.write(`${text}\n`); });
      await mkdir(out, { recursive: true });
      for (const f of result.files) await writeFile(path.join(out, f.name), f.body);
      console.log(`Network adequacy for ${result.networks.join(', ')} over ${result.serviceArea}: ${result.rows} county × type rows (${((Date.now() - t0) / 1000).toFixed(1)} s).`);
      console.log(travelTimeLine(result.travelTime, overrides.travelTimes));
      console.log(`Files written to ${out}:`);
      for (const f of result.files) console.log(`  ${path.join(out, f.name)}`);
    } catch (err) {
      if (err instanceof AdequacyInputError) throw new UsageError(err.message);
      throw err;
    }
  });
});
