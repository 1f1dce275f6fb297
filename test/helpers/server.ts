/**
 * Starts the real service in-process on a free port against the test run's PostgreSQL (see test/run.ts), and gives
 * each test file its own tenant.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/observability/logger.ts';

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
  const config: Config = { ...loadConfig({ ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' }), seedDemo: false, ...overrides };
  const server = await startServer(config, { logger: createLogger(process.env.LOG_LEVEL ?? 'silent') });
  const newTenant = async (prefix = 't') => {
    const id = `${prefix}-${randomBytes(5).toString('hex')}`.toLowerCase();
    await server.services.tenants.create(id);
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

/** fetch with FHIR JSON defaults; returns status, headers and parsed body. */
export async function fhir(url: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) { headers.set('content-type', 'application/fhir+json'); init.body = JSON.stringify(init.json); }
  if (!headers.has('accept')) headers.set('accept', 'application/fhir+json');
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  let body: any;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
  return { status: res.status, headers: res.headers, body, text };
}
