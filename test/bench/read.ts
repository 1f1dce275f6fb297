/**
 * npm run bench:read [-- --seconds S --connections C --practitioners N]
 * autocannon read-by-id against a real service holding a synthetic directory; prints req/s, p50 and p99.
 * Targets: ≥ 2,600 req/s and p99 < 20 ms at 10 connections.
 */
import autocannon from 'autocannon';
import { startService, machine, flag } from './harness.ts';

const seconds = flag('seconds', 15);
const connections = flag('connections', 10);
const practitioners = flag('practitioners', 2000);

const svc = await startService({ SEED_DEMO: 'true', DEMO_PRACTITIONERS: String(practitioners) });
try {
  const base = `${svc.url}/t/demo/fhir`;
  // collect real ids to read
  const ids: string[] = [];
  for (let url: string | undefined = `${base}/Practitioner?_count=1000`; url && ids.length < 5000;) {
    const page = await (await fetch(url)).json() as { entry?: { resource: { id: string } }[]; link: { relation: string; url: string }[] };
    ids.push(...(page.entry ?? []).map((e) => e.resource.id));
    url = page.link.find((l) => l.relation === 'next')?.url;
  }
  if (ids.length === 0) throw new Error('no practitioners to read');
  let i = 0;
  const run = (duration: number) => autocannon({
    url: svc.url, connections, duration,
    requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: `/t/demo/fhir/Practitioner/${ids[i++ % ids.length]}` }) }],
  });
  await run(3); // warm-up
  const r = await run(seconds);
  console.log(`bench:read  machine: ${machine()}`);
  console.log(`  settings: ${connections} connections, ${seconds} s, read-by-id over ${ids.length} practitioners, embedded PostgreSQL`);
  console.log(`  ${Math.round(r.requests.average)} req/s (target ≥ 2600), p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms (target < 20), errors ${r.errors}, non-2xx ${r.non2xx}`);
  console.log(`  service peak RSS: ${svc.peakRssMb().toFixed(0)} MB`);
} finally {
  await svc.stop();
}
