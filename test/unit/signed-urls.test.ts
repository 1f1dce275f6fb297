/**
 * The export-file URL signer, exhaustively over the ways one URL can be changed. Found by CI: a 32-byte MAC in
 * base64url has 2 unused bits in its last character, so comparing decoded bytes accepted four spellings of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { UrlSigner } from '../../src/jobs/export/signed-urls.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const NOW = Date.UTC(2026, 10, 23);

function signed(signer: UrlSigner) {
  const query = new URLSearchParams(signer.sign('t1', 'job-1', 'Organization-1.ndjson', 300, NOW).query);
  return { exp: query.get('exp')!, sig: query.get('sig')! };
}

test('every other character at every position of the signature is refused (including the last, whose low bits are unused)', () => {
  for (let round = 0; round < 20; round++) {
    const signer = new UrlSigner(randomBytes(32));
    const { exp, sig } = signed(signer);
    assert.equal(signer.verify('t1', 'job-1', 'Organization-1.ndjson', exp, sig, NOW), 'ok');
    for (let i = 0; i < sig.length; i++) {
      for (const c of ALPHABET) {
        if (c === sig[i]) continue;
        const changed = sig.slice(0, i) + c + sig.slice(i + 1);
        assert.equal(signer.verify('t1', 'job-1', 'Organization-1.ndjson', exp, changed, NOW), 'invalid', `${i}: ${changed}`);
      }
    }
  }
});

test('padding, truncation, other tenant, job, file or expiry, and a missing part are refused; past its time is expired', () => {
  const signer = new UrlSigner(randomBytes(32));
  const { exp, sig } = signed(signer);
  const verify = (t: string, j: string, f: string, e: string | undefined, s: string | undefined) => signer.verify(t, j, f, e, s, NOW);
  for (const s of [`${sig}=`, sig.slice(0, -1), `${sig}A`, sig.replace(/-/g, '+').replace(/_/g, '/'), undefined, '']) {
    if (s === sig) continue;
    assert.equal(verify('t1', 'job-1', 'Organization-1.ndjson', exp, s), 'invalid', String(s));
  }
  assert.equal(verify('t2', 'job-1', 'Organization-1.ndjson', exp, sig), 'invalid');
  assert.equal(verify('t1', 'job-2', 'Organization-1.ndjson', exp, sig), 'invalid');
  assert.equal(verify('t1', 'job-1', 'Organization-2.ndjson', exp, sig), 'invalid');
  assert.equal(verify('t1', 'job-1', 'Organization-1.ndjson', String(Number(exp) + 1), sig), 'invalid');
  assert.equal(verify('t1', 'job-1', 'Organization-1.ndjson', ` ${exp}`, sig), 'invalid');
  assert.equal(verify('t1', 'job-1', 'Organization-1.ndjson', undefined, sig), 'invalid');
  assert.equal(signer.verify('t1', 'job-1', 'Organization-1.ndjson', exp, sig, NOW + 301_000), 'expired');
  assert.equal(new UrlSigner(randomBytes(32)).verify('t1', 'job-1', 'Organization-1.ndjson', exp, sig, NOW), 'invalid', 'another key');
});
