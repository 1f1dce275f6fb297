/**
 * Bulk Data `$export` (system level) over the durable job runner:
 *
 *   GET|POST [base]/$export                     kick-off → 202 + Content-Location (the job row and its queue entry
 *                                               are committed before the response)
 *   GET      [base]/$export-status/{job}         202 + Retry-After + X-Progress while running; 200 manifest when done
 *   DELETE   [base]/$export-status/{job}         cancel (202); later polls 404; files removed
 *   GET      [base]/$export-file/{job}/{file}?exp=…&sig=…   a file, through a signed, expiring URL (no token)
 *
 * Who: a SMART client (the export covers the Plan-Net types its scopes may read) or a staff user with export:run.
 * Status and cancel answer only the caller who started the export (anyone else: 404).
 */
import { randomUUID } from 'node:crypto';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { AppServices, FhirContext } from '../services.ts';
import type { Tenant } from '../../tenancy/tenants.ts';
import { FhirError, notFound } from '../outcome/errors.ts';
import { actorId, ANONYMOUS, type Identity } from '../../auth/identity.ts';
import { hasPermission } from '../../auth/authorize.ts';
import { PLAN_NET_TYPES } from '../../validation/validator.ts';
import { currentContext } from '../../http/request-context.ts';
import { jobRunnerOf } from '../../jobs/runner.ts';
import { BULK_EXPORT_KIND } from '../../jobs/export/export-kind.ts';
import { cancelJob, countActive, failJob, getJob, insertJob, leaseForDownload, lockTenantKickoffs, notePoll } from '../../jobs/export/job-store.ts';
import { jobPrefix, type ExportFile, type ExportJob } from '../../jobs/export/types.ts';
import type { UrlSigner } from '../../jobs/export/signed-urls.ts';
import { pairsFromParameters, parseExportParams, parsePreferExport } from './export-params.ts';

export const FILE_NAME = /^[A-Za-z]+-\d{1,6}\.ndjson$/;
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** How long a download that has started keeps its files from the retention sweep. */
const DOWNLOAD_LEASE_S = 3600;

const fhirJson = (res: Response, status: number, body: unknown) => res.status(status).type('application/fhir+json').send(JSON.stringify(body));
const info = (diagnostics: string) => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics }] });

function note(action: string, extra: { resourceType?: string; resourceIds?: string[]; resultCount?: number } = {}): void {
  const rc = currentContext();
  if (!rc) return;
  rc.audit.action = action;
  Object.assign(rc.audit, extra);
}

/** The types this caller may export; 401 for no identity, 403 for one without export rights. */
export function exportableTypes(identity: Identity, tenant: Tenant): string[] {
  if (identity.kind === 'anonymous') {
    throw new FhirError('unauthorized', 'Bulk export needs a SMART Backend Services access token (or a staff session with export:run)', { headers: { 'WWW-Authenticate': 'Bearer' } });
  }
  if ((identity.kind === 'client' || identity.kind === 'staff') && identity.tenant !== tenant.id) throw new FhirError('forbidden', 'These credentials belong to another tenant');
  const types = PLAN_NET_TYPES.filter((t) => hasPermission(identity, tenant, 'export:run', t));
  if (types.length === 0) {
    throw new FhirError('forbidden', `Your ${identity.kind === 'client' ? 'scopes do' : 'roles do'} not grant export:run on any Plan-Net type (a client needs system/*.read, system/*.rs or per-type read scopes)`);
  }
  return types;
}

function requester(identity: Identity): { kind: string; id: string | null } {
  return { kind: identity.kind, id: actorId(identity) ?? null };
}

/** The job, if it exists and this caller started it (anyone else gets the same 404 as for no job at all). */
export function ownJob(job: ExportJob | undefined, identity: Identity, id: string): ExportJob {
  const who = requester(identity);
  if (!job || job.requesterKind !== who.kind || job.requesterId !== who.id) throw notFound(`No export ${id} of yours is known here`);
  return job;
}

export function statusUrl(base: string, id: string): string { return `${base}/$export-status/${id}`; }

export function requestUrlOf(req: Request, base: string): string {
  if (req.method === 'POST') return `${base}/$export`;
  const i = req.originalUrl.indexOf('?');
  return `${base}/$export${i < 0 ? '' : req.originalUrl.slice(i)}`;
}

export async function kickoff(services: AppServices, ctx: FhirContext, req: Request, res: Response): Promise<void> {
  const identity = currentContext()?.identity ?? ANONYMOUS;
  note('export-kickoff');
  exportableTypes(identity, ctx.tenant);
  const prefer = parsePreferExport(req.headers.prefer);
  // No `Prefer: respond-async` is taken as asking for it: this export is asynchronous only (README, Bulk export).
  const q = req.originalUrl.indexOf('?');
  const pairs: [string, string][] = q < 0 ? [] : [...new URLSearchParams(req.originalUrl.slice(q + 1))] as [string, string][];
  if (req.method === 'POST') pairs.push(...pairsFromParameters(req.body));
  const id = await startExport(services, ctx.tenant, identity, pairs, { lenient: prefer.lenient, requestUrl: requestUrlOf(req, ctx.baseUrl) });
  note('export-kickoff', { resourceIds: [id] });
  res.setHeader('Content-Location', statusUrl(ctx.baseUrl, id));
  fhirJson(res, 202, info(`Export ${id} accepted; poll the Content-Location URL for its status.`));
}

/**
 * Checks and queues an export for this caller (kick-off parameters as name/value pairs); returns the job id. The
 * job row and its queue entry are committed together. Used by the kick-off route and the staff console.
 */
export async function startExport(services: AppServices, tenant: Tenant, identity: Identity, pairs: [string, string][], opts: { lenient: boolean; requestUrl: string }): Promise<string> {
  const readable = exportableTypes(identity, tenant);
  const params = parseExportParams({ pairs, lenient: opts.lenient, readable });
  const runner = jobRunnerOf(services);
  const who = requester(identity);
  const id = randomUUID();
  const { export: cfg } = services.config;
  await services.db.withTenant(tenant.id, async (tx) => {
    // every _typeFilter query must be a valid Plan-Net search (strict: unknown parameters are errors)
    for (const [type, queries] of Object.entries(params.typeFilters ?? {})) {
      for (const query of queries) {
        if (services.search.matchingRidsQuery) services.search.matchingRidsQuery(tenant.id, type, query);
        else await services.search.findIds(tx, type, query, 1);
      }
    }
    await lockTenantKickoffs(tx);
    const active = await countActive(tx, who.id);
    const tooMany = active.requester >= cfg.maxConcurrentPerClient ? `You already have ${active.requester} exports queued or running (limit ${cfg.maxConcurrentPerClient})`
      : active.tenant >= cfg.maxConcurrentPerTenant ? `This directory already has ${active.tenant} exports queued or running (limit ${cfg.maxConcurrentPerTenant})` : undefined;
    if (tooMany) throw new FhirError('too-many-requests', `${tooMany}; retry later`, { headers: { 'Retry-After': String(Math.max(10, cfg.retryAfterSeconds * 5)) } });
    await insertJob(tx, { id, kind: 'export', requestUrl: opts.requestUrl, params, requesterKind: who.kind, requesterId: who.id, storage: runner.storage.id });
    await runner.send(BULK_EXPORT_KIND.name, { tenant: tenant.id, jobId: id }, { tx, id });
  });
  return id;
}

function fileUrl(base: string, job: ExportJob, f: ExportFile, signer: UrlSigner, ttl: number): { url: string; expires: Date } {
  const { query, expires } = signer.sign(job.tenant, job.id, f.name, ttl);
  return { url: `${base}/$export-file/${job.id}/${f.name}?${query}`, expires };
}

/** The completion manifest, with freshly signed file URLs (so every fetch of it extends the links). */
export function exportManifest(job: ExportJob, base: string, signer: UrlSigner, ttl: number): { body: object; expires: Date } {
  let expires = new Date(Date.now() + ttl * 1000);
  const entries = (kind: ExportFile['kind']) => (job.files ?? []).filter((f) => f.kind === kind).map((f) => {
    const u = fileUrl(base, job, f, signer, ttl);
    expires = u.expires;
    return { type: f.type, url: u.url, count: f.count };
  });
  const body = {
    transactionTime: job.transactionTime,
    request: job.requestUrl,
    requiresAccessToken: false,
    output: entries('output'),
    ...(job.params.since ? { deleted: entries('deleted') } : {}),
    error: entries('error'),
  };
  return { body, expires };
}

export async function status(services: AppServices, ctx: FhirContext, req: Request, res: Response, signer: UrlSigner): Promise<void> {
  const identity = currentContext()?.identity ?? ANONYMOUS;
  const id = String(req.params.id);
  note('export-status', { resourceIds: [id] });
  exportableTypes(identity, ctx.tenant);
  const { export: cfg } = services.config;
  let job: ExportJob;
  try {
    job = await services.db.withTenant(ctx.tenant.id, async (tx) => ownJob(await getJob(tx, id), identity, id), { readOnly: true });
  } catch (err) {
    if (err instanceof FhirError) throw err;
    // the poll failed, not the export: say so (the IG's `transient`), so the client polls again
    throw new FhirError('unavailable', 'The export status could not be read just now; poll again', { headers: { 'Retry-After': String(cfg.retryAfterSeconds) } });
  }
  res.setHeader('Cache-Control', 'no-store');
  if (job.status === 'queued' || job.status === 'running') {
    const retryAfter = cfg.retryAfterSeconds;
    if (job.lastPollAt) {
      const wait = retryAfter * 1000 - (Date.now() - Date.parse(job.lastPollAt));
      // a little slack for timers and clocks: a client sleeping Retry-After is never refused
      if (wait > 200) {
        throw new FhirError('too-many-requests', `Polled too soon: wait Retry-After (${retryAfter} s) between polls`, { headers: { 'Retry-After': String(Math.ceil(wait / 1000)) } });
      }
    }
    if (await failIfAbandoned(services, ctx.tenant.id, job)) return status(services, ctx, req, res, signer);
    // Held poll: answer as soon as the job ends within the hold, instead of the client learning of it up to
    // Retry-After later. The poll is noted when it is answered: Retry-After counts from the answer.
    const ended = await holdUntilEnded(services, ctx.tenant.id, identity, id, cfg.statusHoldMs, res);
    if (!ended) {
      await services.db.withTenant(ctx.tenant.id, (tx) => notePoll(tx, id));
      res.setHeader('Retry-After', String(retryAfter));
      res.setHeader('X-Progress', (job.status === 'queued' ? 'queued' : job.progress ?? 'in progress').slice(0, 99));
      res.status(202).end();
      return;
    }
    job = ended;
  }
  switch (job.status) {
    case 'queued':
    case 'running':
      return; // holdUntilEnded returns ended jobs only
    case 'completed': {
      const { body, expires } = exportManifest(job, ctx.baseUrl, signer, cfg.urlTtlSeconds);
      res.setHeader('Expires', expires.toUTCString());
      note('export-status', { resourceIds: [id], resultCount: (job.files ?? []).filter((f) => f.kind === 'output').reduce((n, f) => n + f.count, 0) });
      res.status(200).type('application/json').send(JSON.stringify(body));
      return;
    }
    case 'failed':
      fhirJson(res, 500, job.error ?? new FhirError('internal', 'The export failed').toOutcome());
      return;
    case 'expired':
      throw new FhirError('gone', `Export ${id} has expired and its files were deleted; start a new export`);
    case 'cancelled':
      throw notFound(`Export ${id} was cancelled`);
  }
}

/**
 * Waits up to `holdMs` for a queued or running export to end (checked every 50 ms, on an index lookup); returns the
 * ended job, or undefined if it is still running, the client went away, or the check failed (the caller answers 202).
 */
async function holdUntilEnded(services: AppServices, tenant: string, identity: Identity, id: string, holdMs: number, res: Response): Promise<ExportJob | undefined> {
  const deadline = Date.now() + holdMs;
  let gone = false;
  const onClose = () => { gone = true; }; // before the answer, 'close' means the client went away
  res.once('close', onClose);
  try {
    while (!gone && Date.now() + 50 <= deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const job = await services.db.withTenant(tenant, async (tx) => ownJob(await getJob(tx, id), identity, id), { readOnly: true }).catch(() => undefined);
      if (!job) return undefined;
      if (job.status !== 'queued' && job.status !== 'running') return job;
    }
    return undefined;
  } finally {
    res.off('close', onClose);
  }
}

/**
 * A queued or running job the queue has given up on (its last attempt's worker died) must not stay at 202 forever:
 * marks it failed and returns true.
 */
export async function failIfAbandoned(services: AppServices, tenant: string, job: ExportJob): Promise<boolean> {
  if (job.status !== 'queued' && job.status !== 'running') return false;
  const queueState = await jobRunnerOf(services).state(BULK_EXPORT_KIND.name, job.id).catch(() => 'unknown' as const);
  if (queueState !== undefined && queueState !== 'failed' && queueState !== 'cancelled') return false;
  await failJob(services.db, tenant, job.id, new FhirError('internal', 'The export could not be completed (its worker stopped and no retries were left); start a new export').toOutcome());
  return true;
}

export async function cancel(services: AppServices, ctx: FhirContext, req: Request, res: Response): Promise<void> {
  const identity = currentContext()?.identity ?? ANONYMOUS;
  const id = String(req.params.id);
  note('export-cancel', { resourceIds: [id] });
  await cancelExport(services, ctx.tenant, identity, id);
  fhirJson(res, 202, info(`Export ${id} cancelled; its files are removed.`));
}

/**
 * Cancels this caller's export (DELETE on its status URL, and the console's Cancel): the job row, its queue entry and
 * its files. 401/403 for a caller without export rights; 404 if it is not theirs or was already cancelled or expired.
 */
export async function cancelExport(services: AppServices, tenant: Tenant, identity: Identity, id: string): Promise<void> {
  exportableTypes(identity, tenant);
  if (!JOB_ID.test(id)) throw notFound(`No export ${id} of yours is known here`);
  const runner = jobRunnerOf(services);
  const cancelled = await services.db.withTenant(tenant.id, async (tx) => {
    const job = ownJob(await getJob(tx, id), identity, id);
    const was = await cancelJob(tx, id);
    if (!was) throw notFound(`Export ${id} was already cancelled or has expired`);
    return job;
  });
  if (cancelled.status === 'queued' || cancelled.status === 'running') await runner.cancel(BULK_EXPORT_KIND.name, id);
  // the running attempt notices within a second, stops writing and removes its own folder; this removes the rest
  await runner.storage.deletePrefix(jobPrefix(tenant.id, id)).catch(() => {});
}

/** Does the client accept gzip? (`Accept-Encoding: gzip` without q=0) */
function acceptsGzip(req: Request): boolean {
  const h = String(req.headers['accept-encoding'] ?? '');
  return h.split(',').some((part) => {
    const [coding, ...ps] = part.trim().toLowerCase().split(';').map((s) => s.trim());
    const q = ps.find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === '*') && !(q && Number(q.slice(2)) === 0);
  });
}

/** Streams a stored NDJSON file: as stored when the client takes its encoding, else (de)compressed on the way. */
export async function sendFile(services: AppServices, req: Request, res: Response, f: ExportFile, cacheControl: string): Promise<void> {
  const stored = await jobRunnerOf(services).storage.open(f.key);
  if (!stored) throw new FhirError('gone', `${f.name} is no longer available`);
  const gzip = acceptsGzip(req);
  res.status(200);
  res.setHeader('Content-Type', 'application/fhir+ndjson');
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Vary', 'Accept-Encoding');
  res.setHeader('Content-Disposition', `attachment; filename="${f.name}"`);
  if (f.gzip === gzip) {
    if (gzip) res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Length', String(stored.size));
    if (req.method === 'HEAD') { stored.stream.destroy(); res.end(); return; }
    if (stored.sendTo) await stored.sendTo(res); // decrypted off this thread (src/security/decrypt-thread.ts)
    else await pipeline(stored.stream, res);
    return;
  }
  if (gzip) res.setHeader('Content-Encoding', 'gzip');
  if (req.method === 'HEAD') { stored.stream.destroy(); res.end(); return; }
  await pipeline(stored.stream, gzip ? zlib.createGzip({ level: 1 }) : zlib.createGunzip(), res);
}

export async function download(services: AppServices, ctx: FhirContext, req: Request, res: Response, signer: UrlSigner): Promise<void> {
  const rc = currentContext();
  // The signed URL is the credential: a bearer token sent along is ignored, and the request is recorded as the
  // capability's use (so the audit row never keeps the query string, which holds the signature).
  if (rc) rc.identity = ANONYMOUS;
  const id = String(req.params.id);
  const name = String(req.params.file);
  note('export-download', { resourceIds: [id] });
  if (!JOB_ID.test(id) || !FILE_NAME.test(name)) throw notFound('No such export file');
  const exp = typeof req.query.exp === 'string' ? req.query.exp : undefined;
  const sig = typeof req.query.sig === 'string' ? req.query.sig : undefined;
  if (exp === undefined && sig === undefined) throw notFound('Export files are reached through the signed URLs of the export manifest');
  const verdict = signer.verify(ctx.tenant.id, id, name, exp, sig);
  if (verdict === 'invalid') throw new FhirError('forbidden', 'This download link is not valid (altered, or not for this file)');
  if (verdict === 'expired') throw new FhirError('forbidden', 'This download link has expired; fetch the export manifest again for fresh links');
  const file = await services.db.withTenant(ctx.tenant.id, async (tx) => {
    const job = await getJob(tx, id);
    if (!job || job.status === 'cancelled') throw notFound('No such export file');
    if (job.status === 'expired') throw new FhirError('gone', 'This export has expired and its files were deleted');
    const f = job.files?.find((x) => x.name === name && job.status === 'completed');
    if (!f) throw notFound('No such export file');
    await leaseForDownload(tx, id, DOWNLOAD_LEASE_S);
    return f;
  });
  note('export-download', { resourceIds: [id], resourceType: file.type, resultCount: file.count });
  await sendFile(services, req, res, file, 'no-store');
}

/** `[base]/Patient/$export`, `[base]/Group/{id}/$export` and other non-system levels: 4xx OperationOutcomes. */
export function otherLevel(req: Request): never {
  const type = String(req.params.type);
  if (req.params.id !== undefined) {
    if (type === 'Group') throw notFound(`Group/${req.params.id} is not known: this directory serves no Groups, so only system-level $export is supported`);
    throw new FhirError('bad-request', `$export on ${type}/${req.params.id} is not supported; use the system-level [base]/$export`, { issues: [{ severity: 'error', code: 'not-supported', diagnostics: `Instance-level $export is not supported; use [base]/$export` }] });
  }
  const why = type === 'Patient' ? 'a provider directory holds no patients' : 'only the system-level export is supported';
  throw new FhirError('bad-request', `${type}/$export is not supported: ${why}; use [base]/$export`, { issues: [{ severity: 'error', code: 'not-supported', diagnostics: `${type}/$export is not supported: ${why}; use [base]/$export` }] });
}
