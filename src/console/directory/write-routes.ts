/**
 * The directory's write and history routes (relative to /t/{tenant}/console):
 *   GET  /directory/:type/_new              a new record's form, generated from the profile (?profile=plannet-Network)  directory:write
 *   POST /directory/:type/_new              creates it through the FHIR create interaction                             directory:write
 *   GET  /directory/:type/:id/edit          the record's form, generated from its profile                              directory:write
 *   POST /directory/:type/:id/edit          saves through the FHIR update (same validation; If-Match = the form's version)  directory:write
 *   GET  /directory/:type/:id/delete        confirmation page (what refers to the record)                              directory:write
 *   POST /directory/:type/:id/delete        deletes through the FHIR delete (If-Match = the page's version)             directory:write
 *   GET  /directory/:type/:id/history       its versions, through the FHIR history interaction                          directory:read
 *   GET  /directory/:type/:id/diff          ?from=&to=: what changed between two versions                               directory:read
 * The interactions are the API's own (src/fhir/interactions/), called in-process: the profile validation, its
 * OperationOutcome, If-Match under the row lock, the search index and the audit trail are exactly the API's.
 * `_new` cannot be a FHIR id (ids are [A-Za-z0-9.-]), so it never shadows a record.
 */
import type { Request, Response } from 'express';
import type { Tenant } from '../../tenancy/tenants.ts';
import type { FhirContext } from '../../fhir/services.ts';
import { FhirError } from '../../fhir/outcome/errors.ts';
import { create, remove, update } from '../../fhir/interactions/instance.ts';
import { historyInteraction } from '../../fhir/interactions/history.ts';
import { readVersion } from '../../storage/resource-store.ts';
import { fhirBaseUrl } from '../../auth/smart/routes.ts';
import type { ConsoleKit } from '../kit.ts';
import type { SessionView } from '../layout.ts';
import { applyForm, controlsOf, datalistsOf, fieldOfIssue, formSpec, formValues, profilesOfType, submittedRows, type Applied, type FormSpec, type Json } from './profile-form.ts';
import { deletePage, diffPage, formPage, historyPage, type VersionRow } from './templates.ts';
import { diffResources } from './diff.ts';

export interface DirectoryDisplay {
  labelOf(r: Json): string;
  fieldsOf(r: Json): [string, string][];
  /** Records that name this one: [referring type, its search parameter, title]. */
  reverse: Record<string, [string, string, string][]>;
}

const ID = /^[A-Za-z0-9.-]{1,64}$/;

export function mountDirectoryWrites(kit: ConsoleKit, display: DirectoryDisplay): void {
  const { services, route, page, staffOnly, read, search, assertType, types } = kit;
  const { labelOf } = display;

  const ctx = (req: Request, tenant: Tenant): FhirContext => ({ services, tenant, baseUrl: fhirBaseUrl(services, req, tenant.id), strict: false, preferReturn: 'minimal' });
  const params = (req: Request) => {
    const type = String(req.params.type);
    assertType(type);
    const id = req.params.id === undefined ? undefined : String(req.params.id);
    if (id !== undefined && !ID.test(id)) throw new FhirError('not-found', `No ${type} "${id}"`);
    return { type, id: id! };
  };
  const formBody = (req: Request): Record<string, string> => {
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string' && k !== '_csrf') values[k] = v.slice(0, 2000);
    return values;
  };
  const specOf = (type: string, profile: string | undefined): FormSpec => {
    const all = profilesOfType(type);
    const spec = (profile ? formSpec(profile) : undefined) ?? all.find((s) => s.profile === `plannet-${type}`) ?? all[0];
    if (!spec || spec.type !== type) throw new FhirError('not-found', `No Plan-Net profile ${profile ?? ''} for ${type}`);
    return spec;
  };
  const specOfResource = (r: Json): FormSpec => specOf(r.resourceType, services.validator.profileFor(r));
  const base = (tenant: Tenant) => kit.base(tenant);
  const recordUrl = (tenant: Tenant, type: string, id: string) => `${base(tenant)}/directory/${type}/${encodeURIComponent(id)}`;

  /** Splits the server's issues into field errors (by expression) and the rest. Only errors block; warnings do not. */
  function issuesOf(err: FhirError, spec: FormSpec, applied: Applied) {
    const errors: Record<string, string> = {};
    const formErrors: string[] = [];
    for (const i of err.issues as Json[]) {
      if (i.severity !== 'error' && i.severity !== 'fatal') continue;
      const text: string = i.diagnostics ?? i.details?.text ?? err.message;
      const field = fieldOfIssue(spec, applied, i.expression?.[0] ?? '');
      if (field && !errors[field]) errors[field] = text;
      else formErrors.push(i.expression?.[0] ? `${i.expression[0]}: ${text}` : text);
    }
    return { errors, formErrors };
  }

  function renderForm(res: Response, status: number, tenant: Tenant, s: SessionView, o: {
    type: string; mode: 'create' | 'edit'; id?: string; label: string; spec: FormSpec; version?: string;
    values: Record<string, string>; rows: Record<string, number>; errors?: Record<string, string>; formErrors?: string[]; conflict?: boolean;
  }) {
    const groups = controlsOf(o.spec, (el) => o.rows[el.key] ?? 1);
    page(res, status, formPage({
      tenant: tenant.id, title: o.mode === 'edit' ? `Edit ${o.label}` : `New ${o.spec.title}`, session: s, types,
      type: o.type, mode: o.mode, id: o.id, label: o.label, profile: o.spec.profile, profileTitle: o.spec.title, version: o.version,
      groups, values: o.values, errors: o.errors ?? {}, formErrors: o.formErrors ?? [], datalists: datalistsOf(groups, o.spec),
      notCovered: o.spec.notCovered, conflict: o.conflict,
    }));
  }

  /** A new record of a profile: its profile declared, `active` true, and any required element with a single allowed code. */
  function blank(spec: FormSpec): Json {
    const r: Json = { resourceType: spec.type, meta: { profile: [spec.canonical] } };
    for (const el of spec.elements) {
      if (el.key === 'active' && el.datatype === 'boolean') r.active = true;
      if (el.min > 0 && !el.extUrl && el.options?.length === 1) {
        const o = el.options[0]!;
        const coding = { ...(o.system ? { system: o.system } : {}), code: o.code, ...(o.display ? { display: o.display } : {}) };
        const v = el.datatype === 'code' ? o.code : el.datatype === 'Coding' ? coding : { coding: [coding] };
        r[el.key] = el.array ? [v] : v;
      }
      if (el.min > 0 && !el.extUrl && el.datatype === 'code' && el.key === 'status' && el.options?.some((o) => o.code === 'active')) r.status = 'active';
    }
    return r;
  }

  // ---- create ----

  route('get', '/directory/:type/_new', 'console:create-form', 'directory:write', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { type } = params(req);
    const spec = specOf(type, typeof req.query.profile === 'string' ? req.query.profile : undefined);
    const { values, rows } = formValues(spec, blank(spec));
    renderForm(res, 200, tenant, s, { type, mode: 'create', label: spec.title, spec, values, rows });
  });

  route('post', '/directory/:type/_new', 'console:create', 'directory:write', async (req, res, tenant) => {
    // The session resolver has already checked the `_csrf` field (403 without it) and parsed the form into req.body.
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { type } = params(req);
    const values = formBody(req);
    const spec = specOf(type, values.profile);
    const applied = applyForm(spec, blank(spec), values);
    let created: string | undefined;
    try {
      const r = await create(ctx(req, tenant), type, applied.resource);
      created = /\/([A-Za-z0-9.-]{1,64})\/_history\//.exec(r.headers.Location ?? '')?.[1];
    } catch (err) {
      if (!(err instanceof FhirError) || err.status >= 500) throw err;
      const { errors, formErrors } = issuesOf(err, spec, applied);
      return renderForm(res, 422, tenant, s, { type, mode: 'create', label: spec.title, spec, values, rows: submittedRows(spec, values), errors, formErrors });
    }
    res.redirect(303, created ? `${recordUrl(tenant, type, created)}?created=1` : `${base(tenant)}/directory/${type}`);
  });

  // ---- edit ----

  route('get', '/directory/:type/:id/edit', 'console:edit-form', 'directory:write', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { type, id } = params(req);
    const v = await read(tenant, type, id);
    const r: Json = JSON.parse(v.json!);
    const spec = specOfResource(r);
    const { values, rows } = formValues(spec, r);
    renderForm(res, 200, tenant, s, { type, mode: 'edit', id, label: labelOf(r), spec, version: String(v.versionId), values, rows });
  });

  route('post', '/directory/:type/:id/edit', 'console:edit', 'directory:write', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { type, id } = params(req);
    const values = formBody(req);
    const current = await read(tenant, type, id);
    const r: Json = JSON.parse(current.json!);
    const spec = specOfResource(r);
    const version = /^\d{1,9}$/.test(values.version ?? '') ? values.version! : String(current.versionId);
    const applied = applyForm(spec, r, values);
    try {
      await update(ctx(req, tenant), type, id, applied.resource, Number(version));
    } catch (err) {
      if (!(err instanceof FhirError) || err.status >= 500) throw err;
      const rows = submittedRows(spec, values);
      if (err.status === 412) return renderForm(res, 412, tenant, s, { type, mode: 'edit', id, label: labelOf(r), spec, version, values: { ...formValues(spec, r).values, ...values }, rows, conflict: true });
      const { errors, formErrors } = issuesOf(err, spec, applied);
      return renderForm(res, 422, tenant, s, { type, mode: 'edit', id, label: labelOf(r), spec, version, values: { ...formValues(spec, r).values, ...values }, rows, errors, formErrors });
    }
    res.redirect(303, `${recordUrl(tenant, type, id)}?saved=${encodeURIComponent(String(Number(version) + 1))}`);
  });

  // ---- delete ----

  async function referrers(req: Request, tenant: Tenant, type: string, id: string) {
    const out: { label: string; href: string; type: string }[] = [];
    const seen = new Set<string>();
    for (const [rtype, param] of display.reverse[type] ?? []) {
      if (!services.search.supportedParams(rtype).some((p) => p.name === param)) continue;
      const b = await search(req, tenant, rtype, [[param, `${type}/${id}`], ['_count', '50']]);
      for (const e of (b.entry ?? []) as Json[]) {
        const x = e.resource;
        if (x?.resourceType !== rtype || seen.has(`${rtype}/${x.id}`)) continue;
        seen.add(`${rtype}/${x.id}`);
        out.push({ type: rtype, label: labelOf(x), href: recordUrl(tenant, rtype, x.id) });
      }
    }
    return out;
  }

  const deleteForm = async (req: Request, res: Response, tenant: Tenant, s: SessionView, type: string, id: string, status: number, version?: string) => {
    const v = await read(tenant, type, id);
    const r: Json = JSON.parse(v.json!);
    page(res, status, deletePage({
      tenant: tenant.id, title: `Delete ${labelOf(r)}`, session: s, types, type, id, label: labelOf(r), version: version ?? String(v.versionId),
      fields: display.fieldsOf(r), referrers: await referrers(req, tenant, type, id), conflict: status === 412,
    }));
  };

  route('get', '/directory/:type/:id/delete', 'console:delete-form', 'directory:write', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { type, id } = params(req);
    await deleteForm(req, res, tenant, s, type, id, 200);
  });

  route('post', '/directory/:type/:id/delete', 'console:delete', 'directory:write', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { type, id } = params(req);
    const values = formBody(req);
    if (!/^\d{1,9}$/.test(values.version ?? '')) throw new FhirError('bad-request', 'The confirmation form names no version: open the delete page again');
    try {
      await remove(ctx(req, tenant), type, id, Number(values.version));
    } catch (err) {
      if (err instanceof FhirError && err.status === 412) return deleteForm(req, res, tenant, s, type, id, 412, values.version);
      throw err;
    }
    res.redirect(303, `${base(tenant)}/directory/${type}?deleted=${encodeURIComponent(id)}`);
  });

  // ---- history and diff ----

  route('get', '/directory/:type/:id/history', 'console:history', 'directory:read', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { type, id } = params(req);
    const bundle = JSON.parse((await historyInteraction(ctx(req, tenant), [['_count', '100']], type, id)).json!);
    const entries: Json[] = bundle.entry ?? [];
    const versions: VersionRow[] = entries.map((e) => {
      const deleted = e.request?.method === 'DELETE';
      return {
        version: String(/W\/"(\d+)"/.exec(e.response?.etag ?? '')?.[1] ?? e.resource?.meta?.versionId ?? '?'),
        when: String(e.response?.lastModified ?? e.resource?.meta?.lastUpdated ?? '').replace('T', ' ').replace(/(\.\d+)?Z$/, ''),
        change: deleted ? 'Deleted' : e.request?.method === 'POST' ? 'Created' : 'Updated',
        deleted,
      };
    });
    const latest = entries.find((e) => e.resource)?.resource;
    page(res, 200, historyPage({
      tenant: tenant.id, title: `History of ${latest ? labelOf(latest) : `${type}/${id}`}`, session: s, types, type, id,
      label: latest ? labelOf(latest) : `${type}/${id}`, versions, deleted: versions[0]?.deleted ?? false, more: (bundle.link ?? []).some((l: Json) => l.relation === 'next'),
    }));
  });

  route('get', '/directory/:type/:id/diff', 'console:diff', 'directory:read', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const { type, id } = params(req);
    const num = (k: string) => {
      const v = req.query[k];
      if (typeof v !== 'string' || !/^\d{1,9}$/.test(v)) throw new FhirError('bad-request', `Choose two versions to compare (${k} is missing or not a version number)`);
      return Number(v);
    };
    const from = num('from'), to = num('to');
    const [a, b] = await services.db.withTenant(tenant.id, async (tx) => [await readVersion(tx, type, id, from), await readVersion(tx, type, id, to)], { readOnly: true });
    const ra: Json = JSON.parse(a.json!), rb: Json = JSON.parse(b.json!);
    page(res, 200, diffPage({ tenant: tenant.id, title: `Changes to ${labelOf(rb)}`, session: s, types, type, id, label: labelOf(rb), from: String(from), to: String(to), rows: diffResources(ra, rb) }));
  });
}
