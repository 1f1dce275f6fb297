/**
 * Chain verification: recompute every row's content hash and chain hash from the start of the tenant's chain (its
 * genesis, or the latest signed purge checkpoint) to the chain head, and check every signed anchor on the way.
 * Reports the first broken row: altered content, a broken link, a missing row, a head that does not match.
 */
import { ROW_COLUMNS, chainHash, contentHash, fromDbRow, genesisHash, normalize } from './record.ts';
import { checkCheckpoint, type CheckpointKey, type CheckpointKind } from './checkpoint-key.ts';

/** Runs one read query (an app-role tenant transaction, or the owner's connection). */
export type Reader = (sql: string, params: unknown[]) => Promise<Record<string, any>[]>;

export interface Checkpoint { kind: CheckpointKind; seq: number; hash: Buffer; keyId: string; signature: Buffer; purgedRows: number; createdAt: string }

export interface Broken { seq: number; requestId?: string; recordedAt?: string; reason: string }

export interface VerifyResult {
  tenant: string;
  ok: boolean;
  /** Rows whose hashes were recomputed and found linked (before the break, if any). */
  verified: number;
  /** Where verification started: after this seq (0 = genesis). */
  startSeq: number;
  head?: { seq: number; hash: string };
  purgeCheckpoint?: Checkpoint;
  anchorsChecked: number;
  broken?: Broken;
}

export async function loadChainState(read: Reader, tenant: string): Promise<{ head?: { seq: number; hash: Buffer }; checkpoints: Checkpoint[] }> {
  const heads = await read('SELECT seq, hash FROM audit_chain_head WHERE tenant_id = $1', [tenant]);
  const cps = await read(
    'SELECT kind, seq, hash, key_id, signature, purged_rows, created_at FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY seq, kind', [tenant]);
  return {
    head: heads[0] ? { seq: Number(heads[0].seq), hash: heads[0].hash } : undefined,
    checkpoints: cps.map((c) => ({ kind: c.kind, seq: Number(c.seq), hash: c.hash, keyId: c.key_id, signature: c.signature, purgedRows: Number(c.purged_rows), createdAt: new Date(c.created_at).toISOString() })),
  };
}

/**
 * Verifies rows (start.seq, endSeq] starting from a trusted (seq, hash). Anchors in the range are checked when the
 * walk reaches them. Calls `onRow` for every verified row.
 */
export async function verifySegment(read: Reader, tenant: string, start: { seq: number; hash: Buffer }, endSeq: number,
  anchors: Checkpoint[] = [], pageSize = 5000): Promise<{ verified: number; last: { seq: number; hash: Buffer }; anchorsChecked: number; broken?: Broken }> {
  let prev = start;
  let verified = 0;
  let anchorsChecked = 0;
  const anchorAt = new Map(anchors.filter((a) => a.seq > start.seq && a.seq <= endSeq).map((a) => [a.seq, a]));
  while (prev.seq < endSeq) {
    const rows = await read(
      `SELECT ${ROW_COLUMNS} FROM audit_events WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT ${pageSize}`,
      [tenant, prev.seq, endSeq]);
    if (rows.length === 0) {
      return { verified, last: prev, anchorsChecked, broken: { seq: prev.seq + 1, reason: `rows ${prev.seq + 1}..${endSeq} are missing (the chain head is at ${endSeq})` } };
    }
    for (const raw of rows) {
      const row = fromDbRow(raw);
      const where = { seq: row.seq, requestId: row.record.requestId, recordedAt: row.record.recordedAt };
      if (row.seq !== prev.seq + 1) return { verified, last: prev, anchorsChecked, broken: { seq: prev.seq + 1, reason: `row ${prev.seq + 1} is missing (the next row present is ${row.seq})` } };
      if (row.record.tenant !== tenant) return { verified, last: prev, anchorsChecked, broken: { ...where, reason: 'the row names another tenant' } };
      if (!row.prevHash.equals(prev.hash)) return { verified, last: prev, anchorsChecked, broken: { ...where, reason: 'its prev_hash does not match the hash of the row before it (rows were removed, reordered or rewritten)' } };
      const expected = chainHash(prev.hash, row.seq, contentHash(normalize(row.record)));
      if (!row.hash.equals(expected)) return { verified, last: prev, anchorsChecked, broken: { ...where, reason: 'its content does not match its hash (the row was altered)' } };
      const anchor = anchorAt.get(row.seq);
      if (anchor) {
        if (!anchor.hash.equals(row.hash)) return { verified, last: prev, anchorsChecked, broken: { ...where, reason: `its hash differs from the signed anchor of ${anchor.createdAt} (the chain up to here was rewritten)` } };
        anchorsChecked++;
      }
      prev = { seq: row.seq, hash: row.hash };
      verified++;
    }
  }
  return { verified, last: prev, anchorsChecked };
}

export async function verifyChain(read: Reader, tenant: string, key: CheckpointKey | undefined): Promise<VerifyResult> {
  const { head, checkpoints } = await loadChainState(read, tenant);
  const result: VerifyResult = { tenant, ok: false, verified: 0, startSeq: 0, anchorsChecked: 0, head: head ? { seq: head.seq, hash: head.hash.toString('hex') } : undefined };
  for (const cp of checkpoints) {
    if (!key) { result.broken = { seq: cp.seq, reason: `a ${cp.kind} checkpoint exists but no checkpoint key is configured to check it (AUDIT_CHECKPOINT_KEY or DATA_DIR/audit-checkpoint.key)` }; return result; }
    if (cp.keyId !== key.id) { result.broken = { seq: cp.seq, reason: `the ${cp.kind} checkpoint at ${cp.seq} was signed with key ${cp.keyId}, not the configured key ${key.id}` }; return result; }
    if (!checkCheckpoint(key, cp.kind, tenant, cp.seq, cp.hash, cp.signature)) { result.broken = { seq: cp.seq, reason: `the signature of the ${cp.kind} checkpoint at ${cp.seq} is not valid (the checkpoint was altered)` }; return result; }
  }
  const purge = checkpoints.filter((c) => c.kind === 'purge').at(-1);
  result.purgeCheckpoint = purge;
  const start = purge ? { seq: purge.seq, hash: purge.hash } : { seq: 0, hash: genesisHash(tenant) };
  result.startSeq = start.seq;
  if (!head) {
    const any = await read('SELECT seq FROM audit_events WHERE tenant_id = $1 ORDER BY seq LIMIT 1', [tenant]);
    if (any.length > 0 || purge) { result.broken = { seq: any[0] ? Number(any[0].seq) : start.seq, reason: 'the tenant has audit rows but no chain head' }; return result; }
    result.ok = true;
    return result;
  }
  if (head.seq < start.seq) { result.broken = { seq: head.seq, reason: `the chain head (${head.seq}) is behind the purge checkpoint (${start.seq})` }; return result; }
  const anchors = checkpoints.filter((c) => c.kind === 'anchor');
  const beyond = anchors.find((a) => a.seq > head.seq);
  if (beyond) { result.broken = { seq: head.seq + 1, reason: `a signed anchor exists at ${beyond.seq} but the chain head is at ${head.seq} (rows were removed from the end)` }; return result; }
  const seg = await verifySegment(read, tenant, start, head.seq, anchors);
  result.verified = seg.verified;
  result.anchorsChecked = seg.anchorsChecked;
  if (seg.broken) { result.broken = seg.broken; return result; }
  if (!seg.last.hash.equals(head.hash)) { result.broken = { seq: head.seq, reason: 'the chain head hash does not match the last row' }; return result; }
  const extra = await read('SELECT seq FROM audit_events WHERE tenant_id = $1 AND seq <= $2 ORDER BY seq LIMIT 1', [tenant, start.seq]);
  if (extra.length > 0) { result.broken = { seq: Number(extra[0].seq), reason: `row ${extra[0].seq} lies before the purge checkpoint at ${start.seq}` }; return result; }
  result.ok = true;
  return result;
}
