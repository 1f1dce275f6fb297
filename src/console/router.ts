/**
 * The staff console, served by the service itself at /t/{tenant}/console/ (see docs/adr/0010-console.md):
 *   GET  /                      sign-in landing page (no session) or the console home (staff session)   public
 *   GET  /static/:file          the console's own CSS and script (no CDN)                              public
 *   GET  /directory/:type       search and browse one Plan-Net type, paged by the Bundle's next links  directory:read
 *   GET  /directory/:type/:id   one record, the records it names and the records that name it          directory:read
 *   create, edit, delete, history and diff of directory records: see directory/write-routes.ts
 *   POST /sign-out              ends the server-side session (CSRF token as the `_csrf` form field)    public
 * Directory pages need a staff session; without one they send the browser to the landing page. Reads run the
 * service's own search engine in-process, inside the tenant's read-only transaction, exactly as the FHIR API does.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AppServices } from '../fhir/services.ts';
import type { Tenant } from '../tenancy/tenants.ts';
import { FhirError } from '../fhir/outcome/errors.ts';
import { StaffSessions } from '../auth/sessions/store.ts';
import { clearedSessionCookie, cookieIsSecure } from '../auth/sessions/cookies.ts';
import { SamlConfigStore } from '../auth/saml/idp-config.ts';
import { fhirBaseUrl } from '../auth/smart/routes.ts';
import { PLAN_NET_TYPES } from '../validation/validator.ts';
import { detailPage, homePage, landingPage, searchPage, type FilterField, type RefRow, type RelatedTable, type ResultRow } from './pages.ts';
import { consoleBase, errorPage, type LayoutOpts } from './layout.ts';
import { consoleKit, currentIdentity, type Json } from './kit.ts';
import { mountOperationPages } from './operations/index.ts';
import { mountAdminPages } from './admin/index.ts';
import { mountLoadPages } from './loads/index.ts';
import { mountQualityPages } from './quality/index.ts';
import { mountDirectoryWrites } from './directory/write-routes.ts';
import { profilesOfType, valueSetCodes } from './directory/profile-form.ts';

const STATIC_DIR = path.join(import.meta.dirname, 'static');
const STATIC_FILES: Record<string, string> = { 'console.css': 'text/css; charset=utf-8', 'session-timer.js': 'text/javascript; charset=utf-8', 'job-progress.js': 'text/javascript; charset=utf-8', 'loads.js': 'text/javascript; charset=utf-8' };

/** Self-hosted scripts and styles only; no inline script or style; forms post to this origin only. */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The common filters: shown for a type only when the search engine supports the parameter for it. */
const FILTERS: { name: string; label: string; hint?: string }[] = [
  { name: 'name', label: 'Name' },
  { name: 'specialty', label: 'Specialty code', hint: 'A NUCC taxonomy code, e.g. 207Q00000X' },
  { name: 'network', label: 'Network' },
  { name: 'address-city', label: 'City' },
  { name: 'address-state', label: 'State', hint: 'Two-letter code, e.g. CT' },
  { name: 'address-postalcode', label: 'ZIP code' },
  // a SearchParameter of this service (profiles/search-parameters/console-search-parameters.json): Plan-Net has none
  { name: 'accepting-patients', label: 'Accepting new patients' },
];
const ACCEPTING_PATIENTS_VS = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/ValueSet/AcceptingPatientsVS';
const NEW_PATIENTS_URL = 'http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/newpatients';
const NEW_PATIENT_TYPES = new Set(['PractitionerRole', 'Location', 'HealthcareService', 'OrganizationAffiliation']);

/** Records that name this one: [type of the referring record, its search parameter, table title]. */
const REVERSE: Record<string, [string, string, string][]> = {
  Practitioner: [['PractitionerRole', 'practitioner', 'Roles of this practitioner']],
  Organization: [['PractitionerRole', 'organization', 'Practitioner roles at this organization'], ['Location', 'organization', 'Locations managed by this organization'],
    ['HealthcareService', 'organization', 'Services of this organization'], ['PractitionerRole', 'network', 'Practitioner roles in this network'],
    ['InsurancePlan', 'owned-by', 'Plans owned by this organization']],
  Location: [['PractitionerRole', 'location', 'Practitioner roles at this location'], ['HealthcareService', 'location', 'Services at this location']],
  HealthcareService: [['PractitionerRole', 'service', 'Practitioner roles providing this service']],
};

export function consoleRouter(services: AppServices): Router {
  const router = express.Router({ mergeParams: true });
  const kit = consoleKit(services, router);
  const { sessions, types, route, page, staffOnly, sessionView, read, search, assertType } = kit;
  const idpConfigs = new SamlConfigStore(services.db);
  const supported = (type: string) => new Set(services.search.supportedParams(type).map((p) => p.name));

  router.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': CONSOLE_CSP, 'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin' });
    next();
  });

  route('get', '/', 'console:home', 'public', async (req, res, tenant) => {
    const s = sessionView(req);
    if (s) return page(res, 200, homePage({ tenant: tenant.id, title: 'Home', session: s, types }));
    const configured = sessions ? !!(await idpConfigs.get(tenant.id)) : false;
    page(res, 200, landingPage(tenant.id, { configured, sessionsEnabled: !!sessions, signedOut: req.query['signed-out'] === '1', ended: req.query.ended === '1' }));
  });

  route('get', '/static/:file', 'console:static', 'public', async (req, res) => {
    const file = String(req.params.file);
    const type = Object.hasOwn(STATIC_FILES, file) ? STATIC_FILES[file] : undefined;
    if (!type) throw new FhirError('not-found', `No console file ${file}`);
    res.set({ 'Cache-Control': 'public, max-age=300' }).type(type).send(await fs.promises.readFile(path.join(STATIC_DIR, file)));
  });

  route('post', '/sign-out', 'console:sign-out', 'public', async (req, res, tenant) => {
    // The session resolver has already checked the `_csrf` field against the session (403 without it).
    const id = currentIdentity();
    if (id.kind === 'staff' && sessions) await sessions.end(tenant.id, id.sessionId, 'logout');
    res.setHeader('Set-Cookie', clearedSessionCookie(tenant.id, cookieIsSecure(req, services.config)));
    res.redirect(303, `${consoleBase(tenant.id)}/?signed-out=1`);
  });

  route('get', '/directory/:type', 'console:search', 'directory:read', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const type = String(req.params.type);
    assertType(type);
    const base = consoleBase(tenant.id);
    const params = supported(type);
    const q = req.query as Record<string, unknown>;
    const val = (k: string) => (typeof q[k] === 'string' ? (q[k] as string).trim().slice(0, 200) : '');
    const filters: FilterField[] = [];
    for (const f of FILTERS) {
      if (!params.has(f.name)) continue;
      if (f.name === 'network') filters.push({ ...f, kind: 'select', value: val(f.name), options: await networkOptions(req, tenant) });
      else if (f.name === 'accepting-patients') filters.push({ ...f, kind: 'select', value: val(f.name), options: (valueSetCodes(ACCEPTING_PATIENTS_VS) ?? []).map((c) => ({ value: c.code, label: c.display ?? c.code })) });
      else filters.push({ ...f, kind: 'text', value: val(f.name) });
    }
    const query: [string, string][] = filters.filter((f) => f.value).map((f) => [f.name, f.name === 'network' ? `Organization/${f.value}` : f.value]);
    const cursor = val('_cursor');
    const filterPairs = filters.filter((f) => f.value).map((f) => [f.name, f.value] as [string, string]);
    const href = (extra: [string, string][]) => `${base}/directory/${type}` + (filterPairs.length + extra.length ? `?${new URLSearchParams([...filterPairs, ...extra])}` : '');
    const notes: string[] = [];
    if (NEW_PATIENT_TYPES.has(type) && !params.has('accepting-patients')) notes.push('Whether each record accepts new patients is shown in the results; this server has no search parameter for it.');
    const deleted = /^[A-Za-z0-9.-]{1,64}$/.test(val('deleted')) ? val('deleted') : undefined;
    const createLinks = kit.can(s, 'directory:write') ? profilesOfType(type).map((p) => ({ href: `${base}/directory/${type}/_new${p.profile === `plannet-${type}` ? '' : `?profile=${p.profile}`}`, label: `New ${p.profile === `plannet-${type}` ? type : p.profile.replace(/^plannet-/, '')}` })) : [];
    let bundle: Json = { entry: [] };
    let error: string | undefined;
    try {
      bundle = await search(req, tenant, type, [...query, ['_total', 'accurate'], ...(cursor ? [['_cursor', cursor] as [string, string]] : [])]);
    } catch (err) {
      if (!(err instanceof FhirError) || err.status >= 500) throw err;
      error = `The search was refused: ${err.message}`;
    }
    const resources: Json[] = (bundle.entry ?? []).filter((e: Json) => e.search?.mode !== 'outcome').map((e: Json) => e.resource);
    const next = (bundle.link ?? []).find((l: Json) => l.relation === 'next')?.url as string | undefined;
    const nextCursor = next ? new URL(next).searchParams.get('_cursor') : null;
    const columns = ['Active', 'Specialty', 'City, state, ZIP', ...(NEW_PATIENT_TYPES.has(type) ? ['Accepting new patients'] : [])];
    const rows: ResultRow[] = resources.map((r) => ({
      href: `${base}/directory/${type}/${encodeURIComponent(r.id)}`, label: labelOf(r),
      cells: [r.active === false ? 'No' : r.active === true ? 'Yes' : '—', specialtyOf(r) || '—', placeOf(r) || '—', ...(NEW_PATIENT_TYPES.has(type) ? [newPatientsOf(r) || '—'] : [])],
    }));
    page(res, error ? 400 : 200, searchPage({
      tenant: tenant.id, title: `${type} search`, session: s, types, type, filters, columns, rows, total: bundle.total, error, notes, createLinks,
      deleted: deleted ? { id: deleted, historyHref: `${base}/directory/${type}/${encodeURIComponent(deleted)}/history` } : undefined,
      nextHref: nextCursor ? href([['_cursor', nextCursor]]) : undefined, firstHref: cursor ? href([]) : undefined,
    }));
  });

  const networkCache = new WeakMap<Request, { value: string; label: string }[]>();
  async function networkOptions(req: Request, tenant: Tenant) {
    const cached = networkCache.get(req);
    if (cached) return cached;
    let out: { value: string; label: string }[] = [];
    try {
      const b = await search(req, tenant, 'Organization', [['type', 'ntwk'], ['_count', '100']]);
      out = (b.entry ?? []).filter((e: Json) => e.resource?.resourceType === 'Organization').map((e: Json) => ({ value: e.resource.id, label: labelOf(e.resource) }));
    } catch { /* no network list: the select offers "Any" only */ }
    networkCache.set(req, out);
    return out;
  }

  // create, edit, delete, history, diff (registered before the detail route: `/directory/:type/_new`)
  mountDirectoryWrites(kit, { labelOf, fieldsOf, reverse: REVERSE });

  route('get', '/directory/:type/:id', 'console:read', 'directory:read', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const type = String(req.params.type);
    const id = String(req.params.id);
    assertType(type);
    if (!/^[A-Za-z0-9.-]{1,64}$/.test(id)) throw new FhirError('not-found', `No ${type} "${id}"`);
    const base = consoleBase(tenant.id);
    const v = await read(tenant, type, id);
    const r: Json = JSON.parse(v.json!);
    const labels = new Map<string, string>();
    const resolve = async (refs: string[]) => {
      for (const ref of refs.slice(0, 100)) {
        if (labels.has(ref)) continue;
        const [t, i] = ref.split('/');
        try { labels.set(ref, labelOf(JSON.parse((await read(tenant, t!, i!)).json!))); } catch { labels.set(ref, `${ref} (not found)`); }
      }
    };
    const ownRefs = referencesOf(r);
    await resolve(ownRefs.map((x) => x.ref).filter(isLocalRef));
    const refRow = (x: { path: string; ref: string; display?: string }): RefRow => isLocalRef(x.ref)
      ? { path: x.path, type: x.ref.split('/')[0]!, label: labels.get(x.ref) ?? x.ref, href: `${base}/directory/${x.ref}` }
      : { path: x.path, type: '—', label: x.display ? `${x.display} (${x.ref})` : x.ref };
    const related: RelatedTable[] = [];
    for (const [rtype, param, title] of REVERSE[type] ?? []) {
      if (!supported(rtype).has(param)) continue;
      const b = await search(req, tenant, rtype, [[param, `${type}/${id}`], ['_count', '50']]);
      const rs: Json[] = (b.entry ?? []).filter((e: Json) => e.resource?.resourceType === rtype).map((e: Json) => e.resource);
      if (param === 'network' && rs.length === 0 && !isNetwork(r)) continue;
      if (rtype === 'PractitionerRole') {
        const refs = rs.flatMap((x) => referencesOf(x).map((y) => y.ref)).filter(isLocalRef);
        await resolve(refs);
      }
      const link = (ref: Json) => (ref?.reference && isLocalRef(ref.reference) ? `${labels.get(ref.reference) ?? ref.reference}` : ref?.display ?? '');
      related.push({
        title, columns: rtype === 'PractitionerRole' ? ['Practitioner', 'Organization', 'Specialty', 'Locations', 'Networks', 'Accepting new patients'] : ['Specialty', 'City, state, ZIP'],
        rows: rs.map((x) => ({
          href: `${base}/directory/${rtype}/${encodeURIComponent(x.id)}`, label: labelOf(x),
          cells: rtype === 'PractitionerRole'
            ? [link(x.practitioner) || '—', link(x.organization) || '—', specialtyOf(x) || '—', (x.location ?? []).map(link).join('; ') || '—', networksOf(x).map((n) => labels.get(n) ?? n).join('; ') || '—', newPatientsOf(x) || '—']
            : [specialtyOf(x) || '—', placeOf(x) || '—'],
        })),
      });
    }
    page(res, 200, detailPage({
      tenant: tenant.id, title: `${type} ${labelOf(r)}`, session: s, types, type, id, label: labelOf(r), fields: fieldsOf(r),
      refs: ownRefs.map(refRow), related, versionId: r.meta?.versionId, lastUpdated: r.meta?.lastUpdated,
      editHref: kit.can(s, 'directory:write') ? `${base}/directory/${type}/${encodeURIComponent(id)}/edit` : undefined,
      deleteHref: kit.can(s, 'directory:write') ? `${base}/directory/${type}/${encodeURIComponent(id)}/delete` : undefined,
      historyHref: `${base}/directory/${type}/${encodeURIComponent(id)}/history`,
      saved: typeof req.query.saved === 'string' ? req.query.saved.slice(0, 12) : undefined, created: req.query.created === '1',
    }));
  });

  mountOperationPages(kit);
  mountAdminPages(kit);
  mountLoadPages(kit);
  mountQualityPages(kit);
  return router;
}

/**
 * Errors on console paths become HTML pages: an expired or ended session (401 from the cookie) shows the landing
 * page (other pages redirect there); anything else is a page with the status and the server's message. Mounted right after
 * the console router, so it also sees errors from tenant resolution and the session resolver before it.
 */
export function consoleErrors(services: AppServices) {
  const idpConfigs = new SamlConfigStore(services.db);
  const sessionsEnabled = services.sessions instanceof StaffSessions;
  return async (err: unknown, req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      if (res.headersSent) return next(err);
      const fe = err instanceof FhirError ? err : undefined;
      const status = fe?.status ?? 500;
      if (status >= 500) return next(err); // the shared handler logs it and answers without details
      for (const [k, v] of Object.entries(fe?.headers ?? {})) res.setHeader(k, v);
      res.set({ 'Content-Security-Policy': CONSOLE_CSP, 'Cache-Control': 'no-store' });
      const tenant = res.locals.tenant?.id as string | undefined;
      const tenantName = tenant ?? (String(req.params.tenant ?? '').replace(/[^a-z0-9-]/g, '').slice(0, 64) || 'unknown');
      if (status === 401 && tenant && !req.headers.authorization && fe?.headers['Set-Cookie']) {
        // an expired or ended session cookie (the resolver clears it): the landing page says so, other pages go there
        if (req.method === 'GET' && /^\/?$/.test(req.path)) {
          res.status(200).type('html').send(landingPage(tenant, { configured: !!(await idpConfigs.get(tenant)), sessionsEnabled, ended: true }));
          return;
        }
        return res.redirect(303, `${consoleBase(tenant)}/?ended=1`);
      }
      const heading = status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : status === 401 ? 'Not signed in' : 'Request refused';
      const o: LayoutOpts = { tenant: tenantName, title: heading };
      res.status(status).type('html').send(errorPage(o, heading, fe?.message ?? 'The request was refused.'));
    } catch (e) { next(e); }
  };
}

// ---- reading resources for display ----

const isLocalRef = (ref: string) => /^[A-Z][A-Za-z]+\/[A-Za-z0-9.-]{1,64}$/.test(ref) && PLAN_NET_TYPES.includes(ref.split('/')[0] as never);

function isNetwork(r: Json): boolean {
  return (r.type ?? []).some((t: Json) => (t.coding ?? []).some((c: Json) => c.code === 'ntwk'));
}

function humanName(n: Json): string {
  if (!n) return '';
  if (n.text) return n.text;
  return [...(n.prefix ?? []), ...(n.given ?? []), n.family, ...(n.suffix ?? [])].filter(Boolean).join(' ');
}

function codeText(cc: Json): string {
  if (!cc) return '';
  return cc.text ?? (cc.coding ?? []).map((c: Json) => c.display ?? c.code).filter(Boolean).join(', ');
}

export function labelOf(r: Json): string {
  if (!r) return '';
  if (typeof r.name === 'string' && r.name) return r.name;
  if (Array.isArray(r.name) && r.name.length) return humanName(r.name[0]) || `${r.resourceType}/${r.id}`;
  if (r.resourceType === 'PractitionerRole') {
    const what = (r.code ?? []).map(codeText).filter(Boolean).join(', ');
    return `Role ${r.id}${what ? ` (${what})` : ''}`;
  }
  if (r.resourceType === 'OrganizationAffiliation') return [(r.code ?? []).map(codeText).join(', '), r.participatingOrganization?.display].filter(Boolean).join(' — ') || `OrganizationAffiliation/${r.id}`;
  return `${r.resourceType}/${r.id}`;
}

function specialtyOf(r: Json): string {
  const list = [...(r.specialty ?? []), ...(r.resourceType === 'Practitioner' ? (r.qualification ?? []).map((q: Json) => q.code) : [])];
  return list.map(codeText).filter(Boolean).join('; ');
}

function addressText(a: Json): string {
  if (!a) return '';
  return [a.city, [a.state, a.postalCode].filter(Boolean).join(' ')].filter(Boolean).join(', ');
}

function placeOf(r: Json): string {
  const list = Array.isArray(r.address) ? r.address : r.address ? [r.address] : [];
  return list.map(addressText).filter(Boolean).join('; ');
}

function newPatientsOf(r: Json): string {
  const ext = (r.extension ?? []).filter((e: Json) => e.url === NEW_PATIENTS_URL);
  return ext.map((e: Json) => codeText((e.extension ?? []).find((x: Json) => x.url === 'acceptingPatients')?.valueCodeableConcept)).filter(Boolean).join('; ');
}

function networksOf(r: Json): string[] {
  const refs: string[] = [];
  for (const e of r.extension ?? []) if (e.url?.endsWith('/network-reference') && e.valueReference?.reference) refs.push(e.valueReference.reference);
  return refs;
}

/** Every `reference` in the resource, with the element path it sits at. */
function referencesOf(r: Json): { path: string; ref: string; display?: string }[] {
  const out: { path: string; ref: string; display?: string }[] = [];
  const walk = (v: Json, p: string) => {
    if (Array.isArray(v)) { v.forEach((x) => walk(x, p)); return; }
    if (!v || typeof v !== 'object') return;
    if (typeof v.reference === 'string') out.push({ path: p, ref: v.reference, display: v.display });
    for (const [k, x] of Object.entries(v)) {
      if (k === 'contained' || k === 'meta' || k === 'text') continue;
      if (k === 'extension' && Array.isArray(x)) { for (const e of x as Json[]) walk(e, `${p}.extension(${String(e?.url ?? '').split('/').pop()})`); continue; }
      if (k !== 'reference') walk(x, p ? `${p}.${k}` : k);
    }
  };
  walk(r, r.resourceType);
  return out;
}

function fieldsOf(r: Json): [string, string][] {
  const f: [string, string][] = [];
  if (r.active !== undefined) f.push(['Active', r.active ? 'Yes' : 'No']);
  const npi = (r.identifier ?? []).find((i: Json) => i.system === 'http://hl7.org/fhir/sid/us-npi')?.value;
  if (npi) f.push(['NPI', npi]);
  const other = (r.identifier ?? []).filter((i: Json) => i.system !== 'http://hl7.org/fhir/sid/us-npi').map((i: Json) => i.value).filter(Boolean);
  if (other.length) f.push(['Other identifiers', other.join('; ')]);
  if (Array.isArray(r.type) && r.type.length) f.push(['Type', r.type.map(codeText).join('; ')]);
  if (Array.isArray(r.code) && r.code.length) f.push(['Role', r.code.map(codeText).join('; ')]);
  const sp = specialtyOf(r);
  if (sp) f.push([r.resourceType === 'Practitioner' ? 'Qualifications' : 'Specialty', sp]);
  const tel = (r.telecom ?? []).map((t: Json) => `${t.system ?? ''} ${t.value ?? ''}`.trim()).filter(Boolean);
  if (tel.length) f.push(['Telecom', tel.join('; ')]);
  const addr = (Array.isArray(r.address) ? r.address : r.address ? [r.address] : []).map((a: Json) => a.text ?? [...(a.line ?? []), addressText(a)].filter(Boolean).join(', '));
  if (addr.length) f.push(['Address', addr.join('; ')]);
  const np = newPatientsOf(r);
  if (np) f.push(['Accepting new patients', np]);
  return f;
}
