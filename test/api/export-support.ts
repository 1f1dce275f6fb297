/**
 * Helpers for the bulk export tests: clients with scoped tokens, kick-off, polling that honours Retry-After (as
 * Inferno and bulk-data-client do), downloads without a token, and fast data loading.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { mintAccessToken } from '../../src/auth/smart/token-endpoint.ts';
import { loadResources } from '../../src/ingest/loader.ts';
import { generateDirectory } from '../../src/seeds/synthetic/generator.ts';
import type { TestServer } from '../helpers/server.ts';

export const PLAN_NET = ['Endpoint', 'HealthcareService', 'InsurancePlan', 'Location', 'Organization', 'OrganizationAffiliation', 'Practitioner', 'PractitionerRole'];

/** A registered SMART client of `tenant` with these scopes, and a fresh access token for it. */
export async function clientToken(srv: TestServer, tenant: string, scopes: string[]): Promise<{ clientId: string; token: string; mint(): Promise<string> }> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const c = await srv.services.auth.clients.register(tenant, { name: 'export test client', scopes, jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES384' }] } });
  const mint = () => mintAccessToken(srv.services.auth.keys, tenant, c.clientId, scopes, `${srv.url}/t/${tenant}/fhir`);
  return { clientId: c.clientId, token: await mint(), mint };
}

export async function loadSynthetic(srv: TestServer, tenant: string, practitioners: number, seed = 3): Promise<number> {
  const s = await loadResources({ db: srv.services.db, validator: srv.services.validator, indexer: srv.services.search.indexer },
    generateDirectory({ practitioners, seed }) as Iterable<Resource>, { tenant, batchSize: 1000 });
  assert.equal(s.rejected.length, 0, JSON.stringify(s.rejected.slice(0, 3)));
  return Object.values(s.loaded).reduce((a, b) => a + b, 0);
}

export interface KickoffResult { status: number; location: string | null; body: any; headers: Headers }

export async function kickoff(base: string, token: string | undefined, query = '', init: { headers?: Record<string, string>; method?: string; body?: unknown } = {}): Promise<KickoffResult> {
  const headers: Record<string, string> = { accept: 'application/fhir+json', prefer: 'respond-async', ...init.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/fhir+json';
  const res = await fetch(`${base}/$export${query}`, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  let body: any;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = text; }
  return { status: res.status, location: res.headers.get('content-location'), body, headers: res.headers };
}

export interface Manifest {
  transactionTime: string; request: string; requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  deleted?: { type: string; url: string; count: number }[];
  error: { type: string; url: string; count: number }[];
}

/** Polls like Inferno: sleep Retry-After between 202s; returns the first non-202 response. */
export async function poll(url: string, token: string, timeoutMs = 120_000): Promise<{ status: number; headers: Headers; body: any; polls: number; progress: string[] }> {
  const deadline = Date.now() + timeoutMs;
  const progress: string[] = [];
  for (let polls = 1; ; polls++) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    const text = await res.text();
    if (res.status !== 202) {
      let body: any;
      try { body = JSON.parse(text); } catch { body = text; }
      return { status: res.status, headers: res.headers, body, polls, progress };
    }
    const p = res.headers.get('x-progress');
    if (p) progress.push(p);
    const ra = Number(res.headers.get('retry-after'));
    assert.ok(Number.isInteger(ra) && ra >= 1, `Retry-After is whole seconds: ${res.headers.get('retry-after')}`);
    if (Date.now() + ra * 1000 > deadline) throw new Error(`export not done in ${timeoutMs} ms (last progress: ${p})`);
    await new Promise((r) => setTimeout(r, ra * 1000));
  }
}

export async function runExport(base: string, token: string, query = ''): Promise<{ manifest: Manifest; location: string; headers: Headers }> {
  const k = await kickoff(base, token, query);
  assert.equal(k.status, 202, JSON.stringify(k.body));
  const done = await poll(k.location!, token);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  return { manifest: done.body, location: k.location!, headers: done.headers };
}

/** Downloads a file without any token; returns its lines (parsed). */
export async function download(url: string, headers: Record<string, string> = {}): Promise<{ status: number; lines: any[]; text: string; headers: Headers }> {
  const res = await fetch(url, { headers: { 'accept-encoding': 'identity', ...headers } });
  const text = await res.text();
  const lines = res.status === 200 ? text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l)) : [];
  return { status: res.status, lines, text, headers: res.headers };
}

/** Every output file downloaded and checked (type per line, count); resources by type. */
export async function downloadAll(m: Manifest): Promise<Map<string, any[]>> {
  const byType = new Map<string, any[]>();
  for (const o of m.output) {
    const d = await download(o.url);
    assert.equal(d.status, 200, `${o.url}: ${d.text.slice(0, 200)}`);
    assert.equal(d.lines.length, o.count, `${o.type}: lines vs manifest count`);
    for (const r of d.lines) assert.equal(r.resourceType, o.type);
    byType.set(o.type, [...(byType.get(o.type) ?? []), ...d.lines]);
  }
  return byType;
}

/** The tenant's current resources as the database has them: `Type/id` → versionId. */
export async function currentVersions(srv: TestServer, tenant: string): Promise<Map<string, string>> {
  const rows = await srv.services.db.withTenant(tenant, async (tx) => (await tx.query(
    'SELECT resource_type, id, version_id FROM resources WHERE tenant_id = $1 AND NOT deleted', [tenant])).rows, { readOnly: true });
  return new Map(rows.map((r: any) => [`${r.resource_type}/${r.id}`, String(r.version_id)]));
}
