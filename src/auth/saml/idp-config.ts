/**
 * Each tenant's SAML identity provider: entity id, SSO URL (HTTP-Redirect binding), signing certificates, and how
 * its attributes map to our roles. Tenant admins set it with `PUT /t/{tenant}/admin/saml` or
 * `npm run saml -- configure`, usually from the IdP's metadata (XML, or a URL fetched once with a timeout).
 */
import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import type { Db } from '../../storage/db.ts';
import { ROLES } from '../permissions.ts';

export interface SamlIdpConfig {
  tenant: string;
  idpEntityId: string;
  ssoUrl: string;
  /** PEM certificates whose keys may sign assertions (several during an IdP key rollover). */
  certificates: string[];
  metadataUrl?: string;
  /** The assertion attribute whose values are mapped to roles (e.g. `groups`, `memberOf`, a URI-named attribute). */
  roleAttribute: string;
  /** IdP attribute value → our roles. Values absent from the map grant nothing. */
  roleMap: Record<string, string[]>;
  /** Attribute holding the stable user id; unset → the assertion's NameID. */
  userAttribute?: string;
  /** Also require a signature over the whole Response (assertions must be signed in any case). */
  wantResponseSigned: boolean;
  updatedAt?: string;
}

export class SamlConfigError extends Error {}

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export interface IdpMetadata { entityId: string; ssoUrl: string; certificates: string[] }

function pemOf(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
}

/** A certificate as PEM, checked to parse as X.509 (accepts PEM or bare base64 DER). */
export function normalizeCertificate(text: string): string {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
  const pem = pemOf(m ? m[1] : text);
  try { new X509Certificate(pem); } catch { throw new SamlConfigError('A signing certificate is not a valid X.509 certificate'); }
  return pem;
}

/** Reads the IdP's entity id, HTTP-Redirect SSO URL and signing certificates from its SAML metadata. */
export function parseIdpMetadata(xml: string, entityId?: string): IdpMetadata {
  if (/<!DOCTYPE/i.test(xml)) throw new SamlConfigError('IdP metadata must not contain a DOCTYPE');
  const errors: string[] = [];
  const doc = new DOMParser({ errorHandler: (level: string, msg: unknown) => { if (level !== 'warning') errors.push(String(msg)); } }).parseFromString(xml, 'text/xml');
  if (errors.length || !doc?.documentElement) throw new SamlConfigError(`IdP metadata is not well-formed XML${errors.length ? `: ${errors[0]}` : ''}`);
  const entities = Array.from(doc.getElementsByTagNameNS(MD, 'EntityDescriptor'))
    .filter((e) => e.getElementsByTagNameNS(MD, 'IDPSSODescriptor').length > 0)
    .filter((e) => entityId === undefined || e.getAttribute('entityID') === entityId);
  if (entities.length === 0) throw new SamlConfigError(entityId ? `No IdP with entityID "${entityId}" in the metadata` : 'The metadata describes no SAML identity provider (IDPSSODescriptor)');
  if (entities.length > 1) throw new SamlConfigError(`The metadata describes ${entities.length} identity providers; choose one by its entity id`);
  const entity = entities[0];
  const idp = entity.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];
  const sso = Array.from(idp.getElementsByTagNameNS(MD, 'SingleSignOnService')).find((s) => s.getAttribute('Binding') === REDIRECT_BINDING);
  if (!sso?.getAttribute('Location')) throw new SamlConfigError('The IdP offers no SingleSignOnService with the HTTP-Redirect binding');
  const certificates = Array.from(idp.getElementsByTagNameNS(MD, 'KeyDescriptor'))
    .filter((k) => !k.getAttribute('use') || k.getAttribute('use') === 'signing')
    .flatMap((k) => Array.from(k.getElementsByTagNameNS(DS, 'X509Certificate')).map((c) => normalizeCertificate(c.textContent ?? '')));
  if (certificates.length === 0) throw new SamlConfigError('The IdP metadata holds no signing certificate');
  return { entityId: entity.getAttribute('entityID') ?? '', ssoUrl: sso.getAttribute('Location')!, certificates: [...new Set(certificates)] };
}

/** https, or plain http on loopback (development and tests) — the same rule as SMART `jwks_uri`s. */
export function checkUrl(value: string, what: string): string {
  let u: URL;
  try { u = new URL(value); } catch { throw new SamlConfigError(`${what} is not a URL: ${value}`); }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))) {
    throw new SamlConfigError(`${what} must be https (plain http only on loopback, for development)`);
  }
  return u.toString();
}

/** Fetches IdP metadata from a URL (timeout, no redirects, size cap). */
export async function fetchIdpMetadata(url: string, timeoutMs = 5_000): Promise<string> {
  checkUrl(url, 'The metadata URL');
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
  } catch (e) {
    throw new SamlConfigError(`Could not fetch IdP metadata from ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new SamlConfigError(`Fetching IdP metadata from ${url} answered ${res.status}`);
  const text = await res.text();
  if (text.length > 1_000_000) throw new SamlConfigError('IdP metadata larger than 1 MB');
  return text;
}

/**
 * Role map from `"idp-group=role,other-group=role2"` (a group may appear several times) or from an object
 * `{ "idp-group": "role" | ["role", …] }`. Every role must be one of ours.
 */
export function parseRoleMap(input: unknown): Record<string, string[]> {
  const map = new Map<string, string[]>();
  const add = (group: string, role: string) => {
    const g = group.trim();
    const r = role.trim();
    if (!g) throw new SamlConfigError('A role mapping has an empty IdP value');
    if (!Object.hasOwn(ROLES, r)) throw new SamlConfigError(`Unknown role "${r}" (roles: ${Object.keys(ROLES).join(', ')})`);
    const roles = map.get(g) ?? [];
    if (!roles.includes(r)) roles.push(r);
    map.set(g, roles);
  };
  const out = () => Object.fromEntries(map); // own data properties only, whatever the group is called
  if (input === undefined || input === null || input === '') return out();
  if (typeof input === 'string') {
    for (const pair of input.split(',').map((p) => p.trim()).filter(Boolean)) {
      const i = pair.lastIndexOf('=');
      if (i <= 0) throw new SamlConfigError(`Role mapping "${pair}" is not "idp-value=role"`);
      add(pair.slice(0, i), pair.slice(i + 1));
    }
    return out();
  }
  if (typeof input === 'object' && !Array.isArray(input)) {
    for (const [g, roles] of Object.entries(input as Record<string, unknown>)) {
      for (const r of ([] as unknown[]).concat(roles)) {
        if (typeof r !== 'string') throw new SamlConfigError(`Role mapping for "${g}" must name roles as strings`);
        add(g, r);
      }
    }
    return out();
  }
  throw new SamlConfigError('role_map must be an object or "idp-value=role,…"');
}

export interface SamlConfigInput {
  metadataXml?: string;
  metadataUrl?: string;
  idpEntityId?: string;
  ssoUrl?: string;
  certificates?: string[];
  roleAttribute?: string;
  roleMap?: unknown;
  userAttribute?: string | null;
  wantResponseSigned?: boolean;
}

/** Builds a complete, checked configuration from metadata (XML or URL) or explicit fields. */
export async function resolveConfigInput(tenant: string, input: SamlConfigInput, previous?: SamlIdpConfig | null): Promise<SamlIdpConfig> {
  let md: IdpMetadata | undefined;
  if (input.metadataXml !== undefined && input.metadataUrl !== undefined) throw new SamlConfigError('Give IdP metadata either inline or as a URL, not both');
  if (input.metadataXml !== undefined) md = parseIdpMetadata(String(input.metadataXml), input.idpEntityId);
  else if (input.metadataUrl !== undefined) md = parseIdpMetadata(await fetchIdpMetadata(String(input.metadataUrl)), input.idpEntityId);
  const idpEntityId = md?.entityId ?? input.idpEntityId ?? previous?.idpEntityId;
  const ssoUrl = md?.ssoUrl ?? input.ssoUrl ?? previous?.ssoUrl;
  const certificates = md?.certificates ?? input.certificates?.map(normalizeCertificate) ?? previous?.certificates;
  if (!idpEntityId || !ssoUrl || !certificates?.length) {
    throw new SamlConfigError('The IdP needs an entity id, an SSO URL and a signing certificate: give its metadata (XML or URL) or all three');
  }
  const roleAttribute = (input.roleAttribute ?? previous?.roleAttribute ?? 'groups').trim();
  if (!roleAttribute) throw new SamlConfigError('The role attribute must not be empty');
  const userAttribute = input.userAttribute === null ? undefined : (input.userAttribute ?? previous?.userAttribute)?.trim() || undefined;
  return {
    tenant,
    idpEntityId: String(idpEntityId),
    ssoUrl: checkUrl(String(ssoUrl), 'The IdP SSO URL'),
    certificates,
    metadataUrl: input.metadataUrl ?? (md ? undefined : previous?.metadataUrl),
    roleAttribute,
    roleMap: input.roleMap !== undefined ? parseRoleMap(input.roleMap) : previous?.roleMap ?? {},
    userAttribute,
    wantResponseSigned: input.wantResponseSigned ?? previous?.wantResponseSigned ?? false,
  };
}

/** What admins see of a configuration (certificates as fingerprints and expiry). */
export function describeConfig(c: SamlIdpConfig) {
  return {
    idp_entity_id: c.idpEntityId,
    sso_url: c.ssoUrl,
    metadata_url: c.metadataUrl ?? null,
    certificates: c.certificates.map((pem) => {
      const x = new X509Certificate(pem);
      return { subject: x.subject, sha256: x.fingerprint256, not_after: new Date(x.validTo).toISOString() };
    }),
    role_attribute: c.roleAttribute,
    role_map: c.roleMap,
    user_attribute: c.userAttribute ?? null,
    want_response_signed: c.wantResponseSigned,
    updated_at: c.updatedAt ?? null,
  };
}

export class SamlConfigStore {
  readonly #db: Db;
  readonly #cache = new Map<string, { config: SamlIdpConfig | null; at: number }>();
  readonly #ttlMs: number;
  constructor(db: Db, ttlMs = 5_000) { this.#db = db; this.#ttlMs = ttlMs; }

  async get(tenant: string): Promise<SamlIdpConfig | null> {
    const hit = this.#cache.get(tenant);
    if (hit && Date.now() - hit.at < this.#ttlMs) return hit.config;
    const row = await this.#db.withTenant(tenant, async (tx) => (await tx.query(
      `SELECT idp_entity_id, sso_url, certificates, metadata_url, role_attribute, role_map, user_attribute, want_response_signed, updated_at
         FROM saml_idp_configs WHERE tenant_id = $1`, [tenant])).rows[0], { readOnly: true });
    const config: SamlIdpConfig | null = row ? {
      tenant, idpEntityId: row.idp_entity_id, ssoUrl: row.sso_url, certificates: row.certificates, metadataUrl: row.metadata_url ?? undefined,
      roleAttribute: row.role_attribute, roleMap: row.role_map ?? {}, userAttribute: row.user_attribute ?? undefined,
      wantResponseSigned: row.want_response_signed, updatedAt: new Date(row.updated_at).toISOString(),
    } : null;
    this.#cache.set(tenant, { config, at: Date.now() });
    return config;
  }

  async put(c: SamlIdpConfig): Promise<SamlIdpConfig> {
    await this.#db.withTenant(c.tenant, async (tx) => {
      await tx.query(
        `INSERT INTO saml_idp_configs (tenant_id, idp_entity_id, sso_url, certificates, metadata_url, role_attribute, role_map, user_attribute, want_response_signed, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
         ON CONFLICT (tenant_id) DO UPDATE SET idp_entity_id = EXCLUDED.idp_entity_id, sso_url = EXCLUDED.sso_url,
           certificates = EXCLUDED.certificates, metadata_url = EXCLUDED.metadata_url, role_attribute = EXCLUDED.role_attribute,
           role_map = EXCLUDED.role_map, user_attribute = EXCLUDED.user_attribute, want_response_signed = EXCLUDED.want_response_signed,
           updated_at = now()`,
        [c.tenant, c.idpEntityId, c.ssoUrl, c.certificates, c.metadataUrl ?? null, c.roleAttribute, JSON.stringify(c.roleMap), c.userAttribute ?? null, c.wantResponseSigned]);
    });
    this.#cache.delete(c.tenant);
    return (await this.get(c.tenant))!;
  }
}
