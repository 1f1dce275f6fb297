/**
 * Network adequacy over HTTP, under a tenant's FHIR base (mounted ahead of the FHIR router, like $export):
 *
 *   POST   [base]/$network-adequacy                 Parameters: network (0..*), insurance-plan, service-area (1..*:
 *                                                   "MD", "state:MD", "county:24031" or an SSA code), standards
 *                                                   ("cms-ma-2026" | "tenant"), type (0..*), map-type, as-of
 *                                                   → 202 + Content-Location (one job per report)
 *   GET    [base]/$network-adequacy-status/{job}    202 + X-Progress while it runs; 200 manifest with signed URLs
 *   DELETE [base]/$network-adequacy-status/{job}    cancel; files removed; later polls 404
 *   GET    [base]/$network-adequacy-file/{job}/{file}?exp=…&sig=…   a report file (the signed URL is the credential)
 *   GET/PUT/DELETE [base]/$network-adequacy-dataset/{kind}   the tenant's criteria / enrollee uploads (CSV body)
 *   PUT/DELETE [base]/$network-adequacy-dataset/travel-times    the travel-time matrix (streamed CSV; travel-times.ts)
 *   GET    [base]/OperationDefinition/network-adequacy   what $network-adequacy accepts (public, like metadata)
 *
 * A finished report expires after ADEQUACY_RETENTION_SECONDS: its status and file URLs then answer 410 until the
 * retention job has deleted it, and 404 after.
 *
 * Who: permission adequacy:run — a staff user (roles exporter, admin) or a SMART client granted the scope
 * `system/adequacy.run` (regulators' clients). Status answers only the caller who started the job. Every call is
 * audited (action names below); downloads are recorded as the use of the signed URL.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AppServices } from '../fhir/services.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { declareRoute, type RoutePolicy } from '../auth/permissions.ts';
import { authorize } from '../auth/authorize.ts';
import { actorId, ANONYMOUS, type Identity } from '../auth/identity.ts';
import { currentContext } from '../http/request-context.ts';
import { FhirError, notFound } from '../fhir/outcome/errors.ts';
import { tenantBaseUrl } from '../fhir/routes.ts';
import { loadUrlSigner, type UrlSigner } from '../jobs/export/signed-urls.ts';
import { jobRunnerOf } from '../jobs/runner.ts';
import { cancelAdequacyJob, getAdequacyJob, insertAdequacyJob, type AdequacyFile, type AdequacyJobRow, type AdequacyParams } from './job.ts';
import { resolveServiceArea } from './run.ts';
import { DATASET_KINDS, deleteDataset, listDatasets, saveDataset, type DatasetKind } from './store.ts';
import { loadReference } from './reference.ts';
import { deleteTravelTimes, uploadTravelTimes } from './travel-times.ts';
import { ADEQUACY_PARAMETERS, networkAdequacyOperationDefinition } from './operation-definition.ts';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$/;
const ID = /^[A-Za-z0-9.-]{1,64}$/;
const URL_TTL_S = 3600;

const fhirJson = (res: Response, status: number, body: unknown) => res.status(status).type('application/fhir+json').send(JSON.stringify(body));
const info = (d: string) => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: d }] });

function note(action: string, extra: { resourceType?: string; resourceIds?: string[]; resultCount?: number } = {}): void {
  const rc = currentContext();
  if (!rc) return;
  rc.audit.action = action;
  Object.assign(rc.audit, extra);
}

const requester = (identity: Identity) => ({ kind: identity.kind, id: actorId(identity) ?? null });

/** Parameters (or a plain JSON object with the same names) → job parameters; 400 on anything off. */
export function parseAdequacyParameters(body: unknown): AdequacyParams {
  const pairs: [string, string][] = [];
  const b = (body ?? {}) as Record<string, any>;
  if (b.resourceType === 'Parameters') {
    for (const p of b.parameter ?? []) {
      const v = p.valueReference?.reference ?? p.valueString ?? p.valueCode ?? p.valueDate ?? p.valueId;
      if (typeof p.name !== 'string' || typeof v !== 'string') throw new FhirError('bad-request', `Parameter ${p.name ?? '?'} needs a valueString, valueCode, valueDate or valueReference`);
      pairs.push([p.name, v]);
    }
  } else if (b.resourceType !== undefined) {
    throw new FhirError('bad-request', 'The body must be a Parameters resource');
  }
  const all = (n: string) => pairs.filter(([k]) => k === n).flatMap(([, v]) => v.split(',').map((s) => s.trim()).filter(Boolean));
  const known = new Set(ADEQUACY_PARAMETERS.map((p) => p.name));
  for (const [k] of pairs) if (!known.has(k)) throw new FhirError('bad-request', `Unknown parameter ${k}; known: ${[...known].join(', ')}`);
  // the cardinalities the OperationDefinition declares
  for (const p of ADEQUACY_PARAMETERS) {
    const n = all(p.name!).length;
    if (n < (p.min ?? 0)) throw new FhirError('bad-request', `Parameter ${p.name} is required`);
    if (p.max === '1' && n > 1) throw new FhirError('bad-request', `Parameter ${p.name} may be given once`);
  }
  const networks = all('network').map((v) => v.replace(/^Organization\//, ''));
  const plans = all('insurance-plan').map((v) => v.replace(/^InsurancePlan\//, ''));
  if (![...networks, ...plans].every((x) => ID.test(x))) throw new FhirError('bad-request', 'network and insurance-plan must be ids or Organization/ / InsurancePlan/ references');
  if (!networks.length && plans.length !== 1) throw new FhirError('bad-request', 'Name one or more networks (network) or one insurance-plan');
  const states: string[] = [], counties: string[] = [];
  for (const v of all('service-area')) {
    const m = /^(?:(state|county):)?(.+)$/.exec(v)!;
    if (m[1] === 'county' || /^\d{5}$/.test(m[2])) counties.push(m[2]); else states.push(m[2].toUpperCase());
  }
  try { resolveServiceArea({ states, counties }); } catch (err) { throw new FhirError('bad-request', (err as Error).message); }
  const standards = all('standards')[0] ?? 'default';
  if (!['cms-ma-2026', 'tenant', 'default'].includes(standards)) throw new FhirError('bad-request', 'standards must be cms-ma-2026 or tenant');
  const ref = loadReference();
  const types = all('type');
  const mapTypes = all('map-type');
  for (const t of [...types, ...mapTypes]) if (!ref.typeByCode.has(t)) throw new FhirError('bad-request', `Unknown CMS HSD type ${t}`);
  const asOf = all('as-of')[0] ?? new Date().toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf)) throw new FhirError('bad-request', 'as-of must be a date (YYYY-MM-DD)');
  return { networks, ...(plans[0] ? { plan: plans[0] } : {}), states, counties, types, ...(mapTypes.length ? { mapTypes } : {}), asOf, standards: standards === 'cms-ma-2026' ? 'cms' : standards as 'tenant' | 'default' };
}

/**
 * A completed report's files with their download URLs (`[base]/$network-adequacy-file/{job}/{file}?exp&sig`, signed
 * over `adequacy/{file}` for URL_TTL_S), as the status manifest and the console hand them out; `expires` is when
 * the URLs stop working.
 */
export function reportFileUrls(signer: UrlSigner, tenant: string, base: string, job: Pick<AdequacyJobRow, 'id' | 'files'>): { files: (AdequacyFile & { url: string })[]; expires?: Date } {
  let expires: Date | undefined;
  const files = (job.files ?? []).map((f) => {
    const signed = signer.sign(tenant, job.id, `adequacy/${f.name}`, URL_TTL_S);
    expires = signed.expires;
    return { ...f, url: `${base}/$network-adequacy-file/${job.id}/${f.name}?${signed.query}` };
  });
  return { files, ...(expires ? { expires } : {}) };
}

export function adequacyRouter(services: AppServices): Router {
  const router = express.Router({ mergeParams: true });
  const signer = loadUrlSigner(services.config);
  const jsonBody = express.json({ limit: '1mb', type: ['application/fhir+json', 'application/json'], strict: false });
  const csvBody = express.text({ limit: '50mb', type: ['text/csv', 'text/plain'] });

  const route = (method: string, path: string, action: string, policy: RoutePolicy, fn: (tenant: Tenant, base: string, req: Request, res: Response) => Promise<void>) => {
    declareRoute({ method, path: `/t/:tenant/fhir${path}`, action, policy });
    return async (req: Request, res: Response, next: NextFunction) => {
      try {
        const tenant = res.locals.tenant as Tenant;
        const rc = currentContext();
        if (rc) rc.audit.action = action;
        authorize(rc?.identity ?? ANONYMOUS, tenant, policy);
        await fn(tenant, tenantBaseUrl(services, req, tenant.id), req, res);
      } catch (err) { next(err); }
    };
  };

  router.post('/$network-adequacy', jsonBody, route('POST', '/$network-adequacy', 'adequacy-run', 'adequacy:run', async (tenant, base, req, res) => {
    const identity = currentContext()?.identity ?? ANONYMOUS;
    const params = parseAdequacyParameters(req.body);
    const runner = jobRunnerOf(services);
    const id = await services.db.withTenant(tenant.id, (tx) => insertAdequacyJob(tx, runner, params, requester(identity)));
    note('adequacy-run', { resourceIds: [id] });
    res.setHeader('Content-Location', `${base}/$network-adequacy-status/${id}`);
    fhirJson(res, 202, info(`Network adequacy report ${id} accepted; poll the Content-Location URL for its status.`));
  }));

  router.get('/$network-adequacy-status/:id', route('GET', '/$network-adequacy-status/:id', 'adequacy-status', 'adequacy:run', async (tenant, base, req, res) => {
    const identity = currentContext()?.identity ?? ANONYMOUS;
    const id = String(req.params.id);
    note('adequacy-status', { resourceIds: [id] });
    const job = JOB_ID.test(id) ? await services.db.withTenant(tenant.id, (tx) => getAdequacyJob(tx, id), { readOnly: true }) : undefined;
    const who = requester(identity);
    if (!job || job.requesterKind !== who.kind || job.requesterId !== who.id) throw notFound(`No adequacy report ${id} of yours is known here`);
    res.setHeader('Cache-Control', 'no-store');
    if (job.status === 'cancelled') throw notFound(`Adequacy report ${id} was cancelled`);
    if (job.expiresAt && job.expiresAt.getTime() <= Date.now()) throw new FhirError('gone', `Adequacy report ${id} has expired (reports are kept ${services.config.adequacy.retentionSeconds} s after they finish); start a new one`);
    if (job.status === 'queued' || job.status === 'running') {
      res.setHeader('Retry-After', '2');
      res.setHeader('X-Progress', (job.status === 'queued' ? 'queued' : job.progress ?? 'in progress').slice(0, 99));
      res.status(202).end();
      return;
    }
    if (job.status === 'failed') { fhirJson(res, 500, job.error ?? info('failed')); return; }
    const output = reportFileUrls(signer, tenant.id, base, job).files.map((f) => ({ type: f.contentType, name: f.name, url: f.url, bytes: f.bytes }));
    note('adequacy-status', { resourceIds: [id], resultCount: output.length });
    res.status(200).type('application/json').send(JSON.stringify({ request: `${base}/$network-adequacy`, parameters: job.params, requiresAccessToken: false, travelTime: job.travelTime ?? 'not assessed', expires: job.expiresAt?.toISOString(), output, error: [] }));
  }));

  router.delete('/$network-adequacy-status/:id', route('DELETE', '/$network-adequacy-status/:id', 'adequacy-cancel', 'adequacy:run', async (tenant, _base, req, res) => {
    const identity = currentContext()?.identity ?? ANONYMOUS;
    const id = String(req.params.id);
    note('adequacy-cancel', { resourceIds: [id] });
    if (!(await cancelAdequacyJob(services, tenant.id, requester(identity), id))) throw notFound(`No adequacy report ${id} of yours is known here`);
    fhirJson(res, 202, info(`Adequacy report ${id} cancelled; its files are removed.`));
  }));

  // the signed URL is the credential (checked here), so the route itself is public
  router.get('/$network-adequacy-file/:id/:file', route('GET', '/$network-adequacy-file/:id/:file', 'adequacy-download', 'public', async (tenant, _base, req, res) => {
    const rc = currentContext();
    if (rc) rc.identity = ANONYMOUS;
    const id = String(req.params.id), name = String(req.params.file);
    note('adequacy-download', { resourceIds: [id] });
    if (!JOB_ID.test(id) || !FILE.test(name)) throw notFound('No such report file');
    const verdict = signer.verify(tenant.id, id, `adequacy/${name}`, typeof req.query.exp === 'string' ? req.query.exp : undefined, typeof req.query.sig === 'string' ? req.query.sig : undefined);
    if (verdict === 'invalid') throw new FhirError('forbidden', 'This download link is not valid (altered, or not for this file)');
    if (verdict === 'expired') throw new FhirError('forbidden', 'This download link has expired; fetch the status again for fresh links');
    const job = await services.db.withTenant(tenant.id, (tx) => getAdequacyJob(tx, id), { readOnly: true });
    const f = job?.status === 'completed' ? job.files?.find((x) => x.name === name) : undefined;
    if (!job || !f) throw notFound('No such report file');
    if (job.expiresAt && job.expiresAt.getTime() <= Date.now()) throw new FhirError('gone', `Adequacy report ${id} has expired; its files are being deleted`);
    const runner = jobRunnerOf(services);
    const stored = await runner.storage.open(`tenants/${tenant.id}/adequacy/${id}/${name}`);
    if (!stored) throw new FhirError('gone', `${name} is no longer available`);
    note('adequacy-download', { resourceIds: [id], resultCount: 1 });
    res.status(200);
    res.setHeader('Content-Type', f.contentType);
    res.setHeader('Content-Length', String(stored.size));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox");
    const { pipeline } = await import('node:stream/promises');
    await pipeline(stored.stream, res);
  }));

  const kindOf = (req: Request): DatasetKind => {
    const k = String(req.params.kind);
    if (!DATASET_KINDS.includes(k as DatasetKind)) throw notFound(`No dataset kind ${k}; kinds: ${DATASET_KINDS.join(', ')}`);
    return k as DatasetKind;
  };
  router.get('/$network-adequacy-dataset', route('GET', '/$network-adequacy-dataset', 'adequacy-dataset-list', 'adequacy:run', async (tenant, _b, _req, res) => {
    note('adequacy-dataset-list');
    res.status(200).json({ datasets: await listDatasets(services.db, tenant.id) });
  }));
  // the matrix can be hundreds of MB: streamed into the database (no body parser), one transaction
  router.put('/$network-adequacy-dataset/travel-times', route('PUT', '/$network-adequacy-dataset/travel-times', 'adequacy-dataset-upload', 'adequacy:run', async (tenant, _b, req, res) => {
    note('adequacy-dataset-upload', { resourceIds: ['travel-times'] });
    try {
      if (!req.is(['text/csv', 'text/plain'])) throw new FhirError('unsupported-media-type', 'Send the travel-time matrix as CSV (Content-Type: text/csv)');
      const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
      if (enc !== 'identity' && enc !== 'gzip') throw new FhirError('unsupported-media-type', 'Content-Encoding may be gzip or none');
      const name = typeof req.query.name === 'string' && req.query.name.trim() ? req.query.name.trim().slice(0, 200) : 'travel-time matrix';
      const set = await uploadTravelTimes(services.db, tenant.id, req, { name, by: actorId(currentContext()?.identity ?? ANONYMOUS) ?? null, gzip: enc === 'gzip' });
      fhirJson(res, 200, info(`Stored travel-time matrix "${set.name}": ${set.pairs} county × Location pairs in ${set.counties} counties. Reports assess the time standard in those counties.`));
    } catch (err) {
      // refused before the whole body arrived: answer, then close rather than read the rest
      if (!req.complete) { res.setHeader('Connection', 'close'); req.unpipe(); req.resume(); }
      throw err;
    }
  }));
  router.delete('/$network-adequacy-dataset/travel-times', route('DELETE', '/$network-adequacy-dataset/travel-times', 'adequacy-dataset-delete', 'adequacy:run', async (tenant, _b, _req, res) => {
    note('adequacy-dataset-delete', { resourceIds: ['travel-times'] });
    if (!(await deleteTravelTimes(services.db, tenant.id))) throw notFound('No travel-time matrix uploaded');
    fhirJson(res, 200, info('Removed the travel-time matrix; reports say travel time is not assessed again.'));
  }));
  router.get('/OperationDefinition/network-adequacy', route('GET', '/OperationDefinition/network-adequacy', 'operation-definition', 'public', async (_tenant, base, _req, res) => {
    fhirJson(res, 200, networkAdequacyOperationDefinition(base));
  }));
  router.put('/$network-adequacy-dataset/:kind', csvBody, route('PUT', '/$network-adequacy-dataset/:kind', 'adequacy-dataset-upload', 'adequacy:run', async (tenant, _b, req, res) => {
    const kind = kindOf(req);
    note('adequacy-dataset-upload', { resourceIds: [kind] });
    if (typeof req.body !== 'string' || !req.body.trim()) throw new FhirError('bad-request', 'Send the CSV as the body (Content-Type: text/csv)');
    const name = typeof req.query.name === 'string' && req.query.name.trim() ? req.query.name.trim().slice(0, 200) : `${kind} upload`;
    const year = typeof req.query.year === 'string' && /^\d{4}$/.test(req.query.year) ? Number(req.query.year) : null;
    if (kind === 'criteria' && year === null) throw new FhirError('bad-request', 'A criteria upload needs ?year=YYYY (every report names the criteria set and its year)');
    let label: string;
    try { label = await saveDataset(services.db, tenant.id, kind, req.body, name, year, actorId(currentContext()?.identity ?? ANONYMOUS) ?? null); } catch (err) {
      if (err instanceof FhirError) throw err;
      throw new FhirError('bad-request', `The ${kind} CSV was refused: ${(err as Error).message}`);
    }
    fhirJson(res, 200, info(`Stored ${kind} "${name}": ${label}.`));
  }));
  router.delete('/$network-adequacy-dataset/:kind', route('DELETE', '/$network-adequacy-dataset/:kind', 'adequacy-dataset-delete', 'adequacy:run', async (tenant, _b, req, res) => {
    const kind = kindOf(req);
    note('adequacy-dataset-delete', { resourceIds: [kind] });
    if (!(await deleteDataset(services.db, tenant.id, kind))) throw notFound(`No ${kind} dataset uploaded`);
    fhirJson(res, 200, info(`Removed the ${kind} dataset; reports use the CMS defaults again.`));
  }));
  return router;
}
