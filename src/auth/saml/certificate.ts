/**
 * Self-signed X.509 certificates for a tenant's SP keys. SAML metadata carries keys as certificates, but only the key
 * inside matters (peers pin it; nobody validates a chain), so a minimal v3 certificate built with node:crypto is
 * enough and saves a dependency. Each certificate is parsed back and its signature verified before use.
 */
import { X509Certificate, createPublicKey, generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const SHA256_WITH_RSA = seq(der(0x06, Buffer.from('2a864886f70d01010b', 'hex')), Buffer.from([0x05, 0x00]));
const COMMON_NAME_OID = der(0x06, Buffer.from('550403', 'hex'));

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const full = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(full.slice(2), 'ascii')) : der(0x18, Buffer.from(full, 'ascii'));
}

/** A self-signed certificate (sha256WithRSAEncryption) for an RSA private key, valid from yesterday for `years`. */
export function selfSignedCertificate(privateKey: KeyObject, commonName: string, years = 10): string {
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('SP keys are RSA keys');
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x40; // positive, no leading zero byte needed
  const name = seq(der(0x31, seq(COMMON_NAME_OID, der(0x0c, Buffer.from(commonName.slice(0, 64), 'utf8')))));
  const now = Date.now();
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([0x02]))), // version: v3
    der(0x02, serial),
    SHA256_WITH_RSA,
    name, // issuer
    seq(time(new Date(now - 86_400_000)), time(new Date(now + years * 365 * 86_400_000))),
    name, // subject
    spki,
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = seq(tbs, SHA256_WITH_RSA, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const parsed = new X509Certificate(pem);
  if (!parsed.verify(parsed.publicKey) || !parsed.checkPrivateKey(privateKey)) throw new Error('generated certificate does not verify');
  return pem;
}

/** A new RSA key pair (3072 bits) and its self-signed certificate, both PEM. */
export async function newRsaKeyWithCertificate(commonName: string): Promise<{ privateKeyPem: string; certificatePem: string }> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 3072 });
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, certificatePem: selfSignedCertificate(privateKey, commonName) };
}
