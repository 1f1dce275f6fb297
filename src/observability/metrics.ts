/**
 * Prometheus metrics (prom-client) at GET /metrics: requests by action/type/status/tenant, latency histograms,
 * database pool use, rate-limit refusals, plus gauges other modules register (job queue depth and age, audit
 * buffer depth). Not public: callers need `Authorization: Bearer $METRICS_TOKEN`, or, with no token configured, must
 * connect from loopback (a sidecar or port-forward).
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import client from 'prom-client';
import type pg from 'pg';
import { currentContext } from '../http/request-context.ts';

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'action' | 'type' | 'status' | 'tenant'>;
  readonly latency: client.Histogram<'action' | 'type'>;
  readonly rateLimited: client.Counter<'tenant'>;

  constructor(pool?: pg.Pool) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'plannet_' });
    this.requests = new client.Counter({ name: 'plannet_http_requests_total', help: 'HTTP requests by FHIR action, resource type, status and tenant', labelNames: ['action', 'type', 'status', 'tenant'], registers: [this.registry] });
    this.latency = new client.Histogram({ name: 'plannet_http_request_duration_seconds', help: 'Request latency by FHIR action and resource type', labelNames: ['action', 'type'], buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [this.registry] });
    this.rateLimited = new client.Counter({ name: 'plannet_rate_limit_refusals_total', help: 'Requests refused by a rate limit', labelNames: ['tenant'], registers: [this.registry] });
    if (pool) {
      new client.Gauge({ name: 'plannet_db_pool_connections', help: 'Database pool connections by state', labelNames: ['state'], registers: [this.registry],
        collect() { this.set({ state: 'total' }, pool.totalCount); this.set({ state: 'idle' }, pool.idleCount); this.set({ state: 'waiting' }, pool.waitingCount); } });
    }
  }

  /** A gauge whose value is read when scraped (e.g. job queue depth, audit buffer depth). */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    new client.Gauge({ name, help, registers: [this.registry], async collect() { this.set(await read()); } });
  }

  /** Records every request when it finishes. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      const start = process.hrtime.bigint();
      res.on('finish', () => {
        const rc = currentContext();
        const action = rc?.audit.action ?? (req.path === '/healthz' || req.path === '/readyz' ? 'health' : 'other');
        const type = rc?.audit.resourceType ?? '';
        this.requests.inc({ action, type, status: String(res.statusCode), tenant: rc?.tenant ?? '' });
        this.latency.observe({ action, type }, Number(process.hrtime.bigint() - start) / 1e9);
        if (res.statusCode === 429) this.rateLimited.inc({ tenant: rc?.tenant ?? '' });
      });
      next();
    };
  }

  handler(token: string | undefined) {
    return async (req: Request, res: Response) => {
      const auth = req.headers.authorization ?? '';
      const ok = token
        ? auth.length === token.length + 7 && timingSafeEqual(Buffer.from(auth), Buffer.from(`Bearer ${token}`))
        : ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress ?? '');
      if (!ok) { res.status(404).end(); return; }
      res.set('Content-Type', this.registry.contentType).send(await this.registry.metrics());
    };
  }
}
