/**
 * Rebuilds a tenant's search index from the stored resources, in rid order and in batches, each batch in its own
 * transaction with its rows locked (a concurrent write to the same resource waits, then indexes its own version).
 * This is how a new or changed SearchParameter file becomes searchable for data already stored.
 */
import type { Db } from '../storage/db.ts';
import type { Indexer } from '../storage/resource-store.ts';

export interface ReindexProgress { tenant: string; resources: number }

export async function reindexTenant(db: Db, indexer: Indexer, tenant: string, opts: { batchSize?: number; onProgress?: (p: ReindexProgress) => void } = {}): Promise<number> {
  const batchSize = opts.batchSize ?? 1000;
  let after = 0;
  let total = 0;
  for (;;) {
    const n = await db.withTenant(tenant, async (tx) => {
      const { rows } = await tx.query(
        `SELECT rid, content FROM resources WHERE tenant_id = $1 AND rid > $2 AND NOT deleted ORDER BY rid LIMIT $3 FOR UPDATE`,
        [tenant, after, batchSize]);
      if (rows.length === 0) return 0;
      const rids = rows.map((r) => Number(r.rid));
      await indexer.remove(tx, rids);
      await indexer.index(tx, rows.map((r) => ({ rid: Number(r.rid), resource: JSON.parse(r.content) })));
      after = rids[rids.length - 1];
      return rows.length;
    });
    if (n === 0) break;
    total += n;
    opts.onProgress?.({ tenant, resources: total });
  }
  return total;
}
