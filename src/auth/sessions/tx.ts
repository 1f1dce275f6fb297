/**
 * A tenant-scoped transaction for sign-in bookkeeping (session touches, outstanding SAML request ids, seen assertion
 * ids, generated SP keys). It is `db.withTenant` without the before-commit hooks: those attach the request's audit
 * row to transactions that change directory data, and a session touch on every authenticated request must not
 * stand in for that. Sign-ins, sign-outs and configuration changes are audited like any request (the routes note
 * their action in the request context); configuration writes go through `db.withTenant`.
 */
import { makeTenantTx, TENANT_ID_PATTERN, type Db, type TenantTx } from '../../storage/db.ts';

export async function bookkeepingTx<T>(db: Db, tenant: string, fn: (tx: TenantTx) => Promise<T>): Promise<T> {
  if (!TENANT_ID_PATTERN.test(tenant)) throw new Error(`invalid tenant id ${JSON.stringify(tenant)}`);
  const client = await db.pool.connect();
  let broken = false;
  try {
    // The tenant id matched TENANT_ID_PATTERN, so it is safe as a literal (one round trip, as in withTenant).
    await client.query(`BEGIN; SELECT set_config('app.tenant_id', '${tenant}', true)`);
    try {
      const result = await fn(makeTenantTx(tenant, client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => { broken = true; });
      throw err;
    }
  } finally {
    client.release(broken);
  }
}
