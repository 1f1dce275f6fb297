/**
 * Static bulk publish (after the Bulk Data IG's publish draft): each tenant's public directory as a static manifest
 * plus NDJSON files at stable public URLs, for crawlers such as CMS's Medicare Plan Finder.
 *
 *   GET  [base]/$bulk-publish                     the current manifest (no authentication for a public directory)
 *   GET  [base]/$bulk-publish/{set}/{file}        its files: plain URLs, immutable for the life of the set
 *   POST [base]/$bulk-publish                     publish now (export:run); 202 + Content-Location of the job
 *
 * A scheduled job publishes every public tenant (BULK_PUBLISH_CRON). Each run writes a new set and switches the
 * tenant's pointer to it in one transaction; the set it replaces stays downloadable for BULK_PUBLISH_GRACE_SECONDS
 * (so a crawler mid-way through the old manifest can finish), then the retention sweep deletes it.
 */
import type { Request, Response } from 'express';
import type { AppServices, FhirContext } from '../services.ts';
import { FhirError, notFound } from '../outcome/errors.ts';
import { ANONYMOUS, actorId } from '../../auth/identity.ts';
import { hasPermission } from '../../auth/authorize.ts';
import { currentContext } from '../../http/request-context.ts';
import { jobRunnerOf } from '../../jobs/runner.ts';
import { enqueuePublish } from '../../jobs/export/export-kind.ts';
import { currentPublication, getJob, leaseForDownload } from '../../jobs/export/job-store.ts';
import { FILE_NAME, sendFile, statusUrl } from './export.ts';

function note(action: string, extra: { resourceType?: string; resourceIds?: string[]; resultCount?: number } = {}): void {
  const rc = currentContext();
  if (rc) { rc.audit.action = action; Object.assign(rc.audit, extra); }
}

export async function publishedManifest(services: AppServices, ctx: FhirContext, _req: Request, res: Response): Promise<void> {
  note('bulk-publish-manifest');
  const job = await services.db.withTenant(ctx.tenant.id, (tx) => currentPublication(tx), { readOnly: true });
  if (!job) throw notFound('Nothing has been published for this directory yet');
  const base = `${ctx.baseUrl}/$bulk-publish`;
  const body = {
    transactionTime: job.transactionTime,
    request: base,
    requiresAccessToken: false,
    output: (job.files ?? []).filter((f) => f.kind === 'output').map((f) => ({ type: f.type, url: `${base}/${job.id}/${f.name}`, count: f.count })),
    error: [],
  };
  res.setHeader('Cache-Control', ctx.tenant.settings.requireAuthForReads ? 'private, no-store' : 'public, max-age=300');
  res.setHeader('ETag', `W/"${job.id}"`);
  if (job.transactionTime) res.setHeader('Last-Modified', new Date(job.transactionTime).toUTCString());
  note('bulk-publish-manifest', { resourceIds: [job.id], resultCount: body.output.reduce((n, o) => n + o.count, 0) });
  res.status(200).type('application/json').send(JSON.stringify(body));
}

export async function publishedFile(services: AppServices, ctx: FhirContext, req: Request, res: Response): Promise<void> {
  const id = String(req.params.id);
  const name = String(req.params.file);
  note('bulk-publish-download', { resourceIds: [id] });
  if (!FILE_NAME.test(name)) throw notFound('No such published file');
  const file = await services.db.withTenant(ctx.tenant.id, async (tx) => {
    const job = await getJob(tx, id);
    // the current set, or a replaced one still in its grace period
    const f = job && job.kind === 'publish' && job.status === 'completed' ? job.files?.find((x) => x.name === name && x.kind === 'output') : undefined;
    if (!f) throw notFound('No such published file (the set may have been replaced; fetch $bulk-publish again)');
    await leaseForDownload(tx, id, 3600);
    return f;
  });
  note('bulk-publish-download', { resourceIds: [id], resourceType: file.type, resultCount: file.count });
  await sendFile(services, req, res, file, ctx.tenant.settings.requireAuthForReads ? 'private, no-store' : 'public, max-age=86400, immutable');
}

export async function publishNow(services: AppServices, ctx: FhirContext, _req: Request, res: Response): Promise<void> {
  const identity = currentContext()?.identity ?? ANONYMOUS;
  note('bulk-publish-run');
  if (identity.kind === 'anonymous') throw new FhirError('unauthorized', 'Publishing needs export:run', { headers: { 'WWW-Authenticate': 'Bearer' } });
  if (!hasPermission(identity, ctx.tenant, 'export:run')) throw new FhirError('forbidden', 'Publishing the directory needs export:run on every type (system/*.read or a staff role with export:run)');
  const id = await enqueuePublish({ services, runner: jobRunnerOf(services) }, ctx.tenant.id, `${ctx.baseUrl}/$bulk-publish`, { kind: identity.kind, id: actorId(identity) ?? null });
  note('bulk-publish-run', { resourceIds: [id] });
  res.setHeader('Content-Location', statusUrl(ctx.baseUrl, id));
  res.status(202).type('application/fhir+json').send(JSON.stringify({
    resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: `Publication ${id} queued; GET ${ctx.baseUrl}/$bulk-publish serves it once it completes.` }],
  }));
}
