/**
 * The container image runs `node dist/main.js`: the compiled build must work on its own. (No Docker engine runs on
 * this machine class, so the Dockerfile's steps are exercised here instead: `npm run build`, then the compiled
 * service migrating and serving from dist/ against the test database.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/storage/embedded.ts';
import { testDatabaseUrl } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

test('npm run build produces a dist/ that migrates and serves', { timeout: 300_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-'));
  // compile into a private folder so parallel test files never see a half-written dist/
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(out, 'dist')], { stdio: 'pipe' });
  for (const f of ['package.json']) fs.copyFileSync(path.join(ROOT, f), path.join(out, f));
  for (const d of ['profiles', 'seeds', 'node_modules']) fs.symlinkSync(path.join(ROOT, d), path.join(out, d));
  // non-TypeScript assets beside the sources, as scripts/copy-build-assets.ts copies them
  const copyAssets = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) copyAssets(p);
      else if (!e.name.endsWith('.ts')) { const t = path.join(out, 'dist', path.relative(path.join(ROOT, 'src'), p)); fs.mkdirSync(path.dirname(t), { recursive: true }); fs.copyFileSync(p, t); }
    }
  };
  copyAssets(path.join(ROOT, 'src'));
  const env = { ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: path.join(out, 'data'), LOG_LEVEL: 'silent', SEED_DEMO: 'false', HOST: '127.0.0.1' };
  try {
    execFileSync(process.execPath, [path.join(out, 'dist', 'main.js'), '--role', 'migrate'], { env, stdio: 'pipe', timeout: 120_000 });
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(out, 'dist', 'main.js')], { env: { ...env, PORT: String(port), ROLE: 'api' }, stdio: 'ignore' });
    try {
      let ready = 0;
      for (let i = 0; i < 150 && ready !== 200; i++) {
        try { ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status; } catch { await new Promise((r) => setTimeout(r, 200)); }
      }
      assert.equal(ready, 200, 'the compiled service is ready');
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  } finally { fs.rmSync(out, { recursive: true, force: true }); }
});
