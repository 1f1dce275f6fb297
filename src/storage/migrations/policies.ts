/** SQL shared by migrations. */

/** Enable row-level security keyed on the per-transaction `app.tenant_id` setting. */
export function tenantPolicySql(table: string): string {
  return `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
    CREATE POLICY ${table}_tenant_isolation ON ${table}
      USING (tenant_id = current_setting('app.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('app.tenant_id', true));`;
}
