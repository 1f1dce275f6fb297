/**
 * npm run audit:verify -- --tenant <id>
 * Recomputes the tenant's audit hash chain (from its genesis or its latest signed purge checkpoint, through every
 * signed anchor, to the chain head) and names the first broken row. Runs as the service's role (read-only, RLS).
 * The last line always states how many rows were verified; exit 0 when the chain is intact, 1 when it is broken.
 */
import { parse, runCli, withDatabase, UsageError } from './common.ts';
import { TENANT_ID_PATTERN } from '../storage/db.ts';
import { loadCheckpointKey } from '../audit/checkpoint-key.ts';
import { verifyChain, type Reader } from '../audit/verify.ts';

const USAGE = `Usage:
  npm run audit:verify -- --tenant <id>
      Verify the tenant's audit trail hash chain; names the first broken row (exit 1) or reports it intact (exit 0).
Uses DATABASE_URL, or the embedded database under DATA_DIR (shared with a running service). Signed checkpoints are
checked with AUDIT_CHECKPOINT_KEY, or DATA_DIR/audit-checkpoint.key.`;

runCli(async () => {
  const { values, positionals } = parse(process.argv.slice(2), { tenant: { type: 'string' } }, USAGE);
  const tenant = values.tenant;
  if (!tenant || positionals.length) throw new UsageError(USAGE);
  if (!TENANT_ID_PATTERN.test(tenant)) throw new UsageError(`"${tenant}" is not a valid tenant id\n\n${USAGE}`);
  await withDatabase(async ({ db }, config) => {
    const key = loadCheckpointKey(config);
    const read: Reader = (sql, params) => db.withTenant(tenant, async (tx) => (await tx.query(sql, params)).rows, { readOnly: true });
    const r = await verifyChain(read, tenant, key);
    const from = r.purgeCheckpoint ? `the signed purge checkpoint at row ${r.startSeq}` : 'its genesis';
    console.log(`audit chain of tenant ${tenant}: head at row ${r.head?.seq ?? 0}${r.head ? ` (hash ${r.head.hash})` : ''}; verifying from ${from}; ${r.anchorsChecked} signed anchor(s) checked`);
    if (r.ok) {
      console.log(`verified ${r.verified} rows, chain intact`);
      return;
    }
    const b = r.broken!;
    console.log(`BROKEN at row ${b.seq}${b.requestId ? ` (request ${b.requestId}, recorded ${b.recordedAt})` : ''}: ${b.reason}`);
    console.log(`verified ${r.verified} rows, chain BROKEN at row ${b.seq}`);
    process.exitCode = 1;
  });
});
