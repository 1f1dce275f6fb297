/**
 * GET [base]/AuditEvent                 search (see review.ts for the parameters), keyset-paged, newest first
 * GET [base]/AuditEvent/{seq}           one row
 * GET [base]/AuditEvent/$export-csv     every matching row as CSV, streamed (same parameters; _format=csv on the search
 *                                       is the same thing)
 * All for the `audit:read` permission only (staff with the auditor or admin role). AuditEvent is not a Plan-Net type,
 * so this router is mounted ahead of the FHIR router. Reading the trail is itself audited (actions audit-search,
 * audit-read, audit-export).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AppServices } from '../fhir/services.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import type { Identity } from '../auth/identity.ts';
import { ANONYMOUS } from '../auth/identity.ts';
import { declareRoute, type Permission } from '../auth/permissions.ts';
import { authorize } from '../auth/authorize.ts';
import { currentContext } from '../http/request-context.ts';
import { FhirError } from '../fhir/outcome/errors.ts';
import { FHIR_JSON } from '../http/negotiation.ts';
import { tenantBaseUrl, queryPairs } from '../fhir/routes.ts';
import { CSV_COLUMNS, csvLine, parseAuditQuery, readAuditRow, searchAuditRows, searchBundle, toAuditEvent } from './review.ts';

/**
 * Refuses a caller without `permission` for this tenant: anonymous → 401, wrong tenant or missing role → 403
 * (OperationOutcome either way). Delegates to the access-control rules in auth/authorize.ts.
 */
export function requirePermission(identity: Identity, permission: Permission, tenant: Tenant): void {
  if (identity.kind === 'anonymous') {
    throw new FhirError('unauthorized', `Authentication is required (${permission})`, { headers: { 'WWW-Authenticate': 'Bearer' } });
  }
  authorize(identity, tenant, permission);
}

const CSV_PAGE = 1000;

export function auditEventRouter(services: AppServices): Router {
  const router = express.Router({ mergeParams: true });
  const base = '/t/:tenant/fhir/AuditEvent';
  declareRoute({ method: 'GET', path: base, action: 'audit-search', policy: 'audit:read' });
  declareRoute({ method: 'GET', path: `${base}/$export-csv`, action: 'audit-export', policy: 'audit:read' });
  declareRoute({ method: 'GET', path: `${base}/:id`, action: 'audit-read', policy: 'audit:read' });

  const paging = { defaultCount: services.config.defaultPageSize, maxCount: services.config.maxPageSize };
  const guard = (req: Request, res: Response, action: string) => {
    const rc = currentContext();
    if (rc) { rc.audit.action = action; rc.audit.resourceType = 'AuditEvent'; }
    const tenant = res.locals.tenant as Tenant;
    requirePermission(rc?.identity ?? ANONYMOUS, 'audit:read', tenant);
    return { rc, tenant };
  };

  const exportCsv = async (req: Request, res: Response) => {
    const { rc, tenant } = guard(req, res, 'audit-export');
    const query = queryPairs(req).filter(([k]) => k !== '_format' && k !== '_count');
    const q = parseAuditQuery(tenant.id, query, paging);
    if (rc) rc.audit.searchParams = q.names;
    res.status(200).setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="audit-${tenant.id}-${new Date().toISOString().slice(0, 10)}.csv"`);
    res.setHeader('Cache-Control', 'no-store');
    res.write(`${CSV_COLUMNS.join(',')}\r\n`);
    let exported = 0;
    let cursor: number | undefined;
    for (;;) {
      const pageQuery = cursor === undefined ? q : { ...q, where: `${q.where} AND seq < $${q.params.length + 1}`, params: [...q.params, cursor] };
      const page = await searchAuditRows(services.db, tenant.id, pageQuery, CSV_PAGE);
      if (page.rows.length > 0 && !res.write(page.rows.map(csvLine).join(''))) await new Promise((r) => res.once('drain', r));
      exported += page.rows.length;
      if (page.next === undefined || res.destroyed) break;
      cursor = page.next;
    }
    if (rc) rc.audit.resultCount = exported;
    res.end();
  };

  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response, next: NextFunction) => {
    try { await fn(req, res); } catch (err) {
      if (res.headersSent) { res.destroy(); return; } // a failure mid-export: cut the download rather than end it looking complete
      next(err);
    }
  };

  router.get('/', wrap(async (req, res) => {
    const format = queryPairs(req).find(([k]) => k === '_format')?.[1];
    if (format === 'csv' || format === 'text/csv') return exportCsv(req, res);
    const { rc, tenant } = guard(req, res, 'audit-search');
    const query = queryPairs(req);
    const q = parseAuditQuery(tenant.id, query, paging);
    if (rc) rc.audit.searchParams = q.names;
    const page = await searchAuditRows(services.db, tenant.id, q);
    if (rc) rc.audit.resultCount = page.rows.length;
    res.status(200).type(FHIR_JSON).send(JSON.stringify(searchBundle(tenantBaseUrl(services, req, tenant.id), query, page)));
  }));

  router.get('/:id', wrap(async (req, res) => {
    if (req.params.id === '$export-csv') return exportCsv(req, res);
    const { rc, tenant } = guard(req, res, 'audit-read');
    const id = String(req.params.id);
    if (rc) rc.audit.resourceIds = [id];
    const row = /^\d{1,18}$/.test(id) ? await readAuditRow(services.db, tenant.id, Number(id)) : undefined;
    if (!row) throw new FhirError('not-found', `AuditEvent/${id} is not known`);
    if (rc) rc.audit.resultCount = 1;
    res.status(200).type(FHIR_JSON).send(JSON.stringify(toAuditEvent(row)));
  }));

  router.all(['/', '/:id'], (req: Request, _res: Response, next: NextFunction) =>
    next(new FhirError('method-not-allowed', `${req.method} is not allowed on AuditEvent: the audit trail is read-only`, { headers: { Allow: 'GET' } })));
  router.use((req: Request, _res: Response, next: NextFunction) => next(new FhirError('not-found', `No AuditEvent interaction at ${req.method} ${req.path}`)));
  return router;
}
