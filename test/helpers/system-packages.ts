/**
 * Tests use real components from Debian (redis-server, PostgreSQL, SimpleSAMLphp, Chromium). CI runs on a fresh
 * machine, so a test installs what it needs when it is missing, once per run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let updated = false;

export function ensureDebianPackage(binary: string, pkg: string): string {
  const found = [binary, `/usr/bin/${binary}`, `/usr/sbin/${binary}`].find((p) => p.startsWith('/') && fs.existsSync(p));
  if (found) return found;
  try { return execFileSync('which', [binary], { encoding: 'utf8' }).trim(); } catch { /* install below */ }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) { execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 }); updated = true; }
  execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'ignore', env, timeout: 600_000 });
  return execFileSync('which', [binary], { encoding: 'utf8' }).trim();
}
