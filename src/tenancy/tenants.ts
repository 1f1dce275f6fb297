/**
 * The tenant registry: each tenant is one health plan with its own FHIR base at /t/{tenant}/fhir.
 * Lookups are cached briefly because every request resolves its tenant.
 */
import type { Db } from '../storage/db.ts';
import { TENANT_ID_PATTERN } from '../storage/db.ts';

export interface TenantSettings {
  /** Treat validation warnings (e.g. NPI check digit) as errors. */
  strictValidation?: boolean;
  /** Require authentication for reads (private deployments). */
  requireAuthForReads?: boolean;
  /** Days audit rows are kept before the purge job removes them (default 2192, six years; see src/audit/purge.ts). */
  auditRetentionDays?: number;
}

export interface Tenant { id: string; name: string; settings: TenantSettings; createdAt: string }

export class TenantRegistry {
  readonly #db: Db;
  readonly #cache = new Map<string, { tenant: Tenant | null; at: number }>();
  readonly #ttlMs: number;
  constructor(db: Db, ttlMs = 5_000) { this.#db = db; this.#ttlMs = ttlMs; }

  async get(id: string): Promise<Tenant | null> {
    if (!TENANT_ID_PATTERN.test(id)) return null;
    const hit = this.#cache.get(id);
    if (hit && Date.now() - hit.at < this.#ttlMs) return hit.tenant;
    const { rows } = await this.#db.query('SELECT tenant_id, name, settings, created_at FROM tenants WHERE tenant_id = $1', [id]);
    const tenant = rows[0] ? toTenant(rows[0]) : null;
    this.#cache.set(id, { tenant, at: Date.now() });
    return tenant;
  }

  async list(): Promise<Tenant[]> {
    const { rows } = await this.#db.query('SELECT tenant_id, name, settings, created_at FROM tenants ORDER BY tenant_id');
    return rows.map(toTenant);
  }

  /** Creates a tenant; returns false if it already exists. */
  async create(id: string, name = id, settings: TenantSettings = {}): Promise<boolean> {
    if (!TENANT_ID_PATTERN.test(id)) {
      throw new Error(`Invalid tenant id "${id}": use 1-63 lowercase letters, digits and hyphens, starting with a letter or digit.`);
    }
    const { rowCount } = await this.#db.query(
      'INSERT INTO tenants (tenant_id, name, settings) VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO NOTHING', [id, name, JSON.stringify(settings)]);
    this.#cache.delete(id);
    return rowCount === 1;
  }

  async updateSettings(id: string, settings: TenantSettings): Promise<void> {
    await this.#db.query('UPDATE tenants SET settings = settings || $2::jsonb WHERE tenant_id = $1', [id, JSON.stringify(settings)]);
    this.#cache.delete(id);
  }
}

function toTenant(r: { tenant_id: string; name: string; settings: TenantSettings; created_at: Date }): Tenant {
  return { id: r.tenant_id, name: r.name, settings: r.settings ?? {}, createdAt: new Date(r.created_at).toISOString() };
}
