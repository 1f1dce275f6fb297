/**
 * The console's Data quality and freshness section (directory:read):
 *   GET /quality               the dashboard: a figure per check and resource type, pending changes and loads
 *   GET /quality/:check.csv    every finding of a check as CSV (`?type=` narrows it), streamed through a cursor
 *   GET /quality/:check        the findings behind a figure, 50 a page (keyset on the check's sort key)
 * Every query runs in the tenant's read-only transaction (db.withTenant, RLS) and is defined in checks.ts.
 */
import Cursor from 'pg-cursor';
import type { Request, Response } from 'express';
import type { ConsoleKit } from '../kit.ts';
import type { Tenant } from '../../tenancy/tenants.ts';
import type { TenantTx } from '../../storage/db.ts';
import { FhirError } from '../../fhir/outcome/errors.ts';
import { SearchParamRegistry } from '../../search/registry/registry.ts';
import { PLAN_NET_TYPES } from '../../validation/validator.ts';
import { loadCounts } from '../loads/tracker.ts';
import { allSql, countSql, decodeKey, encodeKey, pageSql, qualityChecks, type Check } from './checks.ts';
import { checkListPage, dashboardPage, QUALITY_PATH, type CheckFigures, type ListRow } from './pages.ts';

const PAGE_SIZE = 50;
const CSV_BATCH = 500;

/** A CSV cell: quoted when needed; text a spreadsheet would run as a formula gets a leading apostrophe. */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v);
  if (/^[=+@\t\r]/.test(s) || (/^-/.test(s) && !/^-?\d+(\.\d+)?$/.test(s))) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
const csvLine = (cells: unknown[]) => cells.map(csvCell).join(',') + '\r\n';

export function mountQualityPages(kit: ConsoleKit): void {
  const { services, route, page, staffOnly } = kit;
  const registry = (services.search as { registry?: SearchParamRegistry }).registry ?? new SearchParamRegistry();

  const withChecks = <T>(tenant: Tenant, fn: (tx: TenantTx, checks: Check[], publishedAt?: Date) => Promise<T>) =>
    services.db.withTenant(tenant.id, async (tx) => {
      const pub = (await tx.query('SELECT published_at FROM bulk_publications WHERE tenant_id = $1', [tenant.id])).rows[0];
      const publishedAt = pub ? new Date(pub.published_at) : undefined;
      return fn(tx, qualityChecks(registry, publishedAt), publishedAt);
    }, { readOnly: true });

  /** The check named in the path, and the `type` filter (one of the check's types) if given. */
  const pick = (req: Request, checks: Check[]) => {
    const check = checks.find((c) => c.id === String(req.params.check));
    if (!check) throw new FhirError('not-found', `No data quality check ${String(req.params.check)}`);
    const type = typeof req.query.type === 'string' && req.query.type ? req.query.type : undefined;
    if (type && !check.types.includes(type)) throw new FhirError('bad-request', `${type} is not a type this check looks at (${check.types.join(', ')})`);
    return { check, type, types: type ? [type] : check.types };
  };

  route('get', QUALITY_PATH, 'console:quality', 'directory:read', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { figures, totals, publishedAt } = await withChecks(tenant, async (tx, checks, publishedAt) => {
      const totals: Record<string, number> = {};
      for (const r of (await tx.query(
        `SELECT resource_type, count(*)::int AS n FROM resources WHERE tenant_id = $1 AND NOT deleted AND resource_type = ANY($2::text[]) GROUP BY resource_type`,
        [tenant.id, [...PLAN_NET_TYPES]])).rows) totals[r.resource_type] = r.n;
      const figures: CheckFigures[] = [];
      for (const check of checks) {
        const rows = (await tx.query(countSql(check, tenant.id))).rows as { resource_type: string; records: number; findings: number }[];
        const by = new Map(rows.map((r) => [r.resource_type, r]));
        figures.push({
          check,
          byType: check.types.map((t) => ({ type: t, records: by.get(t)?.records ?? 0, findings: by.get(t)?.findings ?? 0 })),
          records: rows.reduce((a, r) => a + r.records, 0),
          findings: rows.reduce((a, r) => a + r.findings, 0),
        });
      }
      return { figures, totals, publishedAt };
    });
    page(res, 200, dashboardPage({
      tenant: tenant.id, title: 'Data quality and freshness', session: s, types: kit.types, figures, totals, publishedAt,
      loads: await loadCounts(services.db, tenant.id), canLoad: kit.can(s, 'directory:write'), computedAt: new Date(),
    }));
  });

  // registered before /quality/:check, which would otherwise take "x.csv" as a check name
  route('get', `${QUALITY_PATH}/:check.csv`, 'console:quality-csv', 'directory:read', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    await withChecks(tenant, async (tx, checks) => {
      const { check, type, types } = pick(req, checks);
      const q = allSql(check, tenant.id, types);
      const cursor = tx.client.query(new Cursor(q.text, q.values));
      try {
        let rows = await cursor.read(CSV_BATCH);
        res.status(200).set({
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="${tenant.id}-${check.id}${type ? `-${type}` : ''}.csv"`,
        });
        res.write(csvLine(['resource_type', 'id', 'name', 'last_updated', ...check.columns.map((c) => c.col)]));
        while (rows.length) {
          const chunk = rows.map((r) => csvLine([r.resource_type, r.id, r.name, r.last_updated, ...check.columns.map((c) => r[c.col])])).join('');
          if (!res.write(chunk)) await waitDrain(res);
          rows = await cursor.read(CSV_BATCH);
        }
      } finally { await cursor.close(); }
    });
    res.end();
  });

  route('get', `${QUALITY_PATH}/:check`, 'console:quality-list', 'directory:read', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { check, type, rows, more, after } = await withChecks(tenant, async (tx, checks) => {
      const { check, type, types } = pick(req, checks);
      const after = typeof req.query.after === 'string' && req.query.after ? decodeKey(req.query.after, check.keys.length) : undefined;
      if (req.query.after && !after) throw new FhirError('bad-request', 'The page link is not valid; start from the first page');
      const found = (await tx.query(pageSql(check, tenant.id, types, after, PAGE_SIZE + 1))).rows;
      return { check, type, after, rows: found.slice(0, PAGE_SIZE), more: found.length > PAGE_SIZE };
    });
    const base = `${kit.base(tenant)}${QUALITY_PATH}/${check.id}`;
    const href = (extra: [string, string][]) => { const p = new URLSearchParams([...(type ? [['type', type] as [string, string]] : []), ...extra]).toString(); return p ? `${base}?${p}` : base; };
    const last = rows[rows.length - 1];
    const listRows: ListRow[] = rows.map((r) => ({
      type: r.resource_type, id: r.id, name: r.name ?? undefined, lastUpdated: new Date(r.last_updated),
      cells: check.columns.map((c) => String(r[c.col] ?? '')), deleted: r.change === 'deleted',
    }));
    page(res, 200, checkListPage({
      tenant: tenant.id, title: check.title, session: s, types: kit.types, check, type, rows: listRows,
      nextHref: more && last ? href([['after', encodeKey(check.keys.map((_k, i) => last[`k${i}`]))]]) : undefined,
      firstHref: after ? href([]) : undefined,
      csvHref: `${kit.base(tenant)}${QUALITY_PATH}/${check.id}.csv${type ? `?type=${encodeURIComponent(type)}` : ''}`,
    }));
  });
}

function waitDrain(res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => { res.off('drain', ok); res.off('close', closed); if (err) reject(err); else resolve(); };
    const ok = () => done();
    const closed = () => done(new Error('client went away during the CSV download'));
    res.once('drain', ok);
    res.once('close', closed);
  });
}
