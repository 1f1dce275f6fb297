/**
 * One typed, validated configuration object, read from the environment once at start-up and passed into the
 * factories that need it (no module-level singleton: tests build their own).
 * Every environment variable the service reads is named here; README.md lists them with their defaults.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Config {
  host: string;
  port: number;
  /** Folder for the embedded database and local files; project-local by default. */
  dataDir: string;
  /** Owner/admin connection (migrations). Unset → embedded PostgreSQL under dataDir. */
  databaseUrl?: string;
  /** Optional separate login role for the service; default: databaseUrl with SET ROLE to the app role. */
  databaseAppUrl?: string;
  /** Database role the service runs as: owns nothing, subject to row-level security. */
  appRole: string;
  logLevel: string;
  /** Seed a `demo` tenant with the IG examples and a synthetic directory on first start. */
  seedDemo: boolean;
  demoPractitioners: number;
  /** Maximum accepted request body, bytes. */
  maxBodyBytes: number;
  /** Default and maximum page size for searches and history. */
  defaultPageSize: number;
  maxPageSize: number;
  /** Public base URL override (behind a proxy); otherwise derived from the request. */
  publicBaseUrl?: string;
  dbPoolMax: number;
  /** Shared store for rate limits (and, later, sessions and replay caches) across instances. */
  redisUrl?: string;
  /** Requests per window (default one minute): anonymous callers per source address, SMART clients per client, token/SSO endpoints per address. */
  rateLimit: { anonymousPerMinute: number; clientPerMinute: number; authPerMinute: number; windowMs: number };
  /** Express trust-proxy setting (e.g. `1`, `loopback`, a CIDR list); unset = trust no proxy headers. */
  trustProxy?: string;
  /** production: plaintext (non-HTTPS) requests are refused; HSTS is sent. */
  production: boolean;
  tls?: { certFile: string; keyFile: string };
  /** Bearer token that /metrics requires; unset → /metrics answers loopback callers only. */
  metricsToken?: string;
  /** The durable job runner (pg-boss; docs/adr/0007-jobs.md). */
  jobs: JobsConfig;
  /** Bulk $export and $bulk-publish. */
  export: ExportConfig;
  /** Network-adequacy reports: finished reports (row and files) are deleted this long after they finish. */
  adequacy: { retentionSeconds: number };
  /** Staff sessions (SAML sign-in): idle and absolute timeouts, seconds. */
  sessionIdleTimeoutS: number;
  sessionAbsoluteTimeoutS: number;
  /**
   * Session cookies are always Secure, except — when this is on and not in production — for a request that arrived
   * over plain HTTP from a loopback address to a loopback host (local development and tests).
   */
  sessionInsecureLoopback: boolean;
  /** SAML: allowed clock skew against the IdP, and how long a sign-in started at the IdP may take, seconds. */
  samlClockSkewS: number;
  samlRequestTtlS: number;
  /** Audit trail (src/audit): on in production; off only for benchmark comparisons. */
  auditEnabled: boolean;
  /** How often buffered audit rows of reads are written, and how many may wait before requests are refused (503). */
  auditFlushIntervalMs: number;
  auditBufferMax: number;
  /** HMAC key (hex or base64, ≥ 32 bytes) signing retention checkpoints; unset → a dev key generated into dataDir. */
  auditCheckpointKey?: string;
  /** Key-encryption key for secrets at rest (base64, 32 bytes), or a file holding it; required in production (src/security). */
  masterKey?: string;
  masterKeyFile?: string;
  /** Previous master keys (comma-separated base64) that still unwrap data keys until `npm run keys -- rotate` re-wraps them. */
  masterKeysPrevious?: string;
  /** Read replica: reads and searches go here (read-your-writes kept per client); unset → everything on DATABASE_URL. */
  databaseReadUrl?: string;
  /** After a write, that client's reads stay on the primary until the replica has replayed it, at most this long. */
  readYourWritesMs: number;
}

function int(name: string, value: string | undefined, dflt: number, min = 0): number {
  if (value === undefined || value === '') return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`Configuration error: ${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

function bool(name: string, value: string | undefined, dflt: boolean): boolean {
  if (value === undefined || value === '') return dflt;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`Configuration error: ${name} must be true or false, got "${value}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const appRole = env.DATABASE_APP_ROLE || 'plannet_app';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(appRole)) throw new Error(`Configuration error: DATABASE_APP_ROLE "${appRole}" is not a plain lowercase identifier`);
  const maxPageSize = int('MAX_PAGE_SIZE', env.MAX_PAGE_SIZE, 1000, 1);
  return {
    host: env.HOST || '127.0.0.1',
    port: int('PORT', env.PORT, 8080),
    dataDir: path.resolve(env.DATA_DIR || path.join(PROJECT_ROOT, '.data')),
    databaseUrl: env.DATABASE_URL || undefined,
    databaseAppUrl: env.DATABASE_APP_URL || undefined,
    appRole,
    logLevel: env.LOG_LEVEL || 'info',
    seedDemo: bool('SEED_DEMO', env.SEED_DEMO, true),
    demoPractitioners: int('DEMO_PRACTITIONERS', env.DEMO_PRACTITIONERS, 300),
    maxBodyBytes: int('MAX_BODY_BYTES', env.MAX_BODY_BYTES, 20 * 1024 * 1024, 1024),
    defaultPageSize: Math.min(int('DEFAULT_PAGE_SIZE', env.DEFAULT_PAGE_SIZE, 20, 1), maxPageSize),
    maxPageSize,
    publicBaseUrl: publicBaseUrl(env),
    dbPoolMax: int('DB_POOL_MAX', env.DB_POOL_MAX, 10, 1),
    redisUrl: env.REDIS_URL || undefined,
    rateLimit: {
      anonymousPerMinute: int('RATE_LIMIT_ANONYMOUS_PER_MINUTE', env.RATE_LIMIT_ANONYMOUS_PER_MINUTE, 1200, 1),
      clientPerMinute: int('RATE_LIMIT_CLIENT_PER_MINUTE', env.RATE_LIMIT_CLIENT_PER_MINUTE, 6000, 1),
      authPerMinute: int('RATE_LIMIT_AUTH_PER_MINUTE', env.RATE_LIMIT_AUTH_PER_MINUTE, 60, 1),
      windowMs: int('RATE_LIMIT_WINDOW_MS', env.RATE_LIMIT_WINDOW_MS, 60_000, 100),
    },
    trustProxy: env.TRUST_PROXY || undefined,
    production: env.NODE_ENV === 'production',
    tls: tlsConfig(env),
    metricsToken: env.METRICS_TOKEN || undefined,
    jobs: {
      workers: bool('JOB_WORKERS', env.JOB_WORKERS, true),
      heartbeatSeconds: int('JOB_HEARTBEAT_SECONDS', env.JOB_HEARTBEAT_SECONDS, 15, 10),
      monitorIntervalSeconds: int('JOB_MONITOR_INTERVAL_SECONDS', env.JOB_MONITOR_INTERVAL_SECONDS, 10, 1),
      pollingIntervalSeconds: int('JOB_POLLING_INTERVAL_SECONDS', env.JOB_POLLING_INTERVAL_SECONDS, 2, 1),
      retryLimit: int('JOB_RETRY_LIMIT', env.JOB_RETRY_LIMIT, 3, 0),
      shutdownGraceMs: int('JOB_SHUTDOWN_GRACE_MS', env.JOB_SHUTDOWN_GRACE_MS, 10_000, 0),
    },
    export: exportConfig(env),
    adequacy: { retentionSeconds: int('ADEQUACY_RETENTION_SECONDS', env.ADEQUACY_RETENTION_SECONDS, 7 * 24 * 3600, 60) },
    sessionIdleTimeoutS: int('SESSION_IDLE_TIMEOUT_S', env.SESSION_IDLE_TIMEOUT_S, 15 * 60, 1),
    sessionAbsoluteTimeoutS: int('SESSION_ABSOLUTE_TIMEOUT_S', env.SESSION_ABSOLUTE_TIMEOUT_S, 8 * 3600, 1),
    sessionInsecureLoopback: bool('SESSION_INSECURE_LOOPBACK', env.SESSION_INSECURE_LOOPBACK, true) && env.NODE_ENV !== 'production',
    samlClockSkewS: int('SAML_CLOCK_SKEW_S', env.SAML_CLOCK_SKEW_S, 30),
    samlRequestTtlS: int('SAML_REQUEST_TTL_S', env.SAML_REQUEST_TTL_S, 600, 10),
    auditEnabled: bool('AUDIT_ENABLED', env.AUDIT_ENABLED, true),
    auditFlushIntervalMs: int('AUDIT_FLUSH_INTERVAL_MS', env.AUDIT_FLUSH_INTERVAL_MS, 200, 10),
    auditBufferMax: int('AUDIT_BUFFER_MAX', env.AUDIT_BUFFER_MAX, 50_000, 1),
    auditCheckpointKey: env.AUDIT_CHECKPOINT_KEY || undefined,
    masterKey: env.MASTER_KEY || undefined,
    masterKeyFile: env.MASTER_KEY_FILE ? path.resolve(env.MASTER_KEY_FILE) : undefined,
    masterKeysPrevious: env.MASTER_KEY_PREVIOUS || undefined,
    databaseReadUrl: env.DATABASE_READ_URL || undefined,
    readYourWritesMs: int('READ_YOUR_WRITES_MS', env.READ_YOUR_WRITES_MS, 30_000, 0),
  };
}

function tlsConfig(env: NodeJS.ProcessEnv): Config['tls'] {
  const certFile = env.TLS_CERT_FILE;
  const keyFile = env.TLS_KEY_FILE;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new Error('Configuration error: set both TLS_CERT_FILE and TLS_KEY_FILE to serve HTTPS');
  return { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) };
}

export interface JobsConfig {
  /** Run job workers in this process (role `all`); role `api` turns them off, role `worker` runs only them. */
  workers: boolean;
  /** A running job refreshes its heartbeat every heartbeatSeconds / 2; one silent this long is retried elsewhere (≥ 10). */
  heartbeatSeconds: number;
  /** How often stale (heartbeat-less) and expired jobs are looked for. */
  monitorIntervalSeconds: number;
  /** Workers poll this often when LISTEN/NOTIFY has not woken them. */
  pollingIntervalSeconds: number;
  /** Attempts after the first before a job fails for good. */
  retryLimit: number;
  /** On shutdown, running jobs get this long to finish before they are handed back for a retry. */
  shutdownGraceMs: number;
}

export interface ExportConfig {
  /** Where export files live: `local` (a folder) or `s3` (any S3-compatible object store). */
  storage: 'local' | 's3';
  /** Folder for local export files; unset → DATA_DIR/exports. */
  dir?: string;
  s3?: { bucket: string; region?: string; endpoint?: string; forcePathStyle: boolean; prefix: string };
  /** Completed exports (and their files) are kept this long. */
  retentionSeconds: number;
  /** Lifetime of a signed download URL (SMART: ≤ 300 s recommended). */
  urlTtlSeconds: number;
  /** HMAC key for download URLs; unset → generated once into DATA_DIR/export-url-signing.key. */
  signingKey?: string;
  /** NDJSON files are split after this many lines. */
  maxLinesPerFile: number;
  /** Store files gzip-compressed (served as they are to clients that accept gzip). */
  gzip: boolean;
  /** Write and read local export files with O_DIRECT, past the page cache (src/jobs/storage/direct-io.ts). */
  directIo: boolean;
  /** Decrypt downloads of local export files on a thread of their own (src/security/decrypt-thread.ts). */
  downloadThread: boolean;
  /** Run the export's big scan in a worker thread of its own (src/jobs/export/scan-thread.ts); off: on the job's thread. */
  scanThread: boolean;
  /** Concurrent (queued or running) exports per tenant and per client or staff user; more → 429. */
  maxConcurrentPerTenant: number;
  maxConcurrentPerClient: number;
  /** Exports one process runs at once. */
  workerConcurrency: number;
  /** Retry-After on status polls while an export runs; polling faster gets 429. */
  retryAfterSeconds: number;
  /** A status poll of a running export waits up to this long for it to end before answering 202 (0: answer at once). */
  statusHoldMs: number;
  /** transactionTime is this far before the snapshot, so every write stamped at or before it has committed. */
  snapshotMarginMs: number;
  /** Cron (UTC) for publishing every public tenant's static bulk file set; empty disables the schedule. */
  publishCron: string;
  /** The previous published file set stays downloadable this long after a new one replaces it. */
  publishGraceSeconds: number;
}

function exportConfig(env: NodeJS.ProcessEnv): ExportConfig {
  const storage = env.EXPORT_STORAGE || 'local';
  if (storage !== 'local' && storage !== 's3') throw new Error(`Configuration error: EXPORT_STORAGE must be local or s3, got "${storage}"`);
  if (storage === 's3' && !env.EXPORT_S3_BUCKET) throw new Error('Configuration error: EXPORT_STORAGE=s3 needs EXPORT_S3_BUCKET');
  const signingKey = env.EXPORT_URL_SIGNING_KEY || undefined;
  if (signingKey !== undefined && signingKey.length < 32) throw new Error('Configuration error: EXPORT_URL_SIGNING_KEY must be at least 32 characters');
  return {
    storage,
    dir: env.EXPORT_DIR ? path.resolve(env.EXPORT_DIR) : undefined,
    s3: storage === 's3' ? {
      bucket: env.EXPORT_S3_BUCKET!, region: env.EXPORT_S3_REGION || undefined, endpoint: env.EXPORT_S3_ENDPOINT || undefined,
      forcePathStyle: bool('EXPORT_S3_FORCE_PATH_STYLE', env.EXPORT_S3_FORCE_PATH_STYLE, false), prefix: (env.EXPORT_S3_PREFIX ?? '').replace(/^\/+|\/+$/g, ''),
    } : undefined,
    retentionSeconds: int('EXPORT_RETENTION_SECONDS', env.EXPORT_RETENTION_SECONDS, 3600, 60),
    urlTtlSeconds: int('EXPORT_URL_TTL_SECONDS', env.EXPORT_URL_TTL_SECONDS, 300, 1),
    signingKey,
    maxLinesPerFile: int('EXPORT_MAX_LINES_PER_FILE', env.EXPORT_MAX_LINES_PER_FILE, 50_000, 1),
    gzip: bool('EXPORT_GZIP', env.EXPORT_GZIP, false),
    directIo: bool('EXPORT_DIRECT_IO', env.EXPORT_DIRECT_IO, true),
    downloadThread: bool('EXPORT_DOWNLOAD_THREAD', env.EXPORT_DOWNLOAD_THREAD, true),
    scanThread: bool('EXPORT_SCAN_THREAD', env.EXPORT_SCAN_THREAD, true),
    maxConcurrentPerTenant: int('EXPORT_MAX_CONCURRENT_PER_TENANT', env.EXPORT_MAX_CONCURRENT_PER_TENANT, 4, 1),
    maxConcurrentPerClient: int('EXPORT_MAX_CONCURRENT_PER_CLIENT', env.EXPORT_MAX_CONCURRENT_PER_CLIENT, 2, 1),
    workerConcurrency: int('EXPORT_WORKER_CONCURRENCY', env.EXPORT_WORKER_CONCURRENCY, 2, 1),
    retryAfterSeconds: int('EXPORT_RETRY_AFTER_SECONDS', env.EXPORT_RETRY_AFTER_SECONDS, 1, 1),
    statusHoldMs: int('EXPORT_STATUS_HOLD_MS', env.EXPORT_STATUS_HOLD_MS, 3000, 0),
    snapshotMarginMs: int('EXPORT_SNAPSHOT_MARGIN_MS', env.EXPORT_SNAPSHOT_MARGIN_MS, 500, 0),
    publishCron: env.BULK_PUBLISH_CRON ?? '0 3 * * *',
    publishGraceSeconds: int('BULK_PUBLISH_GRACE_SECONDS', env.BULK_PUBLISH_GRACE_SECONDS, 3600, 0),
  };
}

function publicBaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  const v = env.PUBLIC_BASE_URL;
  if (!v) {
    // Absolute URLs must not come from the Host header in production; development uses the listening address.
    if (env.NODE_ENV === 'production') throw new Error('Configuration error: set PUBLIC_BASE_URL (e.g. https://directory.example.org) in production');
    return undefined;
  }
  try { new URL(v); } catch { throw new Error(`Configuration error: PUBLIC_BASE_URL "${v}" is not a URL`); }
  return v.replace(/\/+$/, '');
}
