/**
 * Attacks on the SAML ACS, each starting from a genuine sign-in at a real IdP (SimpleSAMLphp): unsigned and
 * tampered assertions, a foreign signing key, wrong audience (a genuine assertion for another SP), expired and
 * not-yet-valid assertions, replays, signature wrapping (XSW), comment truncation, another tenant's SP, missing and
 * forged InResponseTo, wrong Recipient/Destination/Issuer. Every one must be a 401 without a session cookie.
 *
 * Some cases need a *validly signed* assertion with chosen content; the test holds the IdP's signing key (it
 * generated it), and a control case proves that a re-signed but unmodified assertion is accepted, so each refusal
 * below is due to the check it names and not to a broken signature.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { startTestServer, fhir, type TestServer } from '../helpers/server.ts';
import { startSamlIdp, startLogin, idpAuthenticate, postToAcs, sessionCookieOf, CookieJar, type SamlIdp } from '../helpers/saml-idp.ts';
import { selfSignedCertificate } from '../../src/auth/saml/certificate.ts';

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

let srv: TestServer;
let idp: SamlIdp;
let base: string;
let otherBase: string;
const jar = new CookieJar(); // the browser's IdP session: after the first login the IdP answers without a form

before(async () => {
  srv = await startTestServer();
  idp = await startSamlIdp();
  base = `${srv.url}/t/${srv.tenant}`;
  await idp.configureTenant(srv, srv.tenant);
  const other = await srv.newTenant('saml-b');
  otherBase = `${srv.url}/t/${other}`;
  await idp.configureTenant(srv, other);
});
after(async () => {
  await idp?.stop();
  await srv?.close();
});

/** A genuine response from the IdP to a fresh AuthnRequest of `tenantBase`. */
async function genuine(user = 'victor', password = 'victor-pass', tenantBase = base) {
  const start = await startLogin(tenantBase);
  const answer = await idpAuthenticate(start.idpUrl, user, password, jar);
  return { ...answer, requestId: start.requestId };
}

const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml');
const serialize = (node: Node) => new XMLSerializer().serializeToString(node);
const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
const el = (parent: Document | Element, ns: string, name: string) => Array.from(parent.getElementsByTagNameNS(ns, name)) as Element[];
const assertionOf = (doc: Document) => el(doc, SAML, 'Assertion')[0];
const childSignature = (e: Element) => Array.from(e.childNodes).find((n) => (n as Element).localName === 'Signature' && (n as Element).namespaceURI === DS) as Element | undefined;

/** Signs the (only) assertion of a response document with a key (the IdP's by default), enveloped, after its Issuer. */
function signAssertion(xml: string, key = { privateKeyPem: idp.privateKeyPem, certificatePem: idp.certificatePem }): string {
  const sig = new SignedXml({
    privateKey: key.privateKeyPem, publicCert: key.certificatePem,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath: "//*[local-name(.)='Assertion']",
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
  });
  sig.computeSignature(xml, { location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' } });
  return sig.getSignedXml();
}

/** Removes the assertion's signature, lets `mutate` change the document, and signs the assertion again. */
function resign(responseXml: string, mutate: (doc: Document, assertion: Element) => void = () => {}, key?: { privateKeyPem: string; certificatePem: string }): string {
  const doc = parse(responseXml);
  const a = assertionOf(doc);
  childSignature(a)?.parentNode?.removeChild(childSignature(a)!);
  mutate(doc, a);
  return signAssertion(serialize(doc), key);
}

const setAll = (doc: Document, attr: string, value: string) => {
  for (const e of Array.from(doc.getElementsByTagName('*'))) if (e.hasAttribute(attr)) e.setAttribute(attr, value);
};
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function refused(samlResponseXml: string, acsUrl: string, pattern?: RegExp): Promise<string> {
  const r = await postToAcs(acsUrl, b64(samlResponseXml));
  const text = await r.text();
  assert.equal(r.status, 401, `expected 401, got ${r.status}: ${text}`);
  assert.equal(sessionCookieOf(r), undefined, 'no session cookie on a refused sign-in');
  if (pattern) assert.match(text, pattern);
  return text;
}

test('control: the genuine response is accepted, and so is one re-signed with the IdP key without changes', async () => {
  const g = await genuine();
  const ok = await postToAcs(g.acsUrl, g.samlResponse);
  assert.equal(ok.status, 303, await ok.clone().text());
  const g2 = await genuine();
  const ok2 = await postToAcs(g2.acsUrl, b64(resign(g2.responseXml)));
  assert.equal(ok2.status, 303, await ok2.text());
  assert.ok(sessionCookieOf(ok2));
});

test('unsigned assertion (signature stripped) is refused', async () => {
  const g = await genuine();
  const doc = parse(g.responseXml);
  const a = assertionOf(doc);
  a.removeChild(childSignature(a)!);
  await refused(serialize(doc), g.acsUrl, /signature/i);
});

test('assertion content changed after signing (viewer → admin group) is refused', async () => {
  const g = await genuine();
  assert.match(g.responseXml, /plan-viewers/);
  await refused(g.responseXml.replace(/plan-viewers/g, 'plan-admins'), g.acsUrl, /signature/i);
});

test('assertion signed by a key other than the IdP\'s (certificate embedded in KeyInfo) is refused', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const evil = { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, certificatePem: selfSignedCertificate(privateKey, 'evil') };
  const g = await genuine();
  const forged = resign(g.responseXml, (doc) => { for (const v of el(doc, SAML, 'AttributeValue')) if (v.textContent === 'plan-viewers') v.textContent = 'plan-admins'; }, evil);
  await refused(forged, g.acsUrl, /signature/i);
});

test('wrong audience: a genuine IdP-signed assertion issued for another SP (same ACS URL) is refused', async () => {
  const alias = 'https://evil.example/sp';
  idp.registerSp(await (await fetch(`${base}/auth/saml/metadata`)).text(), { entityId: alias, validateRequests: false });
  const start = await startLogin(base);
  const rewritten = start.requestXml.replace(/(<saml:Issuer[^>]*>)[^<]*(<\/saml:Issuer>)/, `$1${alias}$2`);
  assert.notEqual(rewritten, start.requestXml);
  const url = `${idp.ssoUrl}?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(rewritten)).toString('base64'))}`;
  const answer = await idpAuthenticate(url, 'victor', 'victor-pass', jar);
  assert.match(answer.responseXml, new RegExp(`<saml:Audience>${alias}</saml:Audience>`));
  assert.match(answer.responseXml, new RegExp(`InResponseTo="${start.requestId}"`));
  await refused(answer.responseXml, answer.acsUrl, /audience/i);
});

test('expired assertion (validly signed, every time an hour in the past) is refused', async () => {
  const g = await genuine();
  const hourAgo = Date.now() - 3600_000;
  const forged = resign(g.responseXml, (doc) => {
    setAll(doc, 'IssueInstant', iso(hourAgo));
    setAll(doc, 'AuthnInstant', iso(hourAgo));
    setAll(doc, 'NotBefore', iso(hourAgo - 30_000));
    setAll(doc, 'NotOnOrAfter', iso(hourAgo + 300_000));
  });
  await refused(forged, g.acsUrl, /no valid subject confirmation/i); // the bearer confirmation's window is checked first
  // only the Conditions window expired (the subject confirmation still current): refused by the Conditions check
  const g2 = await genuine();
  const forged2 = resign(g2.responseXml, (_doc, a) => {
    const c = el(a, SAML, 'Conditions')[0];
    c.setAttribute('NotBefore', iso(hourAgo - 30_000));
    c.setAttribute('NotOnOrAfter', iso(hourAgo + 300_000));
  });
  await refused(forged2, g2.acsUrl, /assertion expired/i);
});

test('not-yet-valid assertion (NotBefore an hour ahead) is refused', async () => {
  const g = await genuine();
  const forged = resign(g.responseXml, (doc) => {
    setAll(doc, 'NotBefore', iso(Date.now() + 3600_000));
    setAll(doc, 'NotOnOrAfter', iso(Date.now() + 7200_000));
  });
  await refused(forged, g.acsUrl, /no valid subject confirmation|not yet valid/i);
});

test('replay: a response that was accepted once is refused the second time', async () => {
  const g = await genuine();
  const first = await postToAcs(g.acsUrl, g.samlResponse);
  assert.equal(first.status, 303);
  await refused(g.responseXml, g.acsUrl, /InResponseTo/);
});

test('replay of an accepted assertion against a new outstanding request (assertion id store) is refused', async () => {
  const g = await genuine();
  assert.equal((await postToAcs(g.acsUrl, g.samlResponse)).status, 303);
  const fresh = await startLogin(base); // a real outstanding request the attacker re-targets the old assertion to
  const forged = resign(g.responseXml, (doc) => setAll(doc, 'InResponseTo', fresh.requestId));
  await refused(forged, g.acsUrl, /already used/);
});

test('two concurrent posts of one response: exactly one session', async () => {
  const g = await genuine();
  const [a, b] = await Promise.all([postToAcs(g.acsUrl, g.samlResponse), postToAcs(g.acsUrl, g.samlResponse)]);
  assert.deepEqual([a.status, b.status].sort(), [303, 401]);
});

test('XSW: an unsigned evil assertion placed before the signed one is refused', async () => {
  const g = await genuine();
  const doc = parse(g.responseXml);
  const signed = assertionOf(doc);
  const evil = signed.cloneNode(true) as Element;
  evil.removeChild(childSignature(evil)!);
  evil.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
  for (const v of el(evil, SAML, 'AttributeValue')) if (v.textContent === 'plan-viewers') v.textContent = 'plan-admins';
  signed.parentNode!.insertBefore(evil, signed);
  await refused(serialize(doc), g.acsUrl, /multiple assertions/);
});

test('XSW: an evil assertion wrapping the original signed assertion is refused', async () => {
  const g = await genuine();
  const doc = parse(g.responseXml);
  const signed = assertionOf(doc);
  const evil = signed.cloneNode(true) as Element;
  evil.removeChild(childSignature(evil)!);
  evil.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
  for (const v of el(evil, SAML, 'AttributeValue')) if (v.textContent === 'plan-viewers') v.textContent = 'plan-admins';
  signed.parentNode!.replaceChild(evil, signed);
  evil.appendChild(signed); // the genuine, still-valid signed assertion inside the evil one
  await refused(serialize(doc), g.acsUrl, /Invalid signature/);
});

test('XSW: evil assertion with the signed one\'s ID, the original moved into Extensions, is refused', async () => {
  const g = await genuine();
  const doc = parse(g.responseXml);
  const signed = assertionOf(doc);
  const evil = signed.cloneNode(true) as Element;
  evil.removeChild(childSignature(evil)!);
  for (const v of el(evil, SAML, 'AttributeValue')) if (v.textContent === 'plan-viewers') v.textContent = 'plan-admins';
  const response = doc.documentElement!;
  const ext = doc.createElementNS(SAMLP, 'samlp:Extensions');
  response.replaceChild(evil, signed);
  ext.appendChild(signed);
  response.insertBefore(ext, el(doc, SAMLP, 'Status')[0]);
  await refused(serialize(doc), g.acsUrl, /Invalid signature/);
});

test('XSW: evil assertion carrying the original signature, the signed content hidden in its ds:Object, is refused', async () => {
  const g = await genuine();
  const doc = parse(g.responseXml);
  const signed = assertionOf(doc);
  const evil = signed.cloneNode(true) as Element;
  evil.setAttribute('ID', `_evil${randomBytes(8).toString('hex')}`);
  for (const v of el(evil, SAML, 'AttributeValue')) if (v.textContent === 'plan-viewers') v.textContent = 'plan-admins';
  const sigCopy = childSignature(evil)!; // same SignedInfo, referencing the original ID
  const object = doc.createElementNS(DS, 'ds:Object');
  signed.parentNode!.replaceChild(evil, signed);
  signed.removeChild(childSignature(signed)!); // the referenced (original) content, its digest still matching
  object.appendChild(signed);
  sigCopy.appendChild(object);
  await refused(serialize(doc), g.acsUrl, /Referenced node does not refer to it's parent/);
});

test('comment injection in a signed value does not truncate it (uid "vic<!---->tor" stays "victor")', async () => {
  const g = await genuine();
  // Exclusive C14N drops comments, so the IdP's signature still verifies; a parser reading only the first text
  // node would see "vic". We must see the whole signed value.
  const injected = g.responseXml.replace(/(<saml:AttributeValue[^>]*>)victor(<\/saml:AttributeValue>)/, '$1vic<!---->tor$2');
  assert.notEqual(injected, g.responseXml);
  const r = await postToAcs(g.acsUrl, b64(injected));
  assert.equal(r.status, 303, await r.clone().text());
  const cookie = sessionCookieOf(r)!;
  const s = await (await fetch(`${base}/auth/session`, { headers: { cookie } })).json();
  assert.equal(s.user.id, 'victor');
});

test('assertion for another tenant\'s SP is refused at this tenant\'s ACS', async () => {
  const g = await genuine('alice', 'alice-pass', otherBase);
  assert.match(g.responseXml, new RegExp(`<saml:Audience>${otherBase}/auth/saml/metadata</saml:Audience>`));
  await refused(g.responseXml, `${base}/auth/saml/acs`, /InResponseTo/);
  // even with an outstanding request of this tenant re-targeted (validly signed): audience and recipient still differ
  const mine = await startLogin(base);
  const g2 = await genuine('alice', 'alice-pass', otherBase);
  await refused(resign(g2.responseXml, (doc) => setAll(doc, 'InResponseTo', mine.requestId)), `${base}/auth/saml/acs`, /audience|Recipient/i);
});

test('missing InResponseTo: an unsolicited (IdP-initiated) response is refused', async () => {
  const answer = await idpAuthenticate(`${idp.ssoUrl}?spentityid=${encodeURIComponent(`${base}/auth/saml/metadata`)}`, 'victor', 'victor-pass', jar);
  assert.doesNotMatch(answer.responseXml, /InResponseTo=/);
  await refused(answer.responseXml, answer.acsUrl, /InResponseTo/);
});

test('forged InResponseTo: another outstanding request id in the unsigned Response, or an unknown id signed in, is refused', async () => {
  const g = await genuine();
  const other = await startLogin(base);
  const doc = parse(g.responseXml);
  doc.documentElement!.setAttribute('InResponseTo', other.requestId);
  await refused(serialize(doc), g.acsUrl, /InResponseTo/);

  const g2 = await genuine();
  await refused(resign(g2.responseXml, (d) => setAll(d, 'InResponseTo', `_${randomBytes(20).toString('hex')}`)), g2.acsUrl, /InResponseTo/);
});

test('wrong Recipient, Destination or Issuer is refused (validly signed where the field is signed)', async () => {
  const g1 = await genuine();
  await refused(resign(g1.responseXml, (doc) => setAll(doc, 'Recipient', 'https://evil.example/acs')), g1.acsUrl, /SubjectConfirmation/);
  const g2 = await genuine();
  const doc = parse(g2.responseXml);
  doc.documentElement!.setAttribute('Destination', 'https://evil.example/acs');
  await refused(serialize(doc), g2.acsUrl, /Destination/);
  const g3 = await genuine();
  await refused(resign(g3.responseXml, (d, a) => { el(a, SAML, 'Issuer')[0].textContent = 'https://evil.example/idp'; }), g3.acsUrl, /issuer/i);
  const g4 = await genuine();
  await refused(resign(g4.responseXml, (d, a) => {
    for (const c of el(a, SAML, 'SubjectConfirmation')) c.setAttribute('Method', 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key');
  }), g4.acsUrl, /SubjectConfirmation/);
});

test('only the HTTP-POST binding with a SAMLResponse is accepted at the ACS', async () => {
  const g = await genuine();
  const get = await fetch(`${g.acsUrl}?SAMLResponse=${encodeURIComponent(g.samlResponse)}`, { redirect: 'manual' });
  assert.equal(get.status, 405);
  const json = await fhir(g.acsUrl, { method: 'POST', json: { SAMLResponse: g.samlResponse }, anonymous: true });
  assert.equal(json.status, 400);
  const withRequest = await postToAcs(g.acsUrl, g.samlResponse, { SAMLRequest: 'x' });
  assert.equal(withRequest.status, 400);
  const garbage = await postToAcs(g.acsUrl, b64('<not-saml/>'));
  assert.equal(garbage.status, 401);
});
