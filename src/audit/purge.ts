/**
 * Retention: removes a tenant's audit rows older than its retention (TenantSettings.auditRetentionDays, default six
 * years) while keeping the chain verifiable, and anchors the current head.
 *
 *  1. Verify the rows to be purged (from the previous purge checkpoint) and the rows added since the last anchor —
 *     a purge never launders an altered row into a signed checkpoint.
 *  2. In one owner transaction: insert a signed `purge` checkpoint (tenant, last purged seq, its hash), delete the rows
 *     up to it, insert a signed `anchor` at the head that was verified, and append an `audit-purge` row to the chain.
 *
 * It runs as the database owner (the service's role cannot delete audit rows) and needs the checkpoint key. The
 * boundary is a prefix of the chain: the last row before the first row that is still within retention.
 * `npm run audit:purge -- --tenant T` runs it; the job runner calls `purgeAudit`.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { TENANT_ID_PATTERN } from '../storage/db.ts';
import { signCheckpoint, type CheckpointKey } from './checkpoint-key.ts';
import { genesisHash, toAppendRow } from './record.ts';
import { loadChainState, verifySegment, type Broken, type Reader } from './verify.ts';

export const DEFAULT_RETENTION_DAYS = 2192; // six years, leap days included

export interface PurgeResult {
  tenant: string;
  retentionDays: number;
  cutoff: string;
  purged: number;
  /** The last purged row (the new purge checkpoint), if any row was purged. */
  checkpointSeq?: number;
  /** The head that was verified and anchored. */
  anchorSeq?: number;
  verified: number;
}

export class ChainBrokenError extends Error {
  readonly broken: Broken;
  constructor(tenant: string, broken: Broken) {
    super(`the audit chain of tenant ${tenant} is broken at row ${broken.seq}${broken.requestId ? ` (request ${broken.requestId})` : ''}: ${broken.reason}; nothing was purged`);
    this.broken = broken;
  }
}

export async function purgeAudit(opts: {
  /** Owner connection string (DATABASE_URL, or the embedded server's). */
  ownerUrl: string;
  tenant: string;
  key: CheckpointKey;
  /** Overrides the tenant's setting. */
  retentionDays?: number;
  now?: Date;
  dryRun?: boolean;
  requestId?: string;
}): Promise<PurgeResult> {
  const { tenant, key } = opts;
  const t0 = Date.now();
  if (!TENANT_ID_PATTERN.test(tenant)) throw new Error(`invalid tenant id ${JSON.stringify(tenant)}`);
  const client = new pg.Client({ connectionString: opts.ownerUrl });
  await client.connect();
  const read: Reader = async (sql, params) => (await client.query(sql, params)).rows;
  try {
    let days = opts.retentionDays;
    if (days === undefined) {
      const rows = await read(`SELECT settings->'auditRetentionDays' AS d FROM tenants WHERE tenant_id = $1`, [tenant]);
      const d = rows[0]?.d;
      days = typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : DEFAULT_RETENTION_DAYS;
    }
    if (!Number.isInteger(days) || days < 0) throw new Error(`retention days must be a non-negative integer, got ${days}`);
    const now = opts.now ?? new Date();
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    const result: PurgeResult = { tenant, retentionDays: days, cutoff: cutoff.toISOString(), purged: 0, verified: 0 };

    const { head, checkpoints } = await loadChainState(read, tenant);
    if (!head) return result;
    for (const cp of checkpoints) {
      if (cp.keyId !== key.id || signCheckpoint(key, cp.kind, tenant, cp.seq, cp.hash).compare(cp.signature) !== 0) {
        throw new ChainBrokenError(tenant, { seq: cp.seq, reason: `the ${cp.kind} checkpoint at ${cp.seq} does not carry a valid signature of the configured key` });
      }
    }
    const purgeCp = checkpoints.filter((c) => c.kind === 'purge').at(-1);
    const start = purgeCp ? { seq: purgeCp.seq, hash: purgeCp.hash } : { seq: 0, hash: genesisHash(tenant) };
    const anchors = checkpoints.filter((c) => c.kind === 'anchor');
    const lastAnchor = anchors.filter((a) => a.seq > start.seq && a.seq <= head.seq).at(-1);

    // The boundary: everything before the first row still within retention.
    const firstKept = await read('SELECT min(seq) AS s FROM audit_events WHERE tenant_id = $1 AND recorded_at >= $2 AND seq <= $3', [tenant, cutoff.toISOString(), head.seq]);
    const boundary = firstKept[0]?.s !== null && firstKept[0]?.s !== undefined ? Number(firstKept[0].s) - 1 : head.seq;

    // 1. Verify (start, boundary] and (max(boundary, last anchor), head].
    let boundaryHash = start.hash;
    if (boundary > start.seq) {
      const seg = await verifySegment(read, tenant, start, boundary, anchors);
      if (seg.broken) throw new ChainBrokenError(tenant, seg.broken);
      result.verified += seg.verified;
      boundaryHash = seg.last.hash;
    }
    let from = boundary > start.seq ? { seq: boundary, hash: boundaryHash } : start;
    if (lastAnchor && lastAnchor.seq > from.seq) from = { seq: lastAnchor.seq, hash: lastAnchor.hash };
    if (head.seq > from.seq) {
      const seg = await verifySegment(read, tenant, from, head.seq, anchors);
      if (seg.broken) throw new ChainBrokenError(tenant, seg.broken);
      result.verified += seg.verified;
      if (!seg.last.hash.equals(head.hash)) throw new ChainBrokenError(tenant, { seq: head.seq, reason: 'the chain head hash does not match the last row' });
    }
    if (opts.dryRun) {
      result.purged = Math.max(0, boundary - start.seq);
      return result;
    }

    // 2. Checkpoint, delete, anchor and record, atomically.
    await client.query(`BEGIN; SELECT set_config('app.tenant_id', '${tenant}', true)`);
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`audit-purge:${tenant}`]);
      if (boundary > start.seq) {
        await client.query(
          `INSERT INTO audit_checkpoints (tenant_id, kind, seq, hash, purged_rows, cutoff, key_id, signature) VALUES ($1, 'purge', $2, $3, $4, $5, $6, $7)`,
          [tenant, boundary, boundaryHash, boundary - start.seq, cutoff.toISOString(), key.id, signCheckpoint(key, 'purge', tenant, boundary, boundaryHash)]);
        const del = await client.query('DELETE FROM audit_events WHERE tenant_id = $1 AND seq <= $2', [tenant, boundary]);
        result.purged = del.rowCount ?? 0;
        result.checkpointSeq = boundary;
      }
      if (!lastAnchor || head.seq > lastAnchor.seq) {
        await client.query(
          `INSERT INTO audit_checkpoints (tenant_id, kind, seq, hash, key_id, signature) VALUES ($1, 'anchor', $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
          [tenant, head.seq, head.hash, key.id, signCheckpoint(key, 'anchor', tenant, head.seq, head.hash)]);
      }
      result.anchorSeq = head.seq;
      const row = toAppendRow({
        tenant, recordedAt: new Date(t0).toISOString(), requestId: opts.requestId ?? `job-${randomUUID()}`, actorKind: 'system', actorId: 'audit-purge',
        actorRoles: null, action: 'audit-purge', method: null, resourceType: 'AuditEvent', resourceIds: null, searchParams: null, query: null,
        status: 200, outcome: 0, durationMs: Date.now() - t0, resultCount: result.purged,
        sourceIp: null, userAgent: null, networkHash: null, inTransaction: true,
      });
      await client.query('SELECT audit_append($1, $2::jsonb)', [tenant, JSON.stringify([row])]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
    return result;
  } finally {
    await client.end();
  }
}
