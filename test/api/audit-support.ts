/**
 * Test plumbing for the audit tests: the real service (like startTestServer) with a captured log stream, a tenant
 * with a write client, staff identities through the service's session hook (the seam SAML sign-in plugs into),
 * an owner connection to inspect and tamper with rows, and the CLIs.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import type { Request } from 'express';
import { loadConfig, PROJECT_ROOT, type Config } from '../../src/config/config.ts';
import { buildServices, startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { mintAccessToken } from '../../src/auth/smart/token-endpoint.ts';
import type { Identity } from '../../src/auth/identity.ts';
import type { Tenant } from '../../src/tenancy/tenants.ts';
import { testDatabaseUrl, example } from '../helpers/server.ts';

export interface AuditTestServer extends RunningServer {
  config: Config;
  dataDir: string;
  tenant: string;
  base: string;
  /** Every log line the service wrote (JSON strings). */
  logs: string[];
  newTenant(prefix?: string): Promise<string>;
  /** Authorization header value of the tenant's maintenance client (system/*.cruds). */
  writeAuth(tenant?: string): Promise<string>;
  clientId(tenant?: string): string;
}

/** Cookie that makes the caller a staff user of the tenant with these roles (see the test session resolver below). */
export function staffCookie(userId: string, roles: string[], tenant?: string): string {
  return `test-staff=${userId}:${roles.join('+')}${tenant ? `@${tenant}` : ''}`;
}

const testSessions = {
  async resolve(req: Request, tenant: Tenant): Promise<Identity | undefined> {
    const m = /(?:^|;\s*)test-staff=([a-z0-9-]+):([a-z+]*)(?:@([a-z0-9-]+))?/.exec(req.headers.cookie ?? '');
    if (!m) return undefined;
    return { kind: 'staff', tenant: m[3] ?? tenant.id, userId: m[1], roles: m[2].split('+').filter(Boolean), sessionId: `session-${m[1]}` };
  },
};

/** `dataDir`: share another instance's (its development keys), as instances of one deployment share their keys. */
export async function startAuditServer(opts: { overrides?: Partial<Config>; logLevel?: string; dataDir?: string } = {}): Promise<AuditTestServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'plannet-audit-'));
  const base = loadConfig({ ...process.env, DATABASE_URL: testDatabaseUrl(), DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
  const config: Config = {
    ...base, seedDemo: false,
    rateLimit: { ...base.rateLimit, anonymousPerMinute: 1e6, clientPerMinute: 1e6, authPerMinute: 1e6 },
    ...opts.overrides,
  };
  const logs: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      logs.push(...lines.filter(Boolean));
      cb();
    },
  });
  const logger = createLogger(opts.logLevel ?? 'info', stream);
  const built = await buildServices(config, logger);
  built.services.sessions = testSessions;
  const server = await startServer(config, { logger, services: built });
  const clients = new Map<string, string>();
  const newTenant = async (prefix = 'audit') => {
    const id = `${prefix}-${randomBytes(5).toString('hex')}`;
    await server.services.tenants.create(id);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const client = await server.services.auth.clients.register(id, {
      name: 'audit test writer', scopes: ['system/*.cruds'],
      jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'test', alg: 'ES384' }] },
    });
    clients.set(id, client.clientId);
    return id;
  };
  const tenant = await newTenant();
  const close = server.close;
  return {
    ...server, config, dataDir, tenant, logs, newTenant,
    base: `${server.url}/t/${tenant}/fhir`,
    clientId: (t = tenant) => clients.get(t)!,
    writeAuth: async (t = tenant) => `Bearer ${await mintAccessToken(server.services.auth.keys, t, clients.get(t)!, ['system/*.cruds'], `${server.url}/t/${t}/fhir`)}`,
    close: async () => { await close(); if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true }); },
  };
}

/** An owner (superuser) connection to the test database: sees every tenant's rows, can alter them. */
export async function ownerClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: testDatabaseUrl() });
  await c.connect();
  return c;
}

export async function auditRows(owner: pg.Client, tenant: string, where = 'true', params: unknown[] = []): Promise<any[]> {
  const { rows } = await owner.query(`SELECT * FROM audit_events WHERE tenant_id = $1 AND (${where}) ORDER BY seq`, [tenant, ...params]);
  return rows;
}

export async function rowsFor(owner: pg.Client, tenant: string, requestId: string): Promise<any[]> {
  return auditRows(owner, tenant, 'request_id = $2', [requestId]);
}

/** A valid Plan-Net Practitioner with the given name, NPI and address. */
export function practitioner(opts: { family: string; given: string; npi: string; line?: string; city?: string; id?: string }): any {
  const p = example('Practitioner-HansSolo');
  delete p.text;
  if (opts.id) p.id = opts.id; else delete p.id;
  p.name = [{ family: opts.family, given: [opts.given] }];
  p.identifier = [{ system: 'http://hl7.org/fhir/sid/us-npi', value: opts.npi }];
  if (opts.line) p.address = [{ line: [opts.line], city: opts.city ?? 'Springfield', state: 'IL', postalCode: '62704' }];
  return p;
}

export function uniqueId(prefix: string): string { return `${prefix}-${randomBytes(6).toString('hex')}`; }

/** Runs a CLI (src/cli/<name>.ts) against the test database; returns exit code and output lines. */
export async function runCli(name: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string; lines: string[] }> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'src', 'cli', `${name}.ts`), ...args], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr, lines: stdout.split('\n').filter(Boolean) };
}
