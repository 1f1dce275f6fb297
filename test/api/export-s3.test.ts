/**
 * Export files in an S3-compatible object store (EXPORT_STORAGE=s3), end to end over HTTP: s3rver (an S3 protocol
 * server on its own port, from npm) stands in for the store — the same AWS SDK calls a deployment makes against AWS
 * S3, MinIO or Ceph. Files bigger than a part go up as multipart uploads; the manifest appears only after every object
 * is complete; downloads stream from the store through signed URLs; cancelling removes the job's objects.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import S3rver from 's3rver';
import { S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { loadConfig } from '../../src/config/config.ts';
import { clientToken, kickoff, loadSynthetic, poll, runExport, download, PLAN_NET } from './export-support.ts';

const BUCKET = 'plannet-exports';
const PREFIX = 'directory/exports';
let s3: S3rver;
let s3Dir: string;
let endpoint: string;
let client: S3Client;
let srv: TestServer;
let reader: Awaited<ReturnType<typeof clientToken>>;
let total: number;
/** Every request the store received. */
const requests: { method: string; path: string; query: string; bytes: number }[] = [];

/** Keys are tenant- and job-scoped: {EXPORT_S3_PREFIX}/tenants/{tenant}/jobs/{job}/{attempt}/{file}. */
const jobPrefix = (tenant: string, job: string) => `${PREFIX}/tenants/${tenant}/jobs/${job}/`;

async function objects(prefix: string): Promise<{ key: string; size: number; etag: string }[]> {
  const out: { key: string; size: number; etag: string }[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: Number(o.Size), etag: String(o.ETag) });
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return out;
}

before(async () => {
  s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-s3-'));
  s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Dir, configureBuckets: [{ name: BUCKET }] });
  const { port } = await s3.run();
  s3.httpServer!.on('request', (req: IncomingMessage) => {
    const [p, q] = (req.url ?? '').split('?');
    // the parameter names only, without the SDK's x-id (the operation's name)
    const query = [...new URLSearchParams(q ?? '').keys()].filter((k) => k !== 'x-id').join('&');
    requests.push({ method: req.method!, path: decodeURIComponent(p), query, bytes: Number(req.headers['content-length'] ?? 0) });
  });
  endpoint = `http://127.0.0.1:${port}`;
  // the AWS SDK's default credential chain, as in a deployment (s3rver's fixed test credentials)
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
  const d = loadConfig({ EXPORT_STORAGE: 's3', EXPORT_S3_BUCKET: BUCKET, EXPORT_S3_ENDPOINT: endpoint, EXPORT_S3_FORCE_PATH_STYLE: 'true', EXPORT_S3_PREFIX: `/${PREFIX}/` });
  srv = await startTestServer({ export: { ...d.export, maxLinesPerFile: 100_000 } });
  total = await loadSynthetic(srv, srv.tenant, 3300); // PractitionerRole then needs more than one 8 MiB part
  reader = await clientToken(srv, srv.tenant, ['system/*.read']);
  // transactionTime is the kick-off less EXPORT_SNAPSHOT_MARGIN_MS: writes younger than that are after it
  await new Promise((r) => setTimeout(r, srv.config.export.snapshotMarginMs + 100));
});
after(async () => {
  await srv?.close();
  await s3?.close();
  fs.rmSync(s3Dir, { recursive: true, force: true });
});

test('an export to S3: every file complete (the big ones as multipart uploads), under tenant- and job-scoped keys; downloads stream from the store', async () => {
  const { manifest, location } = await runExport(srv.base, reader.token);
  const job = location.split('/').at(-1)!;
  const stored = await objects(jobPrefix(srv.tenant, job));
  assert.equal(stored.length, manifest.output.length, 'one object per manifest file, nothing else');
  // how each object was written, from the store's request log: files over one 8 MiB part as multipart uploads
  // (initiate, parts, complete), the others as one PUT
  for (const o of stored) {
    const mine = requests.filter((r) => r.path === `/${BUCKET}/${o.key}`);
    const reqs = mine.map((r) => r.method + (r.query ? `?${r.query}` : ''));
    if (o.size > 8 * 1024 * 1024) {
      assert.deepEqual([reqs[0], reqs.at(-1)], ['POST?uploads', 'POST?uploadId'], `${o.key}: ${reqs.join(' ')}`);
      const parts = mine.filter((r) => r.method === 'PUT' && r.query === 'partNumber&uploadId').map((r) => r.bytes);
      assert.equal(parts.reduce((a, b) => a + b, 0), o.size, `${o.key}: the parts make up the object`);
      assert.ok(parts.slice(0, -1).every((b) => b >= 8 * 1024 * 1024), `${o.key}: every part but the last at least 8 MiB (S3's minimum is 5): ${parts.join(', ')}`);
    } else {
      assert.deepEqual(reqs, ['PUT'], `${o.key}: ${reqs.join(' ')}`);
    }
  }
  assert.ok(stored.some((o) => o.size > 8 * 1024 * 1024), `a file bigger than one part (sizes: ${stored.map((o) => o.size).join(', ')})`);
  let lines = 0;
  for (const o of manifest.output) {
    assert.ok(PLAN_NET.includes(o.type));
    const file = await download(o.url);
    assert.equal(file.status, 200);
    assert.equal(file.lines.length, o.count, o.url);
    assert.ok(file.lines.every((r) => r.resourceType === o.type));
    const object = stored.find((s) => o.url.includes(`/${s.key.split('/').at(-1)}?`));
    assert.ok(object, `${o.url} is an object in the bucket`);
    assert.equal(object.size, Buffer.byteLength(file.text), 'the object holds exactly the file');
    lines += file.lines.length;
  }
  assert.equal(lines, total, 'every resource exported once');
});

test('cancelling an export removes its objects from the bucket; later polls are 404', async () => {
  const { location } = await runExport(srv.base, reader.token, '?_type=Practitioner,Location');
  const job = location.split('/').at(-1)!;
  assert.ok((await objects(jobPrefix(srv.tenant, job))).length >= 2);
  const del = await fetch(location, { method: 'DELETE', headers: { authorization: `Bearer ${reader.token}` } });
  assert.equal(del.status, 202);
  const deadline = Date.now() + 20_000;
  while ((await objects(jobPrefix(srv.tenant, job))).length > 0) {
    assert.ok(Date.now() < deadline, 'objects removed within 20 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal((await fetch(location, { headers: { authorization: `Bearer ${reader.token}` } })).status, 404);
});

test('an unreachable store fails the export with an OperationOutcome, not a hang or a half manifest', async () => {
  const d = loadConfig({ EXPORT_STORAGE: 's3', EXPORT_S3_BUCKET: 'no-such-bucket', EXPORT_S3_ENDPOINT: endpoint, EXPORT_S3_FORCE_PATH_STYLE: 'true' });
  const broken = await startTestServer({ export: { ...d.export }, jobs: { ...d.jobs, retryLimit: 0 } });
  try {
    await loadSynthetic(broken, broken.tenant, 5);
    const token = (await clientToken(broken, broken.tenant, ['system/*.read'])).token;
    const k = await kickoff(broken.base, token, '?_type=Organization');
    assert.equal(k.status, 202);
    const done = await poll(k.location!, token, 60_000);
    assert.ok(done.status >= 400 && done.status < 600, `status ${done.status}`);
    assert.equal(done.body.resourceType, 'OperationOutcome', JSON.stringify(done.body));
  } finally {
    await broken.close();
  }
});
