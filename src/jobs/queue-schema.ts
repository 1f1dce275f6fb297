/**
 * The queue's schema (`pgboss`) is installed and upgraded by the database owner, like every other migration; the
 * service then uses it as the application role, which gets plain DML rights on it and nothing more (no DDL, no
 * ownership). See docs/adr/0007-jobs.md.
 *
 * Queues are rows, not tables (non-partitioned), so the runner creates its own as the application role.
 *
 * `prepareQueueSchema` is idempotent and safe to run from many starting processes at once: pg-boss installs and
 * migrates under its own advisory lock, and the grants run under ours.
 */
import pg from 'pg';
import { PgBoss } from 'pg-boss';

export const QUEUE_SCHEMA = 'pgboss';
const GRANT_LOCK = 7426352;

export async function prepareQueueSchema(ownerUrl: string, appRole: string): Promise<void> {
  const boss = new PgBoss({
    connectionString: ownerUrl, schema: QUEUE_SCHEMA, max: 2, application_name: 'plannet-jobs-migrate',
    migrate: true, supervise: false, schedule: false, registerInstance: false, openTelemetry: { enabled: false },
  });
  boss.on('error', () => { /* start() rejects with the error that matters */ });
  try {
    await boss.start();
  } finally {
    await boss.stop({ graceful: false, close: true });
  }
  const client = new pg.Client({ connectionString: ownerUrl, application_name: 'plannet-jobs-migrate' });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${GRANT_LOCK})`);
    await client.query(`
      GRANT USAGE ON SCHEMA ${QUEUE_SCHEMA} TO ${appRole};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${QUEUE_SCHEMA} TO ${appRole};
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${QUEUE_SCHEMA} TO ${appRole};
      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${QUEUE_SCHEMA} TO ${appRole};`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}
