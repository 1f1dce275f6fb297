/**
 * Benchmark plumbing: run the real service as a child process (so the load generator does not share its event loop),
 * on the embedded PostgreSQL under a temporary DATA_DIR unless DATABASE_URL is set, and sample its peak RSS.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/storage/embedded.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';

export interface BenchService { url: string; child: ChildProcess; dataDir: string; peakRssMb(): number; stop(): Promise<void> }

/** Starts `src/main.ts` on an embedded PostgreSQL under a fresh DATA_DIR; `nodeArgs` go to node (e.g. `--cpu-prof`). */
export async function startService(env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<BenchService> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-bench-'));
  fs.chmodSync(dataDir, 0o755);
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, path.join(PROJECT_ROOT, 'src', 'main.ts')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '100000000', RATE_LIMIT_CLIENT_PER_MINUTE: '100000000', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    try { if ((await fetch(`${url}/readyz`)).ok) break; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error('service not ready in 300 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  let peak = 0;
  const sample = () => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
    } catch { /* exited */ }
  };
  const timer = setInterval(sample, 500);
  return {
    url, child, dataDir,
    peakRssMb: () => { sample(); return peak; },
    stop: async () => {
      clearInterval(timer);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The fields of a /proc stat file after the command name (which may hold spaces and parentheses), and that name. */
function procStat(file: string): { name: string; fields: string[] } {
  const st = fs.readFileSync(file, 'utf8');
  const close = st.lastIndexOf(')');
  return { name: st.slice(st.indexOf('(') + 1, close), fields: st.slice(close + 2).split(' ') };
}
const cpuOf = (f: string[]) => Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (1/100 s)

/** CPU seconds (user + system) a process has used so far; with `children`, plus its children's, live or exited. */
export function cpuSeconds(pid: number, children = false): number {
  const f = procStat(`/proc/${pid}/stat`).fields;
  let total = cpuOf(f);
  if (children) {
    total += Number(f[13]) + Number(f[14]); // children that have exited and been waited for (PostgreSQL's backends)
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try { const c = procStat(`/proc/${d}/stat`).fields; if (Number(c[1]) === pid) total += cpuOf(c); } catch { /* gone */ }
    }
  }
  return total / 100;
}

/** Minor page faults a process (all its threads, live or exited) has taken so far: new memory the kernel had to map. */
export function minorFaults(pid: number): number {
  return Number(procStat(`/proc/${pid}/stat`).fields[7]);
}

/** CPU seconds of a process's live threads, summed by thread name (libuv-worker, V8Worker, ...). */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const by = new Map<string, number>();
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const { name, fields } = procStat(`/proc/${pid}/task/${t}/stat`);
      by.set(name, (by.get(name) ?? 0) + cpuOf(fields) / 100);
    } catch { /* exited */ }
  }
  return by;
}

export function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** Creates a tenant through the CLI, as an operator would. */
export function createTenant(svc: BenchService, tenant: string): void {
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'src', 'cli', 'tenant.ts'), 'create', tenant], { env: { ...process.env, DATA_DIR: svc.dataDir }, stdio: 'ignore' });
}

/**
 * Registers a SMART client with the CLI and returns a function giving a valid access token (refreshed through the
 * real token endpoint before it expires), as a real integration would.
 */
export function smartClient(svc: BenchService, tenant: string, scope: string): () => Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const jwksFile = path.join(svc.dataDir, `bench-jwks-${randomUUID()}.json`);
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES384' }] }));
  const out = execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'src', 'cli', 'client.ts'), 'register', '--tenant', tenant, '--name', 'bench', '--scope', scope, '--jwks', jwksFile],
    { env: { ...process.env, DATA_DIR: svc.dataDir }, encoding: 'utf8' });
  const clientId = out.trim().split('\n').pop()!;
  const tokenUrl = `${svc.url}/t/${tenant}/auth/token`;
  let cached: { token: string; until: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.until) return cached.token;
    const b64u = (v: string | Buffer) => Buffer.from(v).toString('base64url');
    const input = `${b64u(JSON.stringify({ alg: 'ES384', typ: 'JWT', kid: 'bench' }))}.${b64u(JSON.stringify({ iss: clientId, sub: clientId, aud: tokenUrl, exp: Math.floor(Date.now() / 1000) + 240, jti: randomUUID() }))}`;
    const assertion = `${input}.${b64u(sign('sha384', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }))}`;
    const res = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({
      grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }) });
    const body = await res.json() as { access_token?: string; expires_in?: number; error_description?: string };
    if (!body.access_token) throw new Error(`token request failed: ${res.status} ${body.error_description}`);
    cached = { token: body.access_token, until: Date.now() + ((body.expires_in ?? 300) - 60) * 1000 };
    return cached.token;
  };
}
