/**
 * npm run bench:export [-- --resources N --downloads D --max-lines L --in-process --cpu-prof DIR]
 *
 * Exports about N (default 1,000,000) Plan-Net resources of one tenant end to end, as a client would: kick-off with a
 * SMART token → poll honouring Retry-After → download every file (no token, identity encoding, D in parallel). Prints
 * resources/s and MB/s end to end and per phase, the worker's peak RSS and its full garbage collections during the
 * export (the worker runs with --trace-gc; its mark-compacts between kick-off and manifest are counted). In the same run it times
 * `COPY (SELECT content FROM resources WHERE tenant_id = … AND NOT deleted) TO STDOUT` over the same rows, and prints
 * the ratio. Targets: ≥ 25,000 resources/s end to end, ≥ 50% of the COPY rate, worker RSS < 300 MB.
 *
 * The service runs as `--role api` with a separate `--role worker` process (so the worker's memory is its own), both
 * on one embedded PostgreSQL under a temporary DATA_DIR; `--in-process` runs the default `npm start` shape instead
 * (API and workers in one process). Data is written straight through the storage layer in large batches.
 * `--cpu-prof DIR` writes V8 CPU profiles of the API and worker processes into DIR (for chrome://inspect or speedscope).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Resource } from '@medplum/fhirtypes';
import { generateDirectory, estimateResourceCount } from '../../src/seeds/synthetic/generator.ts';
import { createDb } from '../../src/storage/db.ts';
import { writeBatch } from '../../src/storage/resource-store.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';
import { startService, machine, flag, smartClient, cpuSeconds, threadCpuSeconds, minorFaults } from './harness.ts';

const target = flag('resources', 1_000_000);
const parallelDownloads = flag('downloads', 4);
const maxLines = flag('max-lines', 50_000);
const inProcess = process.argv.includes('--in-process');
const profileDir = process.argv.includes('--cpu-prof') ? path.resolve(process.argv[process.argv.indexOf('--cpu-prof') + 1] ?? '.') : undefined;
const profileArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];

let practitioners = Math.max(10, Math.round(target / 3.1));
for (let i = 0; i < 5; i++) practitioners = Math.max(10, Math.round(practitioners * target / estimateResourceCount({ practitioners })));

const common = { SEED_DEMO: 'false', EXPORT_MAX_LINES_PER_FILE: String(maxLines), AUDIT_ENABLED: 'true', LOG_LEVEL: 'warn' };
const svc = await startService({ ...common, ROLE: inProcess ? 'all' : 'api' }, profileArgs);
let worker: ReturnType<typeof spawn> | undefined;
let workerPeak = 0;
let markCompacts = 0; // the worker's, from --trace-gc (not with --in-process)
let sampler: NodeJS.Timeout | undefined;
const hwm = (pid: number | undefined) => {
  try { return Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024; } catch { return 0; }
};
try {
  const { url: ownerUrl } = JSON.parse(fs.readFileSync(path.join(svc.dataDir, 'connection.json'), 'utf8')) as { url: string };
  if (!inProcess) {
    worker = spawn(process.execPath, ['--trace-gc', ...profileArgs, path.join(PROJECT_ROOT, 'src', 'main.ts'), '--role', 'worker'], {
      env: { ...process.env, ...common, DATA_DIR: svc.dataDir, DATABASE_URL: ownerUrl }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      let out: string | undefined = '';
      worker!.stdout!.on('data', (d) => {
        const text = String(d);
        markCompacts += text.split('Mark-Compact').length - 1;
        if (out !== undefined) { out += text; if (out.includes('job worker running')) { out = undefined; resolve(); } }
      });
      worker!.once('exit', (c) => reject(new Error(`worker exited ${c}`)));
    });
  }
  const workerPid = inProcess ? svc.child.pid : worker!.pid;
  sampler = setInterval(() => { workerPeak = Math.max(workerPeak, hwm(workerPid)); }, 250);

  const tenant = `bench-${Date.now().toString(36)}`;
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'src', 'cli', 'tenant.ts'), 'create', tenant], { env: { ...process.env, DATA_DIR: svc.dataDir, LOG_LEVEL: 'silent' }, stdio: 'ignore' });
  const db = createDb({ appUrl: ownerUrl, ownerUrl, appRole: 'plannet_app', setRole: true, poolMax: 4 });

  // ---- load: straight through writeBatch (no validation or search indexing: the export reads the stored JSON)
  process.stderr.write(`loading ${target} resources (${practitioners} practitioners)...\n`);
  const tl = performance.now();
  const gen = generateDirectory({ practitioners, seed: 7 })[Symbol.iterator]() as Iterator<Resource>;
  let loaded = 0;
  const nextBatch = (n: number) => {
    const out: Resource[] = [];
    for (let r = gen.next(); !r.done; r = gen.next()) { out.push(r.value); if (out.length >= n) break; }
    return out;
  };
  await Promise.all([0, 1].map(async () => {
    for (let batch = nextBatch(5000); batch.length; batch = nextBatch(5000)) {
      await db.withTenant(tenant, (tx) => writeBatch(tx, batch.map((resource) => ({ kind: 'create' as const, resource, id: resource.id }))));
      loaded += batch.length;
      if (loaded % 100_000 < 5000) process.stderr.write(`  ${loaded}...\n`);
    }
  }));
  process.stderr.write(`loaded ${loaded} in ${((performance.now() - tl) / 1000).toFixed(0)} s; VACUUM ANALYZE...\n`);
  const owner = new pg.Client({ connectionString: ownerUrl });
  await owner.connect();
  await owner.query('VACUUM ANALYZE resources');
  // Start from a quiet disk: the load leaves gigabytes of dirty pages (tables, WAL), and the kernel would throttle the
  // export's file writes while it flushes them. CHECKPOINT writes PostgreSQL's out, `sync` the rest (COPY and the
  // export are then both measured against a clean page cache).
  await owner.query('CHECKPOINT');
  execFileSync('sync');
  await new Promise((r) => setTimeout(r, 1000)); // past the snapshot margin

  // ---- COPY baseline: the same rows, straight out of PostgreSQL
  const copyOnce = async () => {
    const t = performance.now();
    let bytes = 0;
    const stream = owner.query(copyTo(`COPY (SELECT content FROM resources WHERE tenant_id = '${tenant}' AND NOT deleted) TO STDOUT`));
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
    return { secs: (performance.now() - t) / 1000, bytes };
  };
  await copyOnce(); // warm the cache the same way the export will find it
  const copy = await copyOnce();

  // ---- the export, end to end
  const base = `${svc.url}/t/${tenant}/fhir`;
  // a registered client and the real token flow (the service's signing keys are encrypted under its master key)
  const token = await smartClient(svc, tenant, 'system/*.read')();
  // CPU seconds per process, read at kick-off, at the manifest and after the last byte: where each phase's time goes
  const postmasterPid = Number(fs.readFileSync(path.join(svc.dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const cpuNow = () => {
    const own = process.cpuUsage();
    return {
      api: cpuSeconds(svc.child.pid!), worker: inProcess ? 0 : cpuSeconds(worker!.pid!), pg: cpuSeconds(postmasterPid, true), client: (own.user + own.system) / 1e6,
      apiFaults: minorFaults(svc.child.pid!), workerFaults: inProcess ? 0 : minorFaults(worker!.pid!),
    };
  };
  const dirtyMb = () => Number(/Dirty:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024;
  const dirty0 = dirtyMb();
  // the worker's CPU by thread name (libuv-worker: the file writes; V8Worker: GC helpers); threads that have exited
  // by the manifest (the export's scan thread) are what the process total has beyond the live ones
  const threads0 = inProcess ? undefined : threadCpuSeconds(worker!.pid!);
  const workerPeakAtKickoff = hwm(inProcess ? svc.child.pid : worker!.pid);
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const markCompacts0 = markCompacts;
  const k = await fetch(`${base}/$export`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', prefer: 'respond-async' } });
  if (k.status !== 202) throw new Error(`kick-off: ${k.status} ${await k.text()}`);
  const status = k.headers.get('content-location')!;
  let manifest: { output: { type: string; url: string; count: number }[] };
  let polls = 0;
  for (;;) {
    const r = await fetch(status, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    polls++;
    if (r.status === 200) { manifest = await r.json() as typeof manifest; break; }
    if (r.status !== 202) throw new Error(`status: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
    await new Promise((ok) => setTimeout(ok, Number(r.headers.get('retry-after') ?? 1) * 1000));
  }
  const tManifest = performance.now();
  const cpuManifest = cpuNow();
  const dirtyManifest = dirtyMb();
  const threadsManifest = inProcess ? undefined : threadCpuSeconds(worker!.pid!);
  const exportMarkCompacts = markCompacts - markCompacts0;
  let bytes = 0;
  let lines = 0;
  const queue = [...manifest.output];
  await Promise.all(Array.from({ length: parallelDownloads }, async () => {
    for (let o = queue.shift(); o; o = queue.shift()) {
      // a plain node:http GET (as bulk-data-client's got makes), identity encoding, no token
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(o.url, { headers: { 'accept-encoding': 'identity' } }, resolve).on('error', reject));
      if (res.statusCode !== 200) throw new Error(`download ${o.type}: ${res.statusCode}`);
      let n = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
      }
      if (n !== o.count) throw new Error(`${o.type}: ${n} lines, manifest says ${o.count}`);
      lines += n;
    }
  }));
  const tEnd = performance.now();
  const cpuEnd = cpuNow();
  // the job's own clock: queued → taken by the worker → files complete (the rest of kick-off → manifest is polling)
  const jobId = status.split('/').pop();
  const { rows: [job] } = await owner.query<{ queued: number; ran: number }>(
    `SELECT extract(epoch FROM started_at - created_at)::float8 AS queued, extract(epoch FROM finished_at - started_at)::float8 AS ran FROM export_jobs WHERE job_id = $1`, [jobId]);
  await owner.end();
  await db.close();

  const secs = (tEnd - t0) / 1000;
  const rate = lines / secs;
  const copyRate = loaded / copy.secs;
  const mb = (b: number) => b / 1e6;
  console.log(`bench:export  machine: ${machine()}`);
  console.log(`  settings: ${loaded} resources (${practitioners} practitioners, synthetic seed 7), ${manifest.output.length} files (EXPORT_MAX_LINES_PER_FILE=${maxLines}), `
    + `${parallelDownloads} parallel downloads, identity encoding, ${inProcess ? 'API and worker in one process' : 'API and worker as separate processes'}, embedded PostgreSQL 18`);
  console.log(`  end to end (kick-off → last byte): ${lines} resources, ${mb(bytes).toFixed(0)} MB in ${secs.toFixed(1)} s = ${Math.round(rate)} resources/s, ${(mb(bytes) / secs).toFixed(0)} MB/s (target ≥ 25000 resources/s)`);
  console.log(`    kick-off → manifest: ${((tManifest - t0) / 1000).toFixed(1)} s (${polls} polls at Retry-After; the job waited ${job!.queued.toFixed(1)} s in the queue and ran ${job!.ran.toFixed(1)} s); downloads: ${((tEnd - tManifest) / 1000).toFixed(1)} s = ${Math.round(lines / ((tEnd - tManifest) / 1000))} resources/s`);
  const cpuLine = (a: ReturnType<typeof cpuNow>, b: ReturnType<typeof cpuNow>) => (['api', 'worker', 'pg', 'client'] as const)
    .filter((k) => !(inProcess && k === 'worker')).map((k) => `${k === 'pg' ? 'PostgreSQL' : k === 'api' ? (inProcess ? 'service' : 'API') : k === 'client' ? 'this client' : 'worker'} ${(b[k] - a[k]).toFixed(1)}`).join(', ');
  console.log(`    CPU seconds, kick-off → manifest: ${cpuLine(cpu0, cpuManifest)}; downloads: ${cpuLine(cpuManifest, cpuEnd)}`);
  const faults = (a: ReturnType<typeof cpuNow>, b: ReturnType<typeof cpuNow>) => `API ${b.apiFaults - a.apiFaults}${inProcess ? '' : `, worker ${b.workerFaults - a.workerFaults}`}`;
  console.log(`    minor page faults (new memory mapped), kick-off → manifest: ${faults(cpu0, cpuManifest)}; downloads: ${faults(cpuManifest, cpuEnd)}`);
  if (threads0 && threadsManifest) {
    const live = [...threadsManifest].map(([k, v]) => [k, v - (threads0.get(k) ?? 0)] as const).filter(([, v]) => v >= 0.05);
    const exited = (cpuManifest.worker - cpu0.worker) - live.reduce((a, [, v]) => a + v, 0);
    console.log(`    worker CPU seconds by thread, kick-off → manifest: ${live.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}, exited threads (the scan thread) ${exited.toFixed(1)}`);
  }
  console.log(`    dirty page cache (/proc/meminfo): ${dirty0.toFixed(0)} MB at kick-off, ${dirtyManifest.toFixed(0)} MB at the manifest`);
  console.log(`  COPY (SELECT content ...) TO STDOUT: ${mb(copy.bytes).toFixed(0)} MB in ${copy.secs.toFixed(1)} s = ${Math.round(copyRate)} resources/s, ${(mb(copy.bytes) / copy.secs).toFixed(0)} MB/s`);
  console.log(`  export end to end / COPY: ${(100 * rate / copyRate).toFixed(0)}% (target ≥ 50%)`);
  console.log(`  worker peak RSS: ${workerPeak.toFixed(0)} MB (target < 300 MB; ${workerPeakAtKickoff.toFixed(0)} MB before the export)${inProcess ? '' : `; API process peak RSS: ${svc.peakRssMb().toFixed(0)} MB; worker mark-compacts kick-off → manifest: ${exportMarkCompacts}`}`);
  if (lines !== loaded) { console.error(`exported ${lines} of ${loaded}`); process.exitCode = 1; }
} finally {
  if (sampler) clearInterval(sampler);
  if (worker && worker.exitCode === null) { worker.kill('SIGTERM'); await new Promise((r) => worker!.once('exit', r)); }
  await svc.stop();
}
