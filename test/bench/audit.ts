/**
 * npm run bench:audit [-- --seconds S --connections C --practitioners N --rounds R --aa]
 * The cost of auditing: read-by-id and a search against the real service (child processes, embedded PostgreSQL, the
 * demo tenant's synthetic directory), with auditing on (the production default) and off (AUDIT_ENABLED=false), in the
 * same run. Two services run side by side, each on its own embedded PostgreSQL holding the same seeded directory, and
 * short runs alternate between them (on/off, then off/on, …) so that load from anything else on the machine hits both
 * alike. Prints both, the ratio, and the CPU time per request of each
 * service and its PostgreSQL (on a busy shared machine the CPU figures are the steadier measure of the cost).
 *
 * The run has two halves with the roles swapped: the first starts the audited service first, on data folder A; the
 * second restarts both, the unaudited one first, with auditing on for folder B. On this machine the service started
 * first served 3–4 % fewer requests than its twin with auditing off in both (the cause was not found: same code, same
 * data, same settings), so a fixed order would charge that to auditing. Each figure is the median of its half's
 * rounds, and the two halves are averaged (throughput geometrically), so the bias counts once each way. `--aa` turns
 * auditing off in the "on" service too: the printed cost is then the bench's own bias and noise.
 * Target: auditing costs ≤ 10% of throughput.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { startService, machine, flag, cpuSeconds, type BenchService } from './harness.ts';

const seconds = flag('seconds', 5);
const connections = flag('connections', 10);
const practitioners = flag('practitioners', 2000);
const rounds = flag('rounds', 8);
const aa = process.argv.includes('--aa');

type Mode = 'on' | 'off';
const folders = [0, 1].map((k) => fs.mkdtempSync(path.join(os.tmpdir(), `plannet-bench-audit-${k}-`)));
for (const d of folders) fs.chmodSync(d, 0o755);
const start = (mode: Mode, dataDir: string) => startService({
  DATA_DIR: dataDir, SEED_DEMO: 'true', DEMO_PRACTITIONERS: String(practitioners), AUDIT_ENABLED: String(mode === 'on' && !aa), LOG_LEVEL: 'warn',
});

interface Sample { rps: number; p50: number; p99: number; bad: number; cpuUsPerReq: number; pgUsPerReq: number }
const sent = new Map<BenchService, number>();
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

const dataDirOf = new Map<BenchService, string>();
const postmasters = new Map<BenchService, number>();
function postmaster(svc: BenchService): number {
  if (!postmasters.has(svc)) postmasters.set(svc, Number(fs.readFileSync(path.join(dataDirOf.get(svc)!, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]));
  return postmasters.get(svc)!;
}

async function load(svc: BenchService, paths: string[], duration: number): Promise<Sample> {
  let i = 0;
  const pm = postmaster(svc);
  const pg0 = cpuSeconds(pm, true);
  const cpu0 = cpuSeconds(svc.child.pid!);
  const r = await autocannon({
    url: svc.url, connections, duration,
    requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: paths[i++ % paths.length] }) }],
  });
  await new Promise((r) => setTimeout(r, 300)); // the audited service's last flush of the run
  const cpu = cpuSeconds(svc.child.pid!) - cpu0;
  const pgCpu = cpuSeconds(pm, true) - pg0;
  sent.set(svc, (sent.get(svc) ?? 0) + r.requests.total);
  const n = Math.max(1, r.requests.total);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, bad: r.errors + r.non2xx, cpuUsPerReq: (cpu * 1e6) / n, pgUsPerReq: (pgCpu * 1e6) / n };
}

let services: Partial<Record<Mode, BenchService>> = {};
const stopAll = async () => {
  for (const svc of Object.values(services)) if (svc) await svc.stop();
  services = {};
};
/** Starts both services, `first` first; `onFolder` holds the audited one's data. */
async function startPair(first: Mode, onFolder: string, offFolder: string): Promise<Record<Mode, BenchService>> {
  const folderOf: Record<Mode, string> = { on: onFolder, off: offFolder };
  for (const mode of first === 'on' ? ['on', 'off'] as const : ['off', 'on'] as const) {
    const svc = await start(mode, folderOf[mode]); // each seeds the same deterministic directory into its folder once
    dataDirOf.set(svc, folderOf[mode]);
    services[mode] = svc;
  }
  return services as Record<Mode, BenchService>;
}

try {
  let pair = await startPair('on', folders[0], folders[1]);
  const base = `${pair.on.url}/t/demo/fhir`;
  const ids: string[] = [];
  const families = new Set<string>();
  for (let url: string | undefined = `${base}/Practitioner?_count=1000`; url && ids.length < 5000;) {
    const page = await (await fetch(url)).json() as { entry?: { resource: { id: string; name?: { family?: string }[] } }[]; link: { relation: string; url: string }[] };
    for (const e of page.entry ?? []) { ids.push(e.resource.id); const f = e.resource.name?.[0]?.family; if (f) families.add(f); }
    url = page.link.find((l) => l.relation === 'next')?.url;
  }
  if (ids.length === 0) throw new Error('no practitioners to read');
  // the search: by family name if this build's engine supports it (strict handling refuses unknown parameters), else by _id
  const probe = await fetch(`${base}/Practitioner?family=${encodeURIComponent([...families][0] ?? 'x')}`, { headers: { prefer: 'handling=strict' } });
  await probe.text();
  const byFamily = probe.status === 200 && families.size > 0;
  const workloads = {
    read: { label: 'read-by-id (GET Practitioner/{id})', paths: ids.map((id) => `/t/demo/fhir/Practitioner/${id}`) },
    search: byFamily
      ? { label: 'search (GET Practitioner?family=…&_count=10)', paths: [...families].slice(0, 500).map((f) => `/t/demo/fhir/Practitioner?family=${encodeURIComponent(f)}&_count=10`) }
      : { label: 'search (GET Practitioner?_id=a,b&_count=10)', paths: ids.slice(0, 500).map((id, k) => `/t/demo/fhir/Practitioner?_id=${id},${ids[(k + 7) % ids.length]}&_count=10`) },
  };

  // results[workload][half][mode]: one sample per round
  const results: Record<string, Record<Mode, Sample[]>[]> = {};
  for (const name of Object.keys(workloads)) results[name] = [{ on: [], off: [] }, { on: [], off: [] }];
  let rowsWritten = 0;
  let requestsToAudited = 0;
  for (const half of [0, 1]) {
    if (half === 1) {
      await stopAll();
      pair = await startPair('off', folders[1], folders[0]);
    }
    const ownerUrl = (JSON.parse(fs.readFileSync(path.join(dataDirOf.get(pair.on)!, 'connection.json'), 'utf8')) as { url: string }).url;
    const c = new pg.Client({ connectionString: ownerUrl });
    await c.connect();
    const auditCount = async () => Number((await c.query(`SELECT count(*) AS n FROM audit_events WHERE tenant_id = 'demo'`)).rows[0].n);
    const rowsBefore = await auditCount();
    const sentBefore = sent.get(pair.on) ?? 0;
    for (const [name, w] of Object.entries(workloads)) {
      for (const mode of ['on', 'off'] as const) await load(pair[mode], w.paths, 3); // warm-up both
      for (let round = 0; round < rounds / 2; round++) {
        for (const mode of (round % 2 === half ? ['on', 'off'] : ['off', 'on']) as Mode[]) {
          results[name][half][mode].push(await load(pair[mode], w.paths, seconds));
        }
      }
    }
    await new Promise((r) => setTimeout(r, 1000)); // let the last buffered rows flush
    rowsWritten += (await auditCount()) - rowsBefore;
    requestsToAudited += (sent.get(pair.on) ?? 0) - sentBefore;
    await c.end();
  }

  console.log(`bench:audit  machine: ${machine()}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`  settings: ${connections} connections, ${rounds} rounds × ${seconds} s per mode and workload, alternating on/off and off/on, `
    + `in two halves with the services' start order and data folders swapped (medians per half, halves averaged), each service on its own embedded PostgreSQL, ${ids.length} practitioners`);
  if (aa) console.log('  --aa: auditing is OFF in both services; the "cost" below is the bench\'s own bias and noise, not auditing');
  for (const [name, w] of Object.entries(workloads)) {
    // medians per half; the halves' figures are then averaged (ratios geometrically), so a bias for or against the
    // service started first counts once each way and cancels
    const m = (mode: Mode, half: number) => {
      const s = results[name][half][mode];
      return { rps: median(s.map((x) => x.rps)), p50: median(s.map((x) => x.p50)), p99: median(s.map((x) => x.p99)), cpu: median(s.map((x) => x.cpuUsPerReq)), pg: median(s.map((x) => x.pgUsPerReq)), bad: s.reduce((a, x) => a + x.bad, 0), all: s.map((x) => Math.round(x.rps)) };
    };
    const both = (mode: Mode) => {
      const [a, b] = [m(mode, 0), m(mode, 1)];
      const mean = (f: (x: typeof a) => number) => (f(a) + f(b)) / 2;
      return { rps: Math.sqrt(a.rps * b.rps), p50: mean((x) => x.p50), p99: mean((x) => x.p99), cpu: mean((x) => x.cpu), pg: mean((x) => x.pg), bad: a.bad + b.bad, all: [a.all, b.all] };
    };
    const on = both('on');
    const off = both('off');
    const line = (x: ReturnType<typeof both>) => `${Math.round(x.rps)} req/s, p50 ${x.p50} ms, p99 ${x.p99} ms; CPU per request: service ${Math.round(x.cpu)} µs + PostgreSQL ${Math.round(x.pg)} µs${x.bad ? `; ${x.bad} errors/non-2xx` : ''}  [runs: ${x.all.map((h) => h.join(', ')).join(' | ')} req/s]`;
    const halfRatios = [0, 1].map((h) => m('on', h).rps / m('off', h).rps);
    const ratio = on.rps / off.rps;
    console.log(`  ${w.label}`);
    console.log(`    audit on : ${line(on)}`);
    console.log(`    audit off: ${line(off)}`);
    const cpuRatio = (on.cpu + on.pg) / (off.cpu + off.pg);
    console.log(`    halves: on/off ${halfRatios[0].toFixed(3)} (audited service started first), ${halfRatios[1].toFixed(3)} (unaudited started first)`);
    console.log(`    ratio on/off ${ratio.toFixed(3)} → auditing costs ${((1 - ratio) * 100).toFixed(1)}% of throughput (target ≤ 10%); service + PostgreSQL CPU per request +${((cpuRatio - 1) * 100).toFixed(1)}% (+${Math.round(on.cpu - off.cpu)} µs service, +${Math.round(on.pg - off.pg)} µs PostgreSQL)`);
  }
  console.log(`  audit rows written during the runs: ${rowsWritten} for ${requestsToAudited} requests sent to the audited service`);
} finally {
  await stopAll();
  for (const d of folders) fs.rmSync(d, { recursive: true, force: true });
}
