/**
 * The durable job runner: pg-boss (a PostgreSQL-backed queue) in the service's own database.
 *
 * - Every process can enqueue (`send`), inside the caller's transaction when given one, so a job row and its queue
 *   entry commit together. Processes with `workers: true` (role `all` and `worker`) also run the job kinds.
 * - pg-boss claims each job with `FOR UPDATE SKIP LOCKED`: however many workers share the database, one job is
 *   worked by one worker at a time. Long kinds send heartbeats; a worker that dies (SIGKILL, lost host) stops
 *   sending them, and the queue's monitor hands the job to another worker as a retry.
 * - The runner connects as the application role (no owner rights); the owner installs the schema first
 *   (queue-schema.ts).
 */
import { PgBoss, type Job, type JobWithMetadata } from 'pg-boss';
import type { AppServices } from '../fhir/services.ts';
import type { Config } from '../config/config.ts';
import type { TenantTx } from '../storage/db.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobKind, JobContext } from './kinds.ts';
import { createFileStorage, type FileStorage } from './storage/storage.ts';
import { prepareQueueSchema, QUEUE_SCHEMA } from './queue-schema.ts';
import { runAsJob } from '../audit/service.ts';

export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';

export interface JobRunnerDeps {
  services: AppServices;
  logger: Logger;
  kinds: JobKind<any>[];
  storage?: FileStorage;
}

export class JobRunner {
  readonly services: AppServices;
  readonly storage: FileStorage;
  /** The configuration `storage` was built from (unset when it was passed in): other threads build theirs from it. */
  readonly storageConfig: Config | undefined;
  readonly #logger: Logger;
  readonly #kinds = new Map<string, JobKind<any>>();
  #boss: PgBoss | undefined;
  #workers = false;
  readonly #running = new Set<AbortController>();
  #starting: Promise<void> | undefined;

  constructor(deps: JobRunnerDeps) {
    this.services = deps.services;
    this.#logger = deps.logger.child({ component: 'jobs' });
    this.storage = deps.storage ?? createFileStorage(deps.services.config);
    this.storageConfig = deps.storage ? undefined : deps.services.config;
    for (const k of deps.kinds) this.#kinds.set(k.name, k);
  }

  get workersRunning(): boolean { return this.#workers; }

  /**
   * A kind's queue for this process's file storage: jobs are queued per storage location, so processes that do not
   * share their export files (separate folders) never take each other's jobs, and any number that do, share them.
   */
  queueName(kind: string): string { return `${kind}.${this.storage.id}`; }

  /** Installs/upgrades the queue schema as the owner, connects as the application role, and (optionally) works. */
  start(opts: { workers: boolean }): Promise<void> {
    return this.#starting ??= this.#start(opts);
  }

  async #start(opts: { workers: boolean }): Promise<void> {
    const { config, db } = this.services;
    await prepareQueueSchema(db.ownerUrl, config.appRole);
    const setRole = !config.databaseAppUrl;
    const boss = new PgBoss({
      connectionString: config.databaseAppUrl ?? db.ownerUrl,
      ...(setRole ? { options: `-c role=${config.appRole}` } : {}),
      schema: QUEUE_SCHEMA, max: 4, application_name: opts.workers ? 'plannet-worker' : 'plannet-api',
      migrate: false, createSchema: false,
      supervise: true, monitorIntervalSeconds: config.jobs.monitorIntervalSeconds, superviseIntervalSeconds: config.jobs.monitorIntervalSeconds,
      schedule: opts.workers, reindex: false, persistWarnings: false, monitorVacuum: false,
      useListenNotify: opts.workers, instanceName: opts.workers ? 'worker' : 'api',
      openTelemetry: { enabled: false },
    });
    boss.on('error', (err) => this.#logger.error({ err }, 'job queue error'));
    boss.on('warning', (w) => this.#logger.warn({ warning: w.message }, 'job queue warning'));
    await boss.start();
    for (const kind of this.#kinds.values()) await boss.createQueue(this.queueName(kind.name), { policy: 'standard', notify: true });
    this.#boss = boss;
    if (!opts.workers) return;
    const ctx: JobContext = { services: this.services, storage: this.storage, logger: this.#logger, runner: this };
    for (const kind of this.#kinds.values()) {
      await boss.work<object, void, { localConcurrency: number; batchSize: 1; includeMetadata: true; pollingIntervalSeconds: number }>(this.queueName(kind.name), {
        localConcurrency: kind.concurrency(this.services), batchSize: 1, includeMetadata: true,
        pollingIntervalSeconds: config.jobs.pollingIntervalSeconds,
      }, async (jobs: JobWithMetadata<object>[]) => {
        for (const job of jobs) await this.#run(kind, job, ctx);
      });
      const cron = kind.cron?.(this.services);
      if (cron) await boss.schedule(this.queueName(kind.name), cron, {}, { tz: 'UTC', ...this.#sendOptions(kind) });
      else await boss.unschedule(this.queueName(kind.name)).catch(() => {});
    }
    this.#workers = true;
    this.#logger.info({ kinds: [...this.#kinds.keys()] }, 'job workers started');
  }

  async #run(kind: JobKind<any>, job: JobWithMetadata<object>, ctx: JobContext): Promise<void> {
    const ac = new AbortController();
    const onAbort = () => ac.abort(job.signal.reason);
    job.signal.addEventListener('abort', onAbort, { once: true });
    this.#running.add(ac);
    const log = this.#logger.child({ job: job.id, kind: kind.name, attempt: job.retryCount + 1 });
    try {
      log.debug('job attempt started');
      // as a system identity of its own, so the audit rows of the job's writes say which job made them
      const tenant = typeof (job.data as { tenant?: unknown }).tenant === 'string' ? (job.data as { tenant: string }).tenant : undefined;
      await runAsJob({ name: kind.name, tenant, requestId: `job-${job.id}` }, () => kind.run(
        { id: job.id, data: job.data, attempt: job.retryCount + 1, lastAttempt: job.retryCount >= job.retryLimit, signal: ac.signal }, { ...ctx, logger: log }));
      log.debug('job attempt finished');
    } catch (err) {
      log.warn({ err }, 'job attempt failed');
      throw err;
    } finally {
      job.signal.removeEventListener('abort', onAbort);
      this.#running.delete(ac);
    }
  }

  #sendOptions(kind: JobKind<any>) {
    const { jobs } = this.services.config;
    return {
      retryLimit: jobs.retryLimit, retryDelay: 2, expireInSeconds: kind.expireInSeconds,
      ...(kind.heartbeat ? { heartbeatSeconds: jobs.heartbeatSeconds } : {}),
    };
  }

  #requireBoss(): PgBoss {
    if (!this.#boss) throw new Error('the job runner is not started');
    return this.#boss;
  }

  /**
   * Enqueues a job. With `tx`, the queue entry is written in that transaction (it exists exactly when the caller's
   * own rows commit). `id` makes the job's id predictable (an export's id).
   */
  async send(kindName: string, data: object, opts: { tx?: TenantTx; id?: string } = {}): Promise<string> {
    const kind = this.#kinds.get(kindName);
    if (!kind) throw new Error(`unknown job kind ${kindName}`);
    const id = await this.#requireBoss().send(this.queueName(kindName), data, {
      ...this.#sendOptions(kind), ...(opts.id ? { id: opts.id } : {}),
      ...(opts.tx ? { db: { executeSql: async (text: string, values?: unknown[]) => opts.tx!.query(text, values) } } : {}),
    });
    if (!id) throw new Error(`the queue refused job ${opts.id ?? ''} of kind ${kindName}`);
    return id;
  }

  /** The queue's view of a job (undefined once the queue has forgotten it). */
  async state(kindName: string, id: string): Promise<JobState | undefined> {
    const job = await this.#requireBoss().getJobById<object>(this.queueName(kindName), id);
    return job?.state;
  }

  async cancel(kindName: string, id: string): Promise<void> {
    await this.#requireBoss().cancel(this.queueName(kindName), id).catch((err) => this.#logger.warn({ err, job: id }, 'could not cancel queue job'));
  }

  /**
   * Stops taking work; running attempts get `shutdownGraceMs` to finish, then are aborted and handed back to the
   * queue (another worker retries them).
   */
  async stop(): Promise<void> {
    if (this.#starting) await this.#starting.catch(() => {});
    this.#starting = undefined;
    const boss = this.#boss;
    if (!boss) return;
    this.#boss = undefined;
    const grace = this.services.config.jobs.shutdownGraceMs;
    const abortLater = setTimeout(() => { for (const ac of this.#running) ac.abort(new Error('shutting down')); }, grace);
    try {
      await boss.stop({ graceful: true, timeout: grace + 5_000, close: true });
    } finally {
      clearTimeout(abortLater);
      for (const ac of this.#running) ac.abort(new Error('shutting down'));
      this.#workers = false;
    }
  }
}

/** The runner belonging to a set of services (the HTTP routes look it up here). */
const runners = new WeakMap<AppServices, JobRunner>();
export function attachJobRunner(services: AppServices, runner: JobRunner): void { runners.set(services, runner); }
export function jobRunnerOf(services: AppServices): JobRunner {
  const r = runners.get(services);
  if (!r) throw new Error('no job runner is attached to these services');
  return r;
}

export type { Job };
