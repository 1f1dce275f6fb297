/**
 * npm run audit:purge -- --tenant <id> [--retention-days N] [--dry-run]
 * Removes the tenant's audit rows older than its retention (tenant setting auditRetentionDays, default 2192 days =
 * six years; --retention-days overrides) after verifying them, leaving a signed checkpoint the chain verifies from,
 * and anchors the verified head. Runs as the database owner; the job runner calls purgeAudit() directly.
 */
import { parse, runCli, withDatabase, UsageError } from './common.ts';
import { TENANT_ID_PATTERN } from '../storage/db.ts';
import { loadCheckpointKey } from '../audit/checkpoint-key.ts';
import { purgeAudit, ChainBrokenError } from '../audit/purge.ts';

const USAGE = `Usage:
  npm run audit:purge -- --tenant <id> [--retention-days <N>] [--dry-run]
      Purge audit rows older than the retention period, keeping the chain verifiable from a signed checkpoint.
Uses DATABASE_URL (the owner), or the embedded database under DATA_DIR. Checkpoints are signed with
AUDIT_CHECKPOINT_KEY, or a development key generated into DATA_DIR/audit-checkpoint.key.`;

runCli(async () => {
  const { values, positionals } = parse(process.argv.slice(2), {
    tenant: { type: 'string' }, 'retention-days': { type: 'string' }, 'dry-run': { type: 'boolean' },
  }, USAGE);
  const tenant = values.tenant;
  if (!tenant || positionals.length) throw new UsageError(USAGE);
  if (!TENANT_ID_PATTERN.test(tenant)) throw new UsageError(`"${tenant}" is not a valid tenant id\n\n${USAGE}`);
  const raw = values['retention-days'];
  if (raw !== undefined && !/^\d{1,6}$/.test(raw)) throw new UsageError(`--retention-days must be a whole number of days\n\n${USAGE}`);
  await withDatabase(async ({ db }, config) => {
    const key = loadCheckpointKey(config, { create: true })!;
    try {
      const r = await purgeAudit({ ownerUrl: db.ownerUrl, tenant, key, retentionDays: raw === undefined ? undefined : Number(raw), dryRun: values['dry-run'] });
      const what = values['dry-run'] ? 'would purge' : 'purged';
      console.log(`tenant ${tenant}: retention ${r.retentionDays} days, cutoff ${r.cutoff}; verified ${r.verified} rows`);
      if (r.checkpointSeq !== undefined) console.log(`signed purge checkpoint at row ${r.checkpointSeq} (key ${key.id})`);
      if (r.anchorSeq !== undefined) console.log(`signed anchor at row ${r.anchorSeq}`);
      console.log(`${what} ${r.purged} rows`);
    } catch (err) {
      if (err instanceof ChainBrokenError) { console.error(err.message); process.exitCode = 1; return; }
      throw err;
    }
  });
});
