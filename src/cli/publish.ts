/**
 * npm run publish -- --tenant <id> [--no-wait] [--timeout S]
 * Queues a static bulk publish of a tenant's public directory (the same job as POST [base]/$bulk-publish and the
 * nightly schedule). A running service (or `npm run worker`) with the same DATA_DIR / export storage does the work;
 * by default this waits for it and prints what was published. Exit 1 if it failed or did not finish in time.
 */
import { parse, runCli, UsageError } from './common.ts';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../observability/logger.ts';
import { buildServices } from '../server.ts';
import { enqueuePublish } from '../jobs/export/export-kind.ts';
import { getJob } from '../jobs/export/job-store.ts';

const USAGE = `Usage: npm run publish -- --tenant <id> [--no-wait] [--timeout seconds]
  Publishes the tenant's directory as static NDJSON files at [base]/$bulk-publish (replacing the previous set).
  The job is done by the service's workers (npm start) or by npm run worker, on the same database and storage.`;

runCli(async () => {
  const { values } = parse(process.argv.slice(2), { tenant: { type: 'string', short: 't' }, 'no-wait': { type: 'boolean' }, timeout: { type: 'string' } }, USAGE);
  if (!values.tenant) throw new UsageError(`--tenant is required\n\n${USAGE}`);
  const timeoutS = values.timeout ? Number(values.timeout) : 600;
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError('--timeout must be a positive number of seconds');
  const config = loadConfig();
  config.jobs.workers = false;
  const built = await buildServices(config, createLogger(process.env.LOG_LEVEL ?? 'warn'));
  try {
    const tenant = await built.services.tenants.get(values.tenant);
    if (!tenant) throw new Error(`Tenant "${values.tenant}" does not exist. Create it with: npm run tenant -- create ${values.tenant}`);
    await built.jobs.start({ workers: false });
    const id = await enqueuePublish({ services: built.services, runner: built.jobs }, tenant.id, `cli:publish --tenant ${tenant.id}`, { kind: 'system', id: 'cli-publish' });
    console.log(`queued bulk publish ${id} for tenant ${tenant.id}`);
    if (values['no-wait']) return;
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      const job = await built.services.db.withTenant(tenant.id, (tx) => getJob(tx, id), { readOnly: true });
      if (job?.status === 'completed') {
        const out = (job.files ?? []).filter((f) => f.kind === 'output');
        for (const f of out) console.log(`  ${f.type.padEnd(24)} ${String(f.count).padStart(9)}  ${f.name}`);
        console.log(`published ${out.reduce((n, f) => n + f.count, 0)} resources in ${out.length} files as of ${job.transactionTime}; served at /t/${tenant.id}/fhir/$bulk-publish`);
        return;
      }
      if (job?.status === 'failed' || job?.status === 'cancelled') throw new Error(`the publish ${job.status}: ${JSON.stringify(job.error ?? {})}`);
      if (Date.now() > deadline) {
        throw new Error(`not finished after ${timeoutS} s (status: ${job?.status ?? 'unknown'}, ${job?.progress ?? ''}); is a service or \`npm run worker\` running on this database?`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await built.jobs.stop();
    await built.services.rateLimiters.close();
    await built.database.shutdown();
  }
});
