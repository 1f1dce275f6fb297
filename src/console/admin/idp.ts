/**
 * The tenant's SAML identity provider in the console (permission tenant:admin), through the same configuration code
 * as PUT /t/{tenant}/admin/saml (resolveConfigInput, parseRoleMap, SamlConfigStore):
 *   GET  /admin/idp          the current configuration, what to register at the IdP, and two forms
 *   POST /admin/idp          the IdP: metadata URL or pasted metadata XML, entity id, user id attribute
 *   POST /admin/idp/roles    the role attribute and the IdP group → role mapping (one mapping a line)
 * Errors are shown next to their field and nothing is saved. Sign-in picks up a change within a few seconds (the
 * SAML service caches the configuration briefly).
 */
import type { Request } from 'express';
import type { Tenant } from '../../tenancy/tenants.ts';
import { ROLES } from '../../auth/permissions.ts';
import { SamlConfigError, SamlConfigStore, describeConfig, parseRoleMap, resolveConfigInput, type SamlConfigInput, type SamlIdpConfig } from '../../auth/saml/idp-config.ts';
import { spEndpoints } from '../../auth/saml/service.ts';
import { html } from '../html.ts';
import { layout, type SessionView } from '../layout.ts';
import { type ConsoleKit, noteResource } from '../kit.ts';
import { csrf, errorSummary, field, formBody } from '../operations/form.ts';
import { utc } from '../format.ts';

interface IdpValues { metadata_url: string; metadata_xml: string; entity_id: string; user_attribute: string }
interface RoleValues { role_attribute: string; role_map: string }

const roleMapText = (m: Record<string, string[]>) => Object.entries(m).map(([g, rs]) => `${g} = ${rs.join(', ')}`).join('\n');

/** "group = role, role" lines → the object form parseRoleMap checks (a group may contain "=" and ","; the last "=" splits). */
function roleMapFromLines(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const at = line.lastIndexOf('=');
    if (at <= 0 || !line.slice(0, at).trim()) throw new SamlConfigError(`Line ${i + 1} ("${line.trim().slice(0, 80)}") is not "IdP group = role"`);
    const group = line.slice(0, at).trim();
    const roles = line.slice(at + 1).split(/[,\s]+/).filter(Boolean);
    if (!roles.length) throw new SamlConfigError(`Line ${i + 1} names no role for "${group}"`);
    out[group] = [...(Object.hasOwn(out, group) ? out[group]! : []), ...roles];
  });
  return out;
}

export function mountIdpPages(kit: ConsoleKit): void {
  const { services, route, page, staffOnly } = kit;
  const configs = new SamlConfigStore(services.db);

  const idpPage = (req: Request, tenant: Tenant, s: SessionView, current: SamlIdpConfig | null, o: {
    idp?: IdpValues; roles?: RoleValues; idpErrors?: Record<string, string>; idpFormErrors?: string[]; roleErrors?: Record<string, string>; roleFormErrors?: string[]; saved?: string;
  }) => {
    const base = kit.base(tenant);
    const sp = spEndpoints(services, req, tenant.id);
    const d = current ? describeConfig(current) : undefined;
    const idp: IdpValues = o.idp ?? { metadata_url: '', metadata_xml: '', entity_id: current?.idpEntityId ?? '', user_attribute: current?.userAttribute ?? '' };
    const roles: RoleValues = o.roles ?? { role_attribute: current?.roleAttribute ?? 'groups', role_map: current ? roleMapText(current.roleMap) : '' };
    const ie = o.idpErrors ?? {}, re = o.roleErrors ?? {};
    return layout({ tenant: tenant.id, title: 'Single sign-on', session: s, types: kit.types, current: '/admin/idp' }, html`
<h1>Single sign-on (SAML identity provider)</h1>
${o.saved ? html`<div class="saved" role="status"><p>${o.saved}</p></div>` : ''}
<section aria-labelledby="current-h">
<h2 id="current-h">Current configuration</h2>
${d ? html`<dl class="fields">
  <dt>IdP entity id</dt><dd>${d.idp_entity_id}</dd>
  <dt>IdP sign-in URL</dt><dd>${d.sso_url}</dd>
  <dt>Metadata URL</dt><dd>${d.metadata_url ?? 'None (metadata pasted or fields given)'}</dd>
  <dt>User id from</dt><dd>${d.user_attribute ? `attribute ${d.user_attribute}` : 'the assertion\u2019s NameID'}</dd>
  <dt>Roles from attribute</dt><dd>${d.role_attribute}</dd>
  <dt>Last changed</dt><dd>${utc(d.updated_at)}</dd>
</dl>
<table>
  <caption>Signing certificates the IdP may use</caption>
  <thead><tr><th scope="col">Subject</th><th scope="col">SHA-256 fingerprint</th><th scope="col">Valid until</th></tr></thead>
  <tbody>${d.certificates.map((c) => html`<tr><td>${c.subject}</td><td><code>${c.sha256}</code></td><td>${utc(c.not_after)}</td></tr>`)}</tbody>
</table>` : html`<p class="warning">No identity provider is configured: nobody can sign in to the console of this tenant until one is.</p>`}
<p>Register this service at the identity provider as a SAML service provider: entity id and metadata <code>${sp.entityId}</code>, assertion consumer service (HTTP-POST) <code>${sp.acsUrl}</code>.</p>
</section>
<section aria-labelledby="idp-h">
<h2 id="idp-h">Identity provider</h2>
${errorSummary(ie, o.idpFormErrors ?? [])}
<form method="post" action="${base}/admin/idp" novalidate>
  ${csrf(s)}
  ${field({ name: 'metadata_url', label: 'Metadata URL', kind: 'url', value: idp.metadata_url, error: ie.metadata_url, hint: `Fetched once now. https:// (plain http only on this machine). ${current ? 'Leave this and the XML empty to keep the current metadata.' : ''}` })}
  ${field({ name: 'metadata_xml', label: 'Or paste the metadata XML', kind: 'textarea', rows: 8, value: idp.metadata_xml, error: ie.metadata_xml, hint: 'The IdP\u2019s EntityDescriptor (or an EntitiesDescriptor holding it).' })}
  ${field({ name: 'entity_id', label: 'IdP entity id', value: idp.entity_id, error: ie.entity_id, hint: 'Picks the IdP when the metadata describes several; otherwise taken from the metadata.' })}
  ${field({ name: 'user_attribute', label: 'User id attribute (optional)', value: idp.user_attribute, error: ie.user_attribute, hint: 'The assertion attribute holding the stable user id, e.g. uid; empty for the NameID.' })}
  <p><button type="submit">Save identity provider</button></p>
</form>
</section>
<section aria-labelledby="roles-h">
<h2 id="roles-h">Group to role mapping</h2>
<p>Each line gives an IdP group (a value of the role attribute) and the console roles it grants. Roles: ${Object.entries(ROLES).map(([r, ps], i) => html`${i ? '; ' : ''}<strong>${r}</strong> (${ps.join(', ')})`)}. Groups not listed grant nothing.</p>
${errorSummary(re, o.roleFormErrors ?? [])}
<form method="post" action="${base}/admin/idp/roles" novalidate>
  ${csrf(s)}
  ${field({ name: 'role_attribute', label: 'Role attribute', value: roles.role_attribute, required: true, error: re.role_attribute, hint: 'The assertion attribute whose values are mapped, e.g. groups or memberOf.' })}
  ${field({ name: 'role_map', label: 'Mapping, one per line: IdP group = role, role', kind: 'textarea', rows: 8, value: roles.role_map, error: re.role_map, hint: 'e.g. plan-admins = admin' })}
  <p><button type="submit">Save role mapping</button></p>
</form>
</section>`);
  };

  route('get', '/admin/idp', 'console:idp', 'tenant:admin', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const saved = req.query.saved === 'idp' ? 'The identity provider was saved.' : req.query.saved === 'roles' ? 'The role mapping was saved. It applies from each user\u2019s next sign-in.' : undefined;
    page(res, 200, idpPage(req, tenant, s, await configs.get(tenant.id), { saved }));
  });

  route('post', '/admin/idp', 'console:idp-save', 'tenant:admin', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const b = formBody(req.body);
    const v: IdpValues = { metadata_url: b.get('metadata_url', 2000).trim(), metadata_xml: b.get('metadata_xml', 60_000), entity_id: b.get('entity_id', 1000).trim(), user_attribute: b.get('user_attribute', 200).trim() };
    const current = await configs.get(tenant.id);
    const errors: Record<string, string> = {};
    const formErrors: string[] = [];
    const xml = v.metadata_xml.trim() ? v.metadata_xml : undefined;
    const input: SamlConfigInput = {
      metadataUrl: v.metadata_url || undefined, metadataXml: xml, idpEntityId: v.entity_id || undefined, userAttribute: v.user_attribute || null,
    };
    try {
      const saved = await configs.put(await resolveConfigInput(tenant.id, input, current));
      noteResource(saved.idpEntityId);
      return res.redirect(303, `${kit.base(tenant)}/admin/idp?saved=idp`);
    } catch (err) {
      if (!(err instanceof SamlConfigError)) throw err;
      const m = err.message;
      const metadataField = v.metadata_url ? 'metadata_url' : xml ? 'metadata_xml' : undefined;
      const f = /either inline or as a URL/.test(m) ? 'metadata_xml' : /entityID/.test(m) ? 'entity_id' : /needs an entity id, an SSO URL/.test(m) ? 'metadata_url' : metadataField;
      if (f) errors[f] = m; else formErrors.push(m);
    }
    page(res, 422, idpPage(req, tenant, s, current, { idp: v, idpErrors: errors, idpFormErrors: formErrors }));
  });

  route('post', '/admin/idp/roles', 'console:idp-roles-save', 'tenant:admin', async (req, res, tenant) => {
    const s = staffOnly(req, res, tenant);
    if (!s) return;
    const b = formBody(req.body);
    const v: RoleValues = { role_attribute: b.get('role_attribute', 500).trim(), role_map: b.get('role_map', 30_000) };
    const current = await configs.get(tenant.id);
    const errors: Record<string, string> = {};
    const formErrors: string[] = [];
    let roleMap: Record<string, string[]> | undefined;
    try { roleMap = parseRoleMap(roleMapFromLines(v.role_map)); } catch (err) {
      if (!(err instanceof SamlConfigError)) throw err;
      errors.role_map = err.message;
    }
    if (!v.role_attribute) errors.role_attribute = 'The role attribute must not be empty';
    if (!current) formErrors.push('Configure the identity provider first (above); the mapping is saved with it.');
    if (roleMap && current && !Object.keys(errors).length) {
      try {
        await configs.put(await resolveConfigInput(tenant.id, { roleMap, roleAttribute: v.role_attribute }, current));
        noteResource(current.idpEntityId);
        return res.redirect(303, `${kit.base(tenant)}/admin/idp?saved=roles`);
      } catch (err) {
        if (!(err instanceof SamlConfigError)) throw err;
        formErrors.push(err.message);
      }
    }
    page(res, 422, idpPage(req, tenant, s, current, { roles: v, roleErrors: errors, roleFormErrors: formErrors }));
  });
}
