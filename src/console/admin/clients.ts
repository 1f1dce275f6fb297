/**
 * SMART Backend Services clients in the console (permission clients:manage), through the client registry the
 * admin API uses (services.auth.clients):
 *   GET  /admin/clients               the tenant's clients and the registration form
 *   POST /admin/clients               register: name, scopes, a pasted JWKS or a JWKS URL (the registry's checks;
 *                                     errors next to their field, nothing saved)
 *   GET  /admin/clients/:id/revoke    asks for confirmation
 *   POST /admin/clients/:id/revoke    revokes (its live tokens stop working at once)
 */
import type { Request } from 'express';
import type { Tenant } from '../../tenancy/tenants.ts';
import { FhirError, notFound } from '../../fhir/outcome/errors.ts';
import { ClientRegistrationError, type SmartClient } from '../../auth/smart/clients.ts';
import { html } from '../html.ts';
import { layout, type SessionView } from '../layout.ts';
import { type ConsoleKit, noteResource } from '../kit.ts';
import { csrf, errorSummary, field, formBody } from '../operations/form.ts';
import { utc } from '../format.ts';

const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface FormValues { name: string; scope: string; jwks: string; jwks_uri: string }

/** Which field a registration error belongs to (the registry checks name, scopes, then the keys). */
function fieldOf(message: string, v: FormValues): string | undefined {
  if (/needs a name/.test(message)) return 'name';
  if (/^Scopes/.test(message)) return 'scope';
  if (/exactly one/.test(message)) return v.jwks_uri && v.jwks ? 'jwks_uri' : 'jwks';
  if (/jwks_uri|is not a URL/.test(message)) return 'jwks_uri';
  if (/JWK/.test(message)) return 'jwks';
  return undefined;
}

const keysText = (c: SmartClient) => c.jwks
  ? `JWKS with ${c.jwks.keys.length} ${c.jwks.keys.length === 1 ? 'key' : 'keys'}: ${c.jwks.keys.map((k) => `${k.kid ?? '?'} (${k.kty})`).join(', ')}`
  : c.jwksUri ? `JWKS URL ${c.jwksUri}` : '—';

export function mountClientPages(kit: ConsoleKit): void {
  const { services, route, page, staffOnly } = kit;
  const clients = services.auth.clients;

  const listPage = async (req: Request, tenant: Tenant, s: SessionView, v: FormValues, errors: Record<string, string> = {}, formErrors: string[] = []) => {
    const base = kit.base(tenant);
    const all = await clients.list(tenant.id);
    const registered = typeof req.query.registered === 'string' ? all.find((c) => c.clientId === req.query.registered) : undefined;
    const revoked = typeof req.query.revoked === 'string' ? all.find((c) => c.clientId === req.query.revoked) : undefined;
    return layout({ tenant: tenant.id, title: 'SMART clients', session: s, types: kit.types, current: '/admin/clients' }, html`
<h1>SMART Backend Services clients</h1>
${registered ? html`<div class="saved" role="status"><p>Registered <strong>${registered.name}</strong>. Its client id is <code>${registered.clientId}</code>: give it to the client's operator, who signs token requests with the private key of the JWKS.</p></div>` : ''}
${revoked ? html`<div class="saved" role="status"><p>Revoked <strong>${revoked.name}</strong> (<code>${revoked.clientId}</code>). Its tokens no longer work.</p></div>` : ''}
<p>Systems that read or export this directory authenticate with the SMART Backend Services flow: a signed JWT (private key JWT) exchanged for an access token at <code>/t/${tenant.id}/auth/token</code>. Register each one with its public keys.</p>
<section aria-labelledby="list-h">
<h2 id="list-h">Registered clients</h2>
${all.length === 0 ? html`<p>No clients registered.</p>` : html`<table>
  <caption>Clients of this directory, oldest first</caption>
  <thead><tr><th scope="col">Name</th><th scope="col">Client id</th><th scope="col">Scopes</th><th scope="col">Keys</th><th scope="col">Registered</th><th scope="col">Status</th><th scope="col">Action</th></tr></thead>
  <tbody>${all.map((c) => html`<tr>
    <th scope="row">${c.name}</th>
    <td><code>${c.clientId}</code></td>
    <td>${c.scopes.join(' ')}</td>
    <td>${keysText(c)}</td>
    <td>${utc(c.createdAt)}</td>
    <td>${c.revokedAt ? html`<span class="status status-failed">Revoked ${utc(c.revokedAt)}</span>` : html`<span class="status status-completed">Active</span>`}</td>
    <td>${c.revokedAt ? '—' : html`<a href="${base}/admin/clients/${c.clientId}/revoke">Revoke ${c.name}</a>`}</td>
  </tr>`)}</tbody>
</table>`}
</section>
<section aria-labelledby="register-h">
<h2 id="register-h">Register a client</h2>
${errorSummary(errors, formErrors, 'The client was not registered.')}
<form method="post" action="${base}/admin/clients" novalidate>
  ${csrf(s)}
  ${field({ name: 'name', label: 'Name', value: v.name, required: true, error: errors.name, hint: 'Who runs it, e.g. "State regulator directory check"' })}
  ${field({ name: 'scope', label: 'Scopes', value: v.scope, required: true, error: errors.scope, hint: 'SMART system scopes separated by spaces, e.g. system/*.read, system/Practitioner.rs, system/adequacy.run' })}
  <fieldset>
    <legend>Public keys: paste a JWKS or give a JWKS URL</legend>
    ${field({ name: 'jwks', label: 'JWKS (JSON)', kind: 'textarea', rows: 8, value: v.jwks, error: errors.jwks, hint: 'A JSON Web Key Set with the public keys only: {"keys": [...]}; RSA of 2048 bits or more, or EC P-384; each key with a "kid".' })}
    ${field({ name: 'jwks_uri', label: 'JWKS URL', kind: 'url', value: v.jwks_uri, error: errors.jwks_uri, hint: 'https:// (plain http only on this machine, for development). Fetched when the client asks for a token.' })}
  </fieldset>
  <p><button type="submit">Register client</button></p>
</form>
</section>`);
  };

  const empty: FormValues = { name: '', scope: 'system/*.read', jwks: '', jwks_uri: '' };

  route('get', '/admin/clients', 'console:clients', 'clients:manage', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    page(res, 200, await listPage(req, tenant, s, empty));
  });

  route('post', '/admin/clients', 'console:client-register', 'clients:manage', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const b = formBody(req.body);
    const v: FormValues = { name: b.get('name', 200), scope: b.get('scope', 2000), jwks: b.get('jwks', 60_000), jwks_uri: b.get('jwks_uri', 2000).trim() };
    const errors: Record<string, string> = {};
    const formErrors: string[] = [];
    let jwks: unknown;
    if (v.jwks.trim()) {
      try { jwks = JSON.parse(v.jwks); } catch (e) { errors.jwks = `The JWKS is not valid JSON (${(e as Error).message})`; }
    }
    if (!errors.jwks) {
      try {
        const c = await clients.register(tenant.id, { name: v.name, scopes: v.scope.split(/\s+/).filter(Boolean), jwks, jwksUri: v.jwks_uri || undefined });
        noteResource(c.clientId);
        return res.redirect(303, `${kit.base(tenant)}/admin/clients?registered=${c.clientId}`);
      } catch (err) {
        if (!(err instanceof ClientRegistrationError)) throw err;
        const f = fieldOf(err.message, v);
        if (f) errors[f] = err.message; else formErrors.push(err.message);
      }
    }
    page(res, 422, await listPage(req, tenant, s, v, errors, formErrors));
  });

  const clientOf = async (tenant: Tenant, id: string) => {
    const c = CLIENT_ID.test(id) ? await clients.get(tenant.id, id) : undefined;
    if (!c) throw notFound(`No client ${id} in this directory`);
    noteResource(c.clientId);
    return c;
  };

  route('get', '/admin/clients/:id/revoke', 'console:client-revoke-confirm', 'clients:manage', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const c = await clientOf(tenant, String(req.params.id));
    const base = kit.base(tenant);
    page(res, 200, layout({ tenant: tenant.id, title: `Revoke ${c.name}`, session: s, types: kit.types, current: '/admin/clients' }, html`
<p><a href="${base}/admin/clients">Back to SMART clients</a></p>
<h1>Revoke ${c.name}?</h1>
${c.revokedAt ? html`<p>This client was already revoked at ${utc(c.revokedAt)}.</p>` : html`
<p>Client id <code>${c.clientId}</code>, scopes ${c.scopes.join(' ')}. Once revoked it can get no new tokens and its current tokens stop working at once. This cannot be undone: to let it back in, register it again.</p>
<form method="post" action="${base}/admin/clients/${c.clientId}/revoke">
  ${csrf(s)}
  <p><button type="submit">Revoke ${c.name}</button> <a href="${base}/admin/clients">Cancel</a></p>
</form>`}`));
  });

  route('post', '/admin/clients/:id/revoke', 'console:client-revoke', 'clients:manage', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const c = await clientOf(tenant, String(req.params.id));
    if (!(await clients.revoke(tenant.id, c.clientId)) && !c.revokedAt) throw new FhirError('conflict', 'The client could not be revoked; reload and try again');
    res.redirect(303, `${kit.base(tenant)}/admin/clients?revoked=${c.clientId}`);
  });
}
