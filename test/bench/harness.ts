/**
 * Benchmark plumbing: run the real service as a child process (so the load generator does not share its event loop),
 * on the embedded PostgreSQL under a temporary DATA_DIR unless DATABASE_URL is set, and sample its peak RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/storage/embedded.ts';
import { PROJECT_ROOT } from '../../src/config/config.ts';

export interface BenchService { url: string; child: ChildProcess; dataDir: string; peakRssMb(): number; stop(): Promise<void> }

export async function startService(env: Record<string, string> = {}): Promise<BenchService> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-bench-'));
  fs.chmodSync(dataDir, 0o755);
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'src', 'main.ts')], {
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

export function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
