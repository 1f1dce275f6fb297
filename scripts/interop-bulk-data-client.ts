/**
 * Interoperability run with the SMART reference Bulk Data client (github.com/smart-on-fhir/bulk-data-client), which
 * is not on npm and so cannot be a dependency or run in CI (no GitHub there). Run by hand:
 *
 *   git clone https://github.com/smart-on-fhir/bulk-data-client /tmp/bulk-data-client
 *   npm run interop:bulk-data-client -- --client-dir /tmp/bulk-data-client
 *
 * It installs the client's dependencies, and Node 18 from npm (the client declares node <19 and hangs on Node 20+),
 * starts this service with its demo data on a temporary DATA_DIR, registers a SMART Backend Services client (ES384
 * private_key_jwt), and runs the client's CLI through several kick-offs: everything; POST with _type and _since;
 * _elements; _typeFilter; an unknown parameter (the client sends handling=lenient). Each run must exit 0, and every
 * downloaded file must hold exactly as many distinct resources as `[type]?_summary=count` says (filtered runs: as
 * many as the manifest says). Prints one line per run; exits 1 on the first mismatch.
 */
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/storage/embedded.ts';

const root = path.resolve(import.meta.dirname, '..');
const arg = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : undefined; };
const clientDir = arg('client-dir');
if (!clientDir || !fs.existsSync(path.join(clientDir, 'built', 'app.js'))) {
  console.error('Usage: npm run interop:bulk-data-client -- --client-dir <checkout of smart-on-fhir/bulk-data-client>\n' +
    '  (git clone https://github.com/smart-on-fhir/bulk-data-client; its built/app.js is committed there)');
  process.exit(2);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-interop-'));
fs.chmodSync(work, 0o755); // the embedded PostgreSQL runs as another user when we are root
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });

console.log('installing the client\'s dependencies and Node 18 (npm)…');
npm(['install', '--omit=dev', '--no-audit', '--no-fund', '--engine-strict=false'], clientDir);
fs.mkdirSync(path.join(work, 'node18'));
npm(['install', 'node@18', '--no-audit', '--no-fund', '--prefix', path.join(work, 'node18')], work);
const node18 = path.join(work, 'node18', 'node_modules', '.bin', 'node');

const port = await freePort();
const dataDir = path.join(work, 'data');
const service = spawn(process.execPath, [path.join(root, 'src', 'main.ts')], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'],
});
const stop = () => { if (service.exitCode === null) service.kill('SIGTERM'); };
process.on('exit', stop);
const url = `http://127.0.0.1:${port}`;
const fhirBase = `${url}/t/demo/fhir`;
for (let i = 0; ; i++) {
  try { if ((await fetch(`${url}/readyz`)).ok) break; } catch { /* starting */ }
  if (i > 600 || service.exitCode !== null) throw new Error('the service did not start');
  await new Promise((r) => setTimeout(r, 500));
}

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
fs.writeFileSync(path.join(work, 'jwks.json'), JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'interop', alg: 'ES384' }] }));
const registered = execFileSync(process.execPath, [path.join(root, 'src', 'cli', 'client.ts'), 'register', '--tenant', 'demo', '--name', 'SMART bulk-data-client',
  '--scope', 'system/*.read', '--jwks', path.join(work, 'jwks.json')], { env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, encoding: 'utf8' });
const clientId = registered.trim().split('\n').at(-1)!;
const config = path.join(work, 'config.cjs');
fs.writeFileSync(config, `module.exports = ${JSON.stringify({
  fhirUrl: fhirBase, tokenUrl: `${url}/t/demo/auth/token`, clientId, scope: 'system/*.read', reporter: 'text', saveManifest: true,
  privateKey: { ...privateKey.export({ format: 'jwk' }), kid: 'interop', alg: 'ES384' },
})};\n`);

async function serverCount(type: string): Promise<number> {
  return (await (await fetch(`${fhirBase}/${type}?_summary=count`)).json() as { total: number }).total;
}

const runs: { name: string; args: string[]; exact: boolean }[] = [
  { name: 'everything (GET)', args: [], exact: true },
  { name: 'POST, _type and _since', args: ['--post', '-t', 'Practitioner,Location', '-s', '2000-01-01T00:00:00Z'], exact: true },
  { name: '_elements', args: ['-t', 'Practitioner', '-e', 'name,identifier'], exact: true },
  { name: '_typeFilter', args: ['-t', 'PractitionerRole', '-q', 'PractitionerRole?specialty=207Q00000X'], exact: false },
  { name: 'unknown parameter, lenient', args: ['-t', 'Endpoint', '-c', 'not-a-parameter=1'], exact: true },
];
let failed = false;
for (const run of runs) {
  const dest = path.join(work, 'downloads', run.name.replace(/\W+/g, '-'));
  fs.mkdirSync(dest, { recursive: true });
  // the config path is resolved against the client's folder
  const r = execFileSync(node18, ['built/app.js', '--config', path.relative(clientDir, config), '--global', '--reporter', 'text', '-d', dest, ...run.args],
    { cwd: clientDir, encoding: 'utf8', timeout: 300_000 });
  const manifest = JSON.parse(fs.readFileSync(path.join(dest, 'manifest.json'), 'utf8')) as { output: { type: string; count: number }[]; error?: unknown[] };
  const files = fs.readdirSync(dest).filter((f) => f.endsWith('.ndjson') && f !== 'log.ndjson');
  const problems: string[] = [];
  for (const f of files) {
    const type = f.replace(/^\d+\./, '').replace(/\.ndjson$/, '');
    const lines = fs.readFileSync(path.join(dest, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { resourceType: string; id: string });
    const ids = new Set(lines.map((l) => l.id)).size;
    const listed = manifest.output.filter((o) => o.type === type).reduce((a, o) => a + o.count, 0);
    const expected = run.exact ? await serverCount(type) : listed;
    if (lines.some((l) => l.resourceType !== type) || ids !== lines.length || lines.length !== expected || lines.length !== listed) {
      problems.push(`${type}: ${lines.length} lines, ${ids} distinct, manifest ${listed}, expected ${expected}`);
    }
  }
  const last = r.trim().split('\n').filter((l) => /downloaded|completed/.test(l)).at(-1) ?? '';
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${run.name}: ${files.length} files; ${last.trim()}${problems.length ? `\n     ${problems.join('\n     ')}` : ''}`);
  failed ||= problems.length > 0 || files.length === 0;
}
stop();
fs.rmSync(work, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
