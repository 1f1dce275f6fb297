/**
 * SAML 2.0 service provider per tenant, on @node-saml/passport-saml (MultiSamlStrategy: options are built per request
 * from the tenant's IdP configuration and SP keys).
 *
 * node-saml verifies the XML signature (only the signed bytes are used afterwards, which defeats signature
 * wrapping), audience, NotBefore/NotOnOrAfter and InResponseTo. What it leaves to us, checked here on the *signed*
 * assertion: the issuer is the tenant's IdP; a bearer SubjectConfirmation whose Recipient is our ACS URL and whose
 * InResponseTo is the request we sent (and consumed, once); the Response's Destination is our ACS URL and its
 * status is Success; the assertion id was never accepted before. Then the IdP's role attribute maps to our roles.
 */
import type { Request } from 'express';
import { DOMParser } from '@xmldom/xmldom';
import { MultiSamlStrategy, generateServiceProviderMetadata, ValidateInResponseTo, type Profile, type SamlConfig } from '@node-saml/passport-saml';
import { Passport, type Strategy } from 'passport';
import type { AppServices } from '../../fhir/services.ts';
import { tenantOrigin } from '../smart/routes.ts';
import type { SamlIdpConfig } from './idp-config.ts';
import { SamlConfigStore } from './idp-config.ts';
import { SpKeys, type SpKeyPair } from './sp-keys.ts';
import { AssertionLog, RequestIdCache, SamlStorageFailure } from './request-log.ts';

export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** A sign-in the service provider refused (a 401 at the ACS, with the reason). */
export class SamlRejected extends Error {}

export interface SpEndpoints { entityId: string; acsUrl: string; loginUrl: string }

/** Our SP's URLs for a tenant. The entity id is the metadata URL; set PUBLIC_BASE_URL so it does not depend on Host. */
export function spEndpoints(services: AppServices, req: Request, tenant: string): SpEndpoints {
  const base = `${tenantOrigin(services, req)}/t/${tenant}/auth/saml`;
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs`, loginUrl: `${base}/login` };
}

export interface SignedInUser {
  userId: string;
  displayName?: string;
  roles: string[];
  sessionIndex?: string;
  returnTo: string;
  [key: string]: unknown;
}

/** What one HTTP request to the login or ACS endpoint needs; the strategy finds it by the request object. */
interface Exchange { tenant: string; idp: SamlIdpConfig; endpoints: SpEndpoints; keys: SpKeyPair; cache: RequestIdCache }

type XmlJs = Record<string, any>;
const first = (v: unknown): any => (Array.isArray(v) ? v[0] : undefined);
const text = (v: unknown): string | undefined => {
  const f = first(v);
  return typeof f === 'string' ? f : typeof f?._ === 'string' ? f._ : undefined;
};
const time = (s: unknown): number | undefined => {
  if (typeof s !== 'string') return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
};

/** Attribute values as strings (node-saml gives a string for one value, an array for several). */
export function attributeValues(profile: Profile, name: string): string[] {
  const attrs = (profile.attributes ?? {}) as Record<string, unknown>;
  if (!Object.hasOwn(attrs, name)) return [];
  return ([] as unknown[]).concat(attrs[name]).filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter(Boolean);
}

export function mapRoles(values: string[], roleMap: Record<string, string[]>): string[] {
  const roles = new Set<string>();
  for (const v of values) if (Object.hasOwn(roleMap, v)) for (const r of roleMap[v]) roles.add(r);
  return [...roles].sort();
}

export class SamlService {
  readonly configs: SamlConfigStore;
  readonly spKeys: SpKeys;
  readonly #services: AppServices;
  readonly #assertions: AssertionLog;
  readonly #exchanges = new WeakMap<object, Exchange>();
  readonly #passport = new Passport();

  constructor(services: AppServices) {
    this.#services = services;
    this.configs = new SamlConfigStore(services.db);
    this.spKeys = new SpKeys(services.db);
    this.#assertions = new AssertionLog(services.db);
    const strategy = new MultiSamlStrategy(
      {
        passReqToCallback: true,
        getSamlOptions: (req, done) => {
          const ex = this.#exchanges.get(req);
          if (!ex) return done(new Error('no SAML exchange for this request'));
          done(null, this.#options(ex));
        },
      },
      (req, profile, done) => {
        const ex = this.#exchanges.get(req);
        if (!ex || !profile) return done(new SamlRejected('The SAML response carries no assertion'));
        this.#accept(ex, profile).then((user) => done(null, user), (err: Error) => done(err));
      },
      (_req, _profile, done) => done(new SamlRejected('Single logout is not supported')),
    );
    // passport-saml is typed against Express 4's Request; at run time it only reads query, body, url and headers.
    this.#passport.use('saml', strategy as unknown as Strategy);
  }

  #options(ex: Exchange): SamlConfig {
    const cfg = this.#services.config;
    return {
      issuer: ex.endpoints.entityId,
      audience: ex.endpoints.entityId,
      callbackUrl: ex.endpoints.acsUrl,
      entryPoint: ex.idp.ssoUrl,
      idpIssuer: ex.idp.idpEntityId,
      idpCert: ex.idp.certificates,
      privateKey: ex.keys.signing.privateKeyPem,
      publicCert: ex.keys.signing.certificatePem,
      decryptionPvk: ex.keys.encryption.privateKeyPem,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: ex.idp.wantResponseSigned,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: cfg.samlRequestTtlS * 1000,
      cacheProvider: ex.cache,
      acceptedClockSkewMs: cfg.samlClockSkewS * 1000,
      // The IdP chooses the NameID format and how to authenticate (MFA is its job): no NameIDPolicy format and no
      // RequestedAuthnContext that could rule out a stronger method.
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      authnRequestBinding: 'HTTP-Redirect',
    };
  }

  /** The tenant's SP metadata (signed with its SP signing key). */
  async metadata(req: Request, tenant: string): Promise<string> {
    const endpoints = spEndpoints(this.#services, req, tenant);
    const keys = await this.spKeys.get(tenant);
    return generateServiceProviderMetadata({
      issuer: endpoints.entityId,
      callbackUrl: endpoints.acsUrl,
      identifierFormat: null,
      wantAssertionsSigned: true,
      privateKey: keys.signing.privateKeyPem,
      publicCerts: keys.signing.certificatePem,
      decryptionPvk: keys.encryption.privateKeyPem,
      decryptionCert: keys.encryption.certificatePem,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
      signMetadata: true,
    } as Parameters<typeof generateServiceProviderMetadata>[0]);
  }

  /**
   * Runs the passport-saml strategy for a login (redirect to the IdP) or an ACS post. Resolves with the signed-in
   * user for an accepted response; for a login the strategy has already answered with the redirect.
   */
  async #run(req: Request, res: import('express').Response, ex: Exchange): Promise<SignedInUser | undefined> {
    this.#exchanges.set(req, ex);
    return new Promise<SignedInUser | undefined>((resolve, reject) => {
      const handler = this.#passport.authenticate('saml', { session: false }, (err: unknown, user: SignedInUser | false, info: unknown) => {
        if (err) return reject(err);
        if (!user) return reject(new SamlRejected(typeof (info as { message?: string })?.message === 'string' ? (info as { message: string }).message : 'The SAML response was not accepted'));
        resolve(user);
      });
      // passport ends a redirect itself (302 + Location); settle once the response is done.
      res.once('finish', () => resolve(undefined));
      handler(req, res, (err?: unknown) => (err ? reject(err) : resolve(undefined)));
    });
  }

  async #exchange(req: Request, tenant: string, idp: SamlIdpConfig, returnTo?: string): Promise<Exchange> {
    return {
      tenant, idp, endpoints: spEndpoints(this.#services, req, tenant), keys: await this.spKeys.get(tenant),
      cache: new RequestIdCache(this.#services.db, tenant, this.#services.config.samlRequestTtlS, returnTo),
    };
  }

  /** Sends the browser to the IdP with a signed AuthnRequest (HTTP-Redirect binding). */
  async login(req: Request, res: import('express').Response, tenant: string, idp: SamlIdpConfig, returnTo: string): Promise<void> {
    await this.#run(req, res, await this.#exchange(req, tenant, idp, returnTo));
  }

  /** Validates a SAMLResponse posted to the ACS (HTTP-POST binding). Throws SamlRejected when refused. */
  async acs(req: Request, res: import('express').Response, tenant: string, idp: SamlIdpConfig): Promise<SignedInUser> {
    try {
      const user = await this.#run(req, res, await this.#exchange(req, tenant, idp));
      if (!user) throw new SamlRejected('The SAML response was not accepted');
      return user;
    } catch (err) {
      if (err instanceof SamlRejected || err instanceof SamlStorageFailure) throw err;
      // node-saml reports every failed check (signature, audience, time window, InResponseTo…) as an Error.
      throw new SamlRejected(err instanceof Error ? err.message : 'The SAML response was not accepted');
    }
  }

  /** Our checks on top of node-saml's, on the signed assertion only; then identity and roles. */
  async #accept(ex: Exchange, profile: Profile): Promise<SignedInUser> {
    const skewMs = this.#services.config.samlClockSkewS * 1000;
    const now = Date.now();
    const assertion = (profile.getAssertion?.() as XmlJs | undefined)?.Assertion as XmlJs | undefined;
    if (!assertion) throw new SamlRejected('No signed assertion');

    const issuer = text(assertion.Issuer);
    if (issuer !== ex.idp.idpEntityId) throw new SamlRejected(`Assertion issuer "${issuer}" is not this tenant's IdP`);

    const requestId = profile.inResponseTo as string | undefined;
    const confirmations = (first(assertion.Subject)?.SubjectConfirmation ?? []) as XmlJs[];
    const bearer = confirmations.find((c) => {
      const data = first(c.SubjectConfirmationData)?.$ as Record<string, string> | undefined;
      if (c.$?.Method !== BEARER || !data) return false;
      const notOnOrAfter = time(data.NotOnOrAfter);
      const notBefore = time(data.NotBefore);
      return data.Recipient === ex.endpoints.acsUrl && !!requestId && data.InResponseTo === requestId
        && notOnOrAfter !== undefined && now - skewMs < notOnOrAfter && (notBefore === undefined || now + skewMs >= notBefore);
    });
    if (!bearer) throw new SamlRejected('No bearer SubjectConfirmation for our ACS URL and request in the signed assertion');

    const response = this.#responseFacts(profile.getSamlResponseXml?.());
    if (response.destination !== ex.endpoints.acsUrl) throw new SamlRejected(`Response Destination "${response.destination ?? ''}" is not our ACS URL`);
    if (response.status !== SUCCESS) throw new SamlRejected('Response status is not Success');
    if (response.issuer !== undefined && response.issuer !== ex.idp.idpEntityId) throw new SamlRejected('Response issuer is not this tenant\'s IdP');

    if (!ex.cache.consumed || ex.cache.consumed.requestId !== requestId) throw new SamlRejected('InResponseTo does not match an outstanding request');

    const assertionId = assertion.$?.ID as string | undefined;
    if (!assertionId) throw new SamlRejected('The assertion has no ID');
    const expiries = [time(first(bearer.SubjectConfirmationData)?.$?.NotOnOrAfter), time(first(assertion.Conditions)?.$?.NotOnOrAfter)]
      .filter((t): t is number => t !== undefined);
    const expiresAt = new Date(Math.max(...expiries, now) + skewMs);
    if (!(await this.#assertions.remember(ex.tenant, issuer, assertionId, expiresAt))) throw new SamlRejected('This assertion was already used (replay)');

    const userId = ex.idp.userAttribute ? attributeValues(profile, ex.idp.userAttribute)[0] : profile.nameID;
    if (!userId) throw new SamlRejected(`The assertion carries no user id (${ex.idp.userAttribute ? `attribute ${ex.idp.userAttribute}` : 'NameID'})`);
    const roles = mapRoles(attributeValues(profile, ex.idp.roleAttribute), ex.idp.roleMap);
    const displayName = ['displayName', 'cn', 'mail', 'email'].map((a) => attributeValues(profile, a)[0]).find(Boolean);
    return { userId, displayName, roles, sessionIndex: profile.sessionIndex, returnTo: ex.cache.consumed.returnTo };
  }

  #responseFacts(xml: string | undefined): { destination?: string; status?: string; issuer?: string } {
    if (!xml) return {};
    const doc = new DOMParser({ errorHandler: () => undefined }).parseFromString(xml, 'text/xml');
    const root = doc?.documentElement;
    if (!root || root.localName !== 'Response' || root.namespaceURI !== PROTOCOL_NS) return {};
    const child = (parent: Element, ns: string, name: string) => Array.from(parent.childNodes).find(
      (n): n is Element => n.nodeType === 1 && (n as Element).localName === name && (n as Element).namespaceURI === ns);
    const status = child(root, PROTOCOL_NS, 'Status');
    const code = status && child(status, PROTOCOL_NS, 'StatusCode');
    const issuer = child(root, ASSERTION_NS, 'Issuer');
    return { destination: root.getAttribute('Destination') ?? undefined, status: code?.getAttribute('Value') ?? undefined, issuer: issuer?.textContent?.trim() };
  }
}
