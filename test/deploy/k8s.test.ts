/**
 * Kubernetes manifests: both overlays render with kubectl kustomize (Debian kubectl), every rendered object validates
 * against its Kubernetes (or CloudNativePG) schema, probes point at endpoints the service really serves, images are
 * pinned, every container has limits and runs as non-root, and no Secret holds a literal value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ensureDebianPackage } from '../helpers/system-packages.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

interface K8sObject { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: unknown; stringData?: unknown }

function render(overlay: string): K8sObject[] {
  const kubectl = ensureDebianPackage('kubectl', 'kubectl');
  const out = execFileSync(kubectl, ['kustomize', path.join(ROOT, 'k8s', 'overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJSON() as K8sObject).filter(Boolean);
}

async function modelFor(obj: K8sObject): Promise<(new (o: unknown) => { validate(): void }) | undefined> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  if (group === 'postgresql.cnpg.io') {
    const mod = await import(`@kubernetes-models/cloudnative-pg/${group}/${version}/${obj.kind}`);
    return mod[obj.kind] ?? mod.default;
  }
  const pathPart = group ? `${group === 'apps' || group === 'batch' || group === 'policy' || group === 'autoscaling' ? group : group}/${version}` : version;
  const mod = await import(`kubernetes-models/${pathPart}/${obj.kind}`);
  return mod[obj.kind] ?? mod.default;
}

function containers(obj: K8sObject): any[] {
  const pod = obj.kind === 'Job' || obj.kind === 'Deployment' ? obj.spec.template.spec : undefined;
  return pod ? [...(pod.initContainers ?? []), ...pod.containers] : [];
}

for (const overlay of ['dev', 'prod']) {
  test(`${overlay} overlay renders and every object validates against its schema`, async () => {
    const objects = render(overlay);
    assert.ok(objects.length >= 10);
    for (const obj of objects) {
      const Model = await modelFor(obj);
      assert.ok(Model, `no schema for ${obj.apiVersion} ${obj.kind}`);
      assert.doesNotThrow(() => new Model!(obj).validate(), `${obj.kind}/${obj.metadata.name} is invalid`);
    }
  });

  test(`${overlay} overlay: probes, pinned images, limits, non-root, no literal secrets`, () => {
    const objects = render(overlay);
    const kinds = new Set(objects.map((o) => o.kind));
    for (const k of ['Deployment', 'Job', 'Service', 'Ingress', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'Cluster', 'ConfigMap']) {
      assert.ok(kinds.has(k), `${overlay} renders a ${k}`);
    }
    const served = new Set(['/healthz', '/readyz']);
    for (const obj of objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job')) {
      const pod = obj.spec.template.spec;
      for (const c of containers(obj)) {
        const where = `${obj.kind}/${obj.metadata.name}/${c.name}`;
        assert.match(c.image, /^[^:]+:(?!latest$)[\w.-]+$|@sha256:[0-9a-f]{64}$/, `${where} image ${c.image} is pinned`);
        assert.ok(c.resources?.limits?.cpu && c.resources?.limits?.memory, `${where} has cpu and memory limits`);
        assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${where} has requests`);
        const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        assert.equal(nonRoot, true, `${where} runs as non-root`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${where} cannot escalate`);
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe].filter(Boolean)) {
          if (probe.httpGet) assert.ok(served.has(probe.httpGet.path), `${where} probes ${probe.httpGet.path}, which the service serves`);
        }
      }
    }
    const api = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'plannet-api')!;
    const apiContainer = api.spec.template.spec.containers[0];
    assert.equal(apiContainer.readinessProbe.httpGet.path, '/readyz');
    assert.equal(apiContainer.livenessProbe.httpGet.path, '/healthz');
    for (const s of objects.filter((o) => o.kind === 'Secret')) {
      assert.equal(s.data, undefined, `Secret ${s.metadata.name} holds literal data`);
      assert.equal(s.stringData, undefined, `Secret ${s.metadata.name} holds literal data`);
    }
    if (overlay === 'prod') {
      const cluster = objects.find((o) => o.kind === 'Cluster')!;
      assert.equal(cluster.spec.instances, 3, 'one primary and two replicas');
      assert.ok(cluster.spec.backup?.barmanObjectStore?.wal, 'WAL archiving to object storage');
      assert.ok(objects.some((o) => o.kind === 'ScheduledBackup'), 'scheduled base backups');
    }
  });
}

test('the probes the manifests use answer on a running service', async () => {
  const { startTestServer } = await import('../helpers/server.ts');
  const srv = await startTestServer();
  try {
    for (const p of ['/healthz', '/readyz']) assert.equal((await fetch(`${srv.url}${p}`)).status, 200, p);
  } finally { await srv.close(); }
});

test('a worker (no API) answers its probes on HEALTH_PORT', async () => {
  const { spawn } = await import('node:child_process');
  const { freePort } = await import('../../src/storage/embedded.ts');
  const { testDatabaseUrl } = await import('../helpers/server.ts');
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'src', 'main.ts'), '--role', 'worker'], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), HEALTH_PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: path.join((await import('node:os')).tmpdir(), `worker-probe-${port}`) },
    stdio: 'ignore',
  });
  try {
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      try { up = (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200; } catch { await new Promise((r) => setTimeout(r, 200)); }
    }
    assert.ok(up, 'worker /healthz answers');
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/t/x/fhir/metadata`)).status, 404, 'no API on a worker');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
