/**
 * Service lifecycle: open the database (embedded or DATABASE_URL, migrations included), build the services and the
 * app, listen, and shut down gracefully. main.ts and the tests both start the service through here.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/config.ts';
import { openDatabase, type Database } from './storage/db.ts';
import { TenantRegistry } from './tenancy/tenants.ts';
import { createValidator, type ResourceValidator } from './validation/validator.ts';
import { createSearchEngine } from './search/index.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { buildApp } from './app.ts';
import type { AppServices } from './fhir/services.ts';
import { ClientRegistry } from './auth/smart/clients.ts';
import { SigningKeys } from './auth/smart/keys.ts';
import { StaffSessions } from './auth/sessions/store.ts';
import { createRateLimiters } from './http/rate-limit.ts';
import { AuditService } from './audit/service.ts';
import { knownSearchParam } from './audit/known-params.ts';
import { createJobRunner, type JobRunner } from './jobs/index.ts';
import { Metrics } from './observability/metrics.ts';
import { redisPositions } from './storage/shared-positions.ts';
import { QUEUE_SCHEMA } from './jobs/queue-schema.ts';

export interface RunningServer {
  url: string;
  services: AppServices;
  database: Database;
  /** The audit trail (flush() writes buffered rows now). */
  audit: AuditService;
  /** The job runner (bulk export, bulk publish); it runs workers in this process when config.jobs.workers is on. */
  jobs: JobRunner;
  close(): Promise<void>;
}

export async function buildServices(config: Config, logger: Logger): Promise<{ services: AppServices; database: Database; jobs: JobRunner }> {
  const database = await openDatabase(config, { log: (m) => logger.debug({ component: 'postgres' }, m) });
  let validator: ResourceValidator | undefined;
  const services: AppServices = {
    config,
    db: database.db,
    tenants: new TenantRegistry(database.db),
    // compiled on first use (~56 MB and ~0.3 s): a job worker that never validates never pays for it
    get validator() { return validator ??= createValidator(); },
    search: createSearchEngine(),
    logger,
    auth: { clients: new ClientRegistry(database.db, { production: config.production }), keys: new SigningKeys(database.db) },
    rateLimiters: await createRateLimiters(config),
    sessions: new StaffSessions(database.db, config),
  };
  return { services, database, jobs: createJobRunner(services, logger) };
}

export async function startServer(config: Config, opts: { logger?: Logger; services?: { services: AppServices; database: Database; jobs?: JobRunner } } = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const built = opts.services ?? await buildServices(config, logger);
  const { services, database } = built;
  const positions = config.redisUrl && services.db.readRouter ? await redisPositions(config.redisUrl) : undefined;
  if (positions) services.db.readRouter!.share(positions);
  void services.validator; // the API validates writes: compile the profiles before serving, not on the first write
  const jobs = built.jobs ?? createJobRunner(services, logger);
  await jobs.start({ workers: config.jobs.workers });
  const audit = new AuditService({
    db: services.db, logger, enabled: config.auditEnabled, flushIntervalMs: config.auditFlushIntervalMs, bufferMax: config.auditBufferMax,
    knownParam: knownSearchParam(services.search),
  });
  if (audit.enabled) services.db.addBeforeCommit(audit.beforeCommit);
  const metrics = new Metrics(services.db.pool);
  metrics.gauge('plannet_audit_buffer_depth', 'Audit rows buffered in memory, not yet written', () => audit.backlog);
  // job queue depth and the age of its oldest waiting job, read from the pg-boss tables at scrape time
  const queueSql = `SELECT count(*)::int AS depth, COALESCE(EXTRACT(EPOCH FROM now() - min(created_on)), 0)::float8 AS age
    FROM ${QUEUE_SCHEMA}.job WHERE state IN ('created', 'retry') AND start_after <= now()`;
  const queue = async () => (await services.db.query(queueSql)).rows[0] as { depth: number; age: number };
  metrics.gauge('plannet_job_queue_depth', 'Jobs waiting to run (exports, adequacy reports, publishing)', async () => (await queue()).depth);
  metrics.gauge('plannet_job_queue_oldest_age_seconds', 'How long the oldest waiting job has waited', async () => (await queue()).age);
  const app = buildApp(services, { audit, metrics });
  const server = config.tls
    ? https.createServer({ cert: fs.readFileSync(config.tls.certFile), key: fs.readFileSync(config.tls.keyFile), minVersion: 'TLSv1.2', keepAliveTimeout: 65_000 }, app)
    : http.createServer({ keepAliveTimeout: 65_000 }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE'
      ? new Error(`Port ${config.port} on ${config.host} is in use; set PORT to a free port (or 0 for any).`) : err));
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${config.tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  // Absolute URLs (links, Location, token audience) come from configuration, never from the request's Host header,
  // which a client controls; without PUBLIC_BASE_URL (development) the listening address is the base.
  config.publicBaseUrl ??= url;
  let closing: Promise<void> | undefined;
  return {
    url,
    services,
    database,
    audit,
    jobs,
    close: () => closing ??= (async () => {
      // Stop accepting, let in-flight requests finish (at most 10 s), then close the database.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 10_000);
        server.close(() => { clearTimeout(force); resolve(); });
        server.closeIdleConnections();
      });
      await jobs.stop(); // running jobs get JOB_SHUTDOWN_GRACE_MS, then go back to the queue for another worker
      await services.rateLimiters.close();
      await positions?.close();
      await audit.close(); // write the buffered audit rows before the database goes away
      await database.shutdown();
    })(),
  };
}
