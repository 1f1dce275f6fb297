/**
 * A real SAML identity provider for tests: SimpleSAMLphp from Debian, run with PHP's built-in web server on a free
 * loopback port, configured in a temporary folder generated here (an IdP with the exampleauth:UserPass module, test
 * users with group attributes, a signing key and certificate made at start). CI machines start fresh, so if
 * SimpleSAMLphp or PHP is missing it is installed with apt-get first.
 *
 *   const idp = await startSamlIdp();                 // once per test file; idp.stop() in after()
 *   await idp.configureTenant(srv, tenant, { roleMap: 'plan-admins=admin' });   // our IdP config + SP registered at the IdP
 *   const { cookie, csrfToken } = await signIn(`${srv.url}/t/${tenant}`, 'alice', 'alicepass');
 *
 * The lower-level steps (startLogin, idpAuthenticate, postToAcs) let attack tests tamper with the messages.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { selfSignedCertificate } from '../../src/auth/saml/certificate.ts';

export const SSP_ROOT = '/usr/share/simplesamlphp';
const SSP_WWW = path.join(SSP_ROOT, 'www');
const DEBIAN_PACKAGES = ['simplesamlphp', 'php-cli', 'php-xml', 'php-mbstring', 'php-curl'];

export interface IdpUser { username: string; password: string; attributes: Record<string, string[]> }

/** alice: admin group; eddie: editors; victor: viewers; olga: an auditor and an exporter; nobody: no mapped group. */
export const TEST_USERS: IdpUser[] = [
  { username: 'alice', password: 'alice-pass', attributes: { uid: ['alice'], displayName: ['Alice Admin'], groups: ['plan-admins', 'staff'] } },
  { username: 'eddie', password: 'eddie-pass', attributes: { uid: ['eddie'], displayName: ['Eddie Editor'], groups: ['plan-editors', 'staff'] } },
  { username: 'victor', password: 'victor-pass', attributes: { uid: ['victor'], displayName: ['Victor Viewer'], groups: ['plan-viewers', 'staff'] } },
  { username: 'olga', password: 'olga-pass', attributes: { uid: ['olga'], displayName: ['Olga Oversight'], groups: ['plan-auditors', 'plan-exporters'] } },
  { username: 'nobody', password: 'nobody-pass', attributes: { uid: ['nobody'], groups: ['outsiders'] } },
];

/** The group→role mapping the tests configure for the users above. */
export const TEST_ROLE_MAP = 'plan-admins=admin,plan-editors=editor,plan-viewers=viewer,plan-auditors=auditor,plan-exporters=exporter';

export interface SpRegistration {
  /** Register under this entity id instead of the one in the metadata (attack tests: an SP alias). */
  entityId?: string;
  /** Require our AuthnRequests to be signed with the SP signing certificate from the metadata (default true). */
  validateRequests?: boolean;
  /** Encrypt assertions to the SP's encryption certificate. */
  encryptAssertions?: boolean;
  /** Also sign the whole Response (SimpleSAMLphp signs the assertion in any case). */
  signResponse?: boolean;
  /** Assertion lifetime in seconds (SimpleSAMLphp's default is 300). */
  assertionLifetimeS?: number;
}

export interface SamlIdp {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  entityId: string;
  metadataUrl: string;
  ssoUrl: string;
  /** The IdP's signing key and certificate (attack tests sign crafted assertions with them). */
  privateKeyPem: string;
  certificatePem: string;
  /** Registers an SP at the IdP from its SAML metadata XML. */
  registerSp(metadataXml: string, opts?: SpRegistration): void;
  /** Fetches a tenant's SP metadata from our server and registers it. */
  registerTenant(tenantBase: string, opts?: SpRegistration): Promise<string>;
  /** Configures the tenant (via our CLI-equivalent store API on the running server) and registers its SP. */
  configureTenant(server: { url: string; services: any }, tenant: string, opts?: { roleMap?: string; roleAttribute?: string; userAttribute?: string; wantResponseSigned?: boolean; sp?: SpRegistration }): Promise<void>;
  stop(): Promise<void>;
}

function hasSimpleSamlPhp(): boolean {
  try {
    execFileSync('php', ['-r', 'exit(extension_loaded("dom") && extension_loaded("openssl") ? 0 : 1);'], { stdio: 'ignore' });
    return fs.existsSync(path.join(SSP_WWW, 'saml2', 'idp', 'SSOService.php'));
  } catch { return false; }
}

/** Installs SimpleSAMLphp and PHP from Debian when they are missing (fresh CI machines). */
export function ensureSimpleSamlPhp(): void {
  if (hasSimpleSamlPhp()) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', '-qq', ...DEBIAN_PACKAGES], { stdio: 'ignore', env, timeout: 900_000 });
  if (!hasSimpleSamlPhp()) throw new Error(`SimpleSAMLphp is still not usable after apt-get install ${DEBIAN_PACKAGES.join(' ')}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); });
  });
}

/** A PHP string literal (single-quoted). */
const php = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/** A PHP value from JSON-able data, via a nowdoc (no escaping pitfalls). */
const phpValue = (v: unknown) => `json_decode(<<<'JSON'\n${JSON.stringify(v)}\nJSON, true)`;

const stripPem = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

export interface SpMetadata { entityId: string; acsUrl: string; signingCert?: string; encryptionCert?: string }

export function parseSpMetadata(xml: string): SpMetadata {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
  const root = doc.documentElement!;
  const acs = Array.from(doc.getElementsByTagNameNS(MD, 'AssertionConsumerService'))
    .find((e) => e.getAttribute('Binding') === 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
  const cert = (use: string) => {
    const kd = Array.from(doc.getElementsByTagNameNS(MD, 'KeyDescriptor')).find((k) => k.getAttribute('use') === use);
    const c = kd?.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate')[0];
    return c?.textContent?.replace(/\s+/g, '') || undefined;
  };
  return { entityId: root.getAttribute('entityID')!, acsUrl: acs!.getAttribute('Location')!, signingCert: cert('signing'), encryptionCert: cert('encryption') };
}

export async function startSamlIdp(opts: { users?: IdpUser[] } = {}): Promise<SamlIdp> {
  ensureSimpleSamlPhp();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-ssp-'));
  for (const d of ['config', 'metadata', 'cert', 'tmp', 'sessions', 'log']) fs.mkdirSync(path.join(dir, d));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const entityId = `${url}/idp`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const certificatePem = selfSignedCertificate(createPrivateKey(privateKeyPem), 'SimpleSAMLphp test IdP', 1);
  fs.writeFileSync(path.join(dir, 'cert', 'idp.key'), privateKeyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'cert', 'idp.crt'), certificatePem);

  const users = opts.users ?? TEST_USERS;
  const config = {
    baseurlpath: `${url}/`,
    certdir: `${dir}/cert/`,
    loggingdir: `${dir}/log/`,
    datadir: `${dir}/tmp/`,
    tempdir: `${dir}/tmp/`,
    metadatadir: `${dir}/metadata/`,
    technicalcontact_name: 'Plan-Net tests',
    technicalcontact_email: 'tests@example.org',
    timezone: 'UTC',
    secretsalt: randomBytes(24).toString('hex'),
    'auth.adminpassword': randomBytes(24).toString('hex'),
    'admin.protectindexpage': true,
    'admin.protectmetadata': false,
    'admin.checkforupdates': false,
    'enable.saml20-idp': true,
    'module.enable': { exampleauth: true, core: true, saml: true },
    'logging.handler': 'file',
    'logging.logfile': 'simplesamlphp.log',
    'store.type': 'phpsession',
    'session.cookie.secure': false,
    'session.cookie.samesite': null,
    'session.phpsession.savepath': `${dir}/sessions`,
    'language.cookie.secure': false,
    'showerrors': true,
    'errorreporting': false,
    'production': true,
    'metadata.sources': [{ type: 'flatfile' }],
  };
  fs.writeFileSync(path.join(dir, 'config', 'config.php'), `<?php\n$config = ${phpValue(config)};\n$config['logging.level'] = SimpleSAML\\Logger::DEBUG;\n`);
  const authsource: Record<string, unknown> = {};
  for (const u of users) authsource[`${u.username}:${u.password}`] = u.attributes;
  fs.writeFileSync(path.join(dir, 'config', 'authsources.php'),
    `<?php\n$config = ['example-userpass' => array_merge(['exampleauth:UserPass'], ${phpValue(authsource)})];\n`);
  fs.writeFileSync(path.join(dir, 'metadata', 'saml20-idp-hosted.php'), `<?php\n$metadata[${php(entityId)}] = ${phpValue({
    host: '__DEFAULT__',
    privatekey: 'idp.key',
    certificate: 'idp.crt',
    auth: 'example-userpass',
    'signature.algorithm': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'attributes.NameFormat': 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  })};\n`);
  const sps = new Map<string, string>();
  const writeSps = () => fs.writeFileSync(path.join(dir, 'metadata', 'saml20-sp-remote.php'), `<?php\n${[...sps.values()].join('\n')}\n`);
  writeSps();

  const log = fs.openSync(path.join(dir, 'php-server.log'), 'a');
  const child: ChildProcess = spawn('php', ['-d', 'opcache.enable=0', '-d', 'opcache.enable_cli=0', '-d', 'display_errors=0',
    '-S', `127.0.0.1:${port}`, '-t', SSP_WWW], { env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: path.join(dir, 'config') }, stdio: ['ignore', log, log], cwd: dir });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const killOnExit = () => { if (!exited) child.kill('SIGKILL'); };
  process.once('exit', killOnExit);

  const metadataUrl = `${url}/saml2/idp/metadata.php`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(metadataUrl, { signal: AbortSignal.timeout(2_000) });
      if (r.ok && (await r.text()).includes(entityId)) break;
    } catch { /* not up yet */ }
    if (exited || i > 100) {
      killOnExit();
      throw new Error(`SimpleSAMLphp did not start on ${url}: ${fs.readFileSync(path.join(dir, 'php-server.log'), 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const idp: SamlIdp = {
    url, entityId, metadataUrl, ssoUrl: `${url}/saml2/idp/SSOService.php`, privateKeyPem, certificatePem,
    registerSp(metadataXml, o = {}) {
      const md = parseSpMetadata(metadataXml);
      const id = o.entityId ?? md.entityId;
      const keys: Record<string, unknown>[] = [];
      if (md.signingCert) keys.push({ encryption: false, signing: true, type: 'X509Certificate', X509Certificate: md.signingCert });
      if (md.encryptionCert) keys.push({ encryption: true, signing: false, type: 'X509Certificate', X509Certificate: md.encryptionCert });
      sps.set(id, `$metadata[${php(id)}] = ${phpValue({
        AssertionConsumerService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: md.acsUrl }],
        keys,
        'validate.authnrequest': o.validateRequests ?? true,
        'redirect.validate': o.validateRequests ?? true,
        'assertion.encryption': o.encryptAssertions ?? false,
        'saml20.sign.response': o.signResponse ?? false,
        'saml20.sign.assertion': true,
        'assertion.lifetime': o.assertionLifetimeS ?? 300,
        NameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
      })};`);
      writeSps();
    },
    async registerTenant(tenantBase, o) {
      const r = await fetch(`${tenantBase}/auth/saml/metadata`);
      if (!r.ok) throw new Error(`SP metadata: ${r.status} ${await r.text()}`);
      const xml = await r.text();
      idp.registerSp(xml, o);
      return xml;
    },
    async configureTenant(server, tenant, o = {}) {
      const { SamlConfigStore, resolveConfigInput } = await import('../../src/auth/saml/idp-config.ts');
      const store = new SamlConfigStore(server.services.db, 0);
      await store.put(await resolveConfigInput(tenant, {
        metadataUrl: metadataUrl, roleMap: o.roleMap ?? TEST_ROLE_MAP, roleAttribute: o.roleAttribute ?? 'groups',
        userAttribute: o.userAttribute ?? 'uid', wantResponseSigned: o.wantResponseSigned ?? false,
      }));
      await idp.registerTenant(`${server.url}/t/${tenant}`, o.sp);
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      if (!exited) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([done, new Promise((r) => setTimeout(r, 3_000))]);
        if (!exited) { child.kill('SIGKILL'); await done; }
      }
      fs.closeSync(log);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return idp;
}

// ---------------------------------------------------------------------------------------------------------------
// Driving the browser side of the bindings with fetch and a cookie jar.

/** A minimal cookie jar: name=value per origin (enough for one IdP and one SP on loopback). */
export class CookieJar {
  readonly #byOrigin = new Map<string, Map<string, string>>();
  store(url: string, res: Response): void {
    const origin = new URL(url).origin;
    const jar = this.#byOrigin.get(origin) ?? new Map<string, string>();
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '' || value === 'deleted') jar.delete(name); else jar.set(name, value);
    }
    this.#byOrigin.set(origin, jar);
  }
  header(url: string): string {
    return [...(this.#byOrigin.get(new URL(url).origin) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(url: string, name: string): string | undefined { return this.#byOrigin.get(new URL(url).origin)?.get(name); }
}

async function request(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie) headers.set('cookie', cookie);
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(url, res);
  return res;
}

/** GET with redirects followed by hand (so every hop's cookies land in the jar). */
async function follow(jar: CookieJar, url: string, limit = 10): Promise<{ url: string; res: Response }> {
  let current = url;
  for (let i = 0; i < limit; i++) {
    const res = await request(jar, current);
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      current = new URL(res.headers.get('location')!, current).toString();
      await res.arrayBuffer();
      continue;
    }
    return { url: current, res };
  }
  throw new Error(`too many redirects from ${url}`);
}

const unescapeHtml = (s: string) => s.replace(/&quot;/g, '"').replace(/&#0?39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function formOf(html: string, pageUrl: string): { action: string; fields: Record<string, string> } {
  const form = /<form\b[^>]*>/i.exec(html);
  if (!form) throw new Error(`no form on ${pageUrl}: ${html.slice(0, 500)}`);
  const action = /action="([^"]*)"/i.exec(form[0])?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input\b[^>]*>/gi)) {
    const name = /name="([^"]*)"/i.exec(m[0])?.[1];
    const value = /value="([^"]*)"/i.exec(m[0])?.[1] ?? '';
    if (name) fields[unescapeHtml(name)] = unescapeHtml(value);
  }
  return { action: new URL(unescapeHtml(action) || pageUrl, pageUrl).toString(), fields };
}

export interface LoginStart { idpUrl: string; requestId: string; requestXml: string; res: Response }

/** GET {tenantBase}/auth/saml/login: our redirect to the IdP, with the AuthnRequest decoded. */
export async function startLogin(tenantBase: string, returnTo?: string): Promise<LoginStart> {
  const res = await fetch(`${tenantBase}/auth/saml/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  const idpUrl = res.headers.get('location')!;
  const requestXml = inflateRawSync(Buffer.from(new URL(idpUrl).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  const requestId = /\bID="([^"]+)"/.exec(requestXml)![1];
  return { idpUrl, requestId, requestXml, res };
}

export interface IdpAnswer { acsUrl: string; samlResponse: string; relayState?: string; responseXml: string }

/** Follows the redirect to the IdP, submits its login form, and returns the auto-posting form's SAMLResponse. */
export async function idpAuthenticate(idpUrl: string, username: string, password: string, jar = new CookieJar()): Promise<IdpAnswer> {
  let { url, res } = await follow(jar, idpUrl);
  let html = await res.text();
  if (/name="password"/.test(html)) {
    const login = formOf(html, url);
    const body = new URLSearchParams({ ...login.fields, username, password });
    const posted = await request(jar, login.action, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    if (posted.status >= 300 && posted.status < 400) {
      ({ url, res } = await follow(jar, new URL(posted.headers.get('location')!, login.action).toString()));
      html = await res.text();
    } else { url = login.action; html = await posted.text(); }
  }
  if (!/name="SAMLResponse"/.test(html)) throw new Error(`the IdP did not answer with a SAMLResponse (${res.status} at ${url}): ${html.replace(/\s+/g, ' ').slice(0, 800)}`);
  const form = formOf(html, url);
  return { acsUrl: form.action, samlResponse: form.fields.SAMLResponse, relayState: form.fields.RelayState, responseXml: Buffer.from(form.fields.SAMLResponse, 'base64').toString('utf8') };
}

/** POSTs a SAMLResponse to an ACS as the browser's auto-submitting form would. */
export async function postToAcs(acsUrl: string, samlResponse: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(acsUrl, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ SAMLResponse: samlResponse, ...extra }),
  });
}

/** The session cookie (`name=value`) set by an ACS answer, if any. */
export function sessionCookieOf(res: Response): string | undefined {
  const c = res.headers.getSetCookie().find((s) => s.startsWith('plannet_session=') && !/^plannet_session=;/.test(s));
  return c?.split(';')[0];
}

export interface SignedIn { cookie: string; csrfToken: string; session: any; location: string; setCookie: string }

/**
 * Signs a user in through the real bindings: our login redirect → the IdP's login form → the IdP's POST to our ACS.
 * Returns the session cookie (`plannet_session=…`, for a Cookie header) and the session's CSRF token.
 */
export async function signIn(tenantBase: string, username: string, password: string, opts: { returnTo?: string } = {}): Promise<SignedIn> {
  const start = await startLogin(tenantBase, opts.returnTo);
  const answer = await idpAuthenticate(start.idpUrl, username, password);
  const acs = await postToAcs(answer.acsUrl, answer.samlResponse, answer.relayState ? { RelayState: answer.relayState } : {});
  const cookie = sessionCookieOf(acs);
  if (acs.status !== 303 || !cookie) throw new Error(`sign-in of ${username} failed: ${acs.status} ${await acs.text()}`);
  const setCookie = acs.headers.getSetCookie().find((s) => s.startsWith('plannet_session='))!;
  const s = await fetch(`${tenantBase}/auth/session`, { headers: { cookie } });
  const session = await s.json();
  if (!session.authenticated) throw new Error(`session of ${username} not live: ${JSON.stringify(session)}`);
  return { cookie, csrfToken: session.csrf_token, session, location: acs.headers.get('location')!, setCookie };
}
