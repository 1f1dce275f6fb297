/**
 * /metrics: Prometheus text with request counts by action/type/status/tenant, latency histograms, pool use,
 * rate-limit refusals and the audit buffer; closed unless the caller holds METRICS_TOKEN (or, without a token, is on
 * loopback).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, fhir, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
before(async () => { srv = await startTestServer({ metricsToken: 'scrape-secret' }); });
after(async () => { await srv.close(); });

test('metrics need the token and report requests by action, type, status and tenant', async () => {
  await fhir(`${srv.base}/Practitioner?_count=1`);
  await fhir(`${srv.base}/Practitioner/nope`);
  assert.equal((await fetch(`${srv.url}/metrics`)).status, 404, 'no token, nothing');
  assert.equal((await fetch(`${srv.url}/metrics`, { headers: { authorization: 'Bearer wrong-secret!' } })).status, 404);
  const r = await fetch(`${srv.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret' } });
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.match(text, new RegExp(`plannet_http_requests_total\\{action="search-type",type="Practitioner",status="200",tenant="${srv.tenant}"\\} 1`));
  assert.match(text, new RegExp(`plannet_http_requests_total\\{action="read",type="Practitioner",status="404",tenant="${srv.tenant}"\\} 1`));
  assert.match(text, /plannet_http_request_duration_seconds_bucket\{le="0.05",action="search-type",type="Practitioner"\}/);
  assert.match(text, /plannet_db_pool_connections\{state="total"\} \d+/);
  assert.match(text, /plannet_audit_buffer_depth \d+/);
  assert.match(text, /plannet_job_queue_depth \d+/);
  assert.match(text, /plannet_job_queue_oldest_age_seconds [\d.]+/);
  assert.match(text, /plannet_rate_limit_refusals_total/);
  assert.match(text, /plannet_process_resident_memory_bytes/);
});

test('without a configured token, only loopback callers may scrape', async () => {
  const open = await startTestServer();
  try {
    assert.equal((await fetch(`${open.url}/metrics`)).status, 200, 'tests connect over loopback');
  } finally { await open.close(); }
});

test('the job queue gauges count waiting jobs', async () => {
  const { maintenanceToken } = await import('../helpers/server.ts');
  const idle = await startTestServer({ metricsToken: 'q', jobs: { ...srv.config.jobs, workers: false } });
  try {
    const k = await fetch(`${idle.base}/$export`, { headers: { authorization: `Bearer ${await maintenanceToken(idle.base)}`, prefer: 'respond-async', accept: 'application/fhir+json' } });
    assert.equal(k.status, 202);
    const text = await (await fetch(`${idle.url}/metrics`, { headers: { authorization: 'Bearer q' } })).text();
    const depth = Number(/plannet_job_queue_depth (\d+)/.exec(text)?.[1]);
    assert.ok(depth >= 1, `queue depth ${depth}`);
  } finally { await idle.close(); }
});
