/**
 * Starts the real service in-process on a free port against the test run's PostgreSQL (see test/run.ts), and gives
 * each test file its own tenant.
 */
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { mintAccessToken } from '../../src/auth/smart/token-endpoint.ts';

export interface TestServer extends RunningServer {
  tenant: string;
  /** FHIR base of the file's tenant. */
  base: string;
  config: Config;
  newTenant(prefix?: string): Promise<string>;
}

export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run tests through `npm test` (test/run.ts), which starts PostgreSQL');
  return url;
}

export async function startTestServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-srv-'));
  const base = loadConfig({ ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
  // Rate limits are far above what any test sends, except in the tests of rate limiting themselves.
  const config: Config = { ...base, seedDemo: false, rateLimit: { ...base.rateLimit, anonymousPerMinute: 1e6, clientPerMinute: 1e6, authPerMinute: 1e6 }, ...overrides };
  const server = await startServer(config, { logger: createLogger(process.env.LOG_LEVEL ?? 'silent') });
  const newTenant = async (prefix = 't') => {
    const id = `${prefix}-${randomBytes(5).toString('hex')}`.toLowerCase();
    await server.services.tenants.create(id);
    // Writes in tests act as this tenant's maintenance client (see fhir() below); reads stay anonymous.
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const client = await server.services.auth.clients.register(id, {
      name: 'test maintenance client', scopes: ['system/*.cruds'],
      jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'test', alg: 'ES384' }] },
    });
    const base = `${server.url}/t/${id}/fhir`;
    writeTokens.set(`${server.url}/t/${id}/`, () => mintAccessToken(server.services.auth.keys, id, client.clientId, ['system/*.cruds'], base));
    return id;
  };
  const tenant = await newTenant();
  const close = server.close;
  return {
    ...server, tenant, config, newTenant, base: `${server.url}/t/${tenant}/fhir`,
    close: async () => { await close(); fs.rmSync(dataDir, { recursive: true, force: true }); },
  };
}

export const EXAMPLES_DIR = path.resolve(import.meta.dirname, '..', '..', 'seeds', 'plan-net-examples');

export function example(name: string): any {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, `${name}.json`), 'utf8'));
}

/** Per-tenant token minters for writes, keyed by `${origin}/t/${tenant}/`. */
const writeTokens = new Map<string, () => Promise<string>>();

/** A fresh maintenance-client access token (system/*.cruds) for the tenant whose URL this is. */
export async function maintenanceToken(url: string): Promise<string> {
  for (const [prefix, mint] of writeTokens) if (url.startsWith(prefix)) return mint();
  throw new Error(`no test tenant owns ${url}`);
}

/**
 * fetch with FHIR JSON defaults; returns status, headers and parsed body. Requests other than GET/HEAD carry the
 * tenant's maintenance-client token unless they set Authorization themselves or pass `anonymous: true`.
 */
export async function fhir(url: string, init: RequestInit & { json?: unknown; anonymous?: boolean } = {}): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers = new Headers(init.headers);
  const method = (init.method ?? 'GET').toUpperCase();
  if (!init.anonymous && method !== 'GET' && method !== 'HEAD' && !headers.has('authorization')) {
    for (const [prefix, mint] of writeTokens) if (url.startsWith(prefix)) { headers.set('authorization', `Bearer ${await mint()}`); break; }
  }
  if (init.json !== undefined) { headers.set('content-type', 'application/fhir+json'); init.body = JSON.stringify(init.json); }
  if (!headers.has('accept')) headers.set('accept', 'application/fhir+json');
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  let body: any;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
  return { status: res.status, headers: res.headers, body, text };
}
