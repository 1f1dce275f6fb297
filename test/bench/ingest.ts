/**
 * npm run bench:ingest [-- --resources N --bundle-size B --concurrency C]
 * Loads N synthetic Plan-Net resources through transaction Bundles (validation, storage and indexing included) into a
 * fresh tenant of a real service, and prints resources/s and the service's peak RSS. Target: ≥ 5,000 resources/s.
 */
import { generateDirectory, estimateResourceCount } from '../../src/seeds/synthetic/generator.ts';
import { startService, machine, flag, createTenant, smartClient } from './harness.ts';

const target = flag('resources', 50_000);
const bundleSize = flag('bundle-size', 1000);
const concurrency = flag('concurrency', 3);

// choose the practitioner count that yields about `target` resources
let practitioners = Math.max(10, Math.round(target / 3.5));
for (let i = 0; i < 5; i++) practitioners = Math.max(10, Math.round(practitioners * target / estimateResourceCount({ practitioners })));

const svc = await startService({ SEED_DEMO: 'false' });
try {
  const tenant = `bench-${Date.now().toString(36)}`;
  createTenant(svc, tenant);
  const token = smartClient(svc, tenant, 'system/*.cruds');
  const base = `${svc.url}/t/${tenant}/fhir`;

  const gen = generateDirectory({ practitioners, seed: 7 });
  const nextBundle = (): { body: string; n: number } | undefined => {
    const entry: unknown[] = [];
    // gen.next() rather than for-of: breaking a for-of would close the generator
    for (let r = gen.next(); !r.done; r = gen.next()) {
      entry.push({ request: { method: 'PUT', url: `${r.value.resourceType}/${r.value.id}` }, resource: r.value });
      if (entry.length >= bundleSize) break;
    }
    return entry.length ? { body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }), n: entry.length } : undefined;
  };
  let sent = 0;
  let failures = 0;
  const t0 = performance.now();
  let lastReport = t0;
  const worker = async () => {
    for (let b = nextBundle(); b; b = nextBundle()) {
      const res = await fetch(base, { method: 'POST', body: b.body, headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal', authorization: `Bearer ${await token()}` } });
      await res.arrayBuffer();
      if (res.status !== 200) { failures++; if (failures < 3) console.error(`bundle failed: ${res.status}`); }
      sent += b.n;
      if (performance.now() - lastReport > 2000) { lastReport = performance.now(); process.stderr.write(`  ${sent} resources...\n`); }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - t0) / 1000;
  console.log(`bench:ingest  machine: ${machine()}`);
  console.log(`  settings: ${sent} resources (${practitioners} practitioners), transaction Bundles of ${bundleSize}, ${concurrency} concurrent, embedded PostgreSQL`);
  console.log(`  ${sent} resources in ${secs.toFixed(1)} s = ${Math.round(sent / secs)} resources/s (target ≥ 5000); failed bundles: ${failures}`);
  console.log(`  service peak RSS: ${svc.peakRssMb().toFixed(0)} MB`);
  if (failures) process.exitCode = 1;
} finally {
  await svc.stop();
}
