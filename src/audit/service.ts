/**
 * The audit trail at run time: a row for every request to a tenant, never lost.
 *
 * - `admit()` runs as the request context is created (before tenancy, authentication, rate limits and body
 *   parsing), so refused requests get a row too. It notes when the request began and records the row when the
 *   response finishes (or the connection closes).
 * - `beforeCommit` is registered with `db.addBeforeCommit`: every write transaction inserts its audit row as its last
 *   statement, so no change commits without its row. If the row cannot be written the transaction rolls back and the
 *   request fails closed with 503. The finish hook then only adds a row when the response did not end the way the
 *   committed row says (e.g. the COMMIT itself failed), so a failed write is always on record.
 * - Rows of requests that wrote nothing (reads, refusals, failures) are buffered and appended in batches, one
 *   statement per tenant per flush; `close()` flushes on shutdown. The buffer is bounded: when it is full (the audit
 *   store has been unwritable for a while) new requests are refused with 503 rather than served unrecorded.
 *
 * Privacy (Plan-Net asks for no records linking a consumer to what they looked up): rows of anonymous callers keep no
 * IP address, user agent or query values — only parameter names the server recognizes and a keyed hash of the
 * network prefix whose key rotates daily (network.ts). Authenticated callers' rows keep full detail.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Db, TenantTx } from '../storage/db.ts';
import { TENANT_ID_PATTERN } from '../storage/db.ts';
import type { Logger } from '../observability/logger.ts';
import type { Identity } from '../auth/identity.ts';
import { actorId } from '../auth/identity.ts';
import { currentContext, runWithContext, type RequestContext } from '../http/request-context.ts';
import { FhirError } from '../fhir/outcome/errors.ts';
import { clean, cleanList, normalize, outcomeOf, toAppendRow, type AuditRecord } from './record.ts';
import { NetworkHasher } from './network.ts';
import { describePath, type PathInfo } from './paths.ts';
import { appendBuffered } from './store.ts';

export interface AuditOptions {
  db: Db;
  logger: Logger;
  enabled: boolean;
  flushIntervalMs: number;
  bufferMax: number;
  /** Is `name` a search parameter (or result parameter) the server knows for this type? Only those names are kept for anonymous callers. */
  knownParam?: (resourceType: string | null, name: string) => boolean;
  /** Rows per audit_append statement. */
  batchSize?: number;
}

const TENANT_PREFIX = /^\/t\/([^/]+)/;

/** Per-request audit state, kept beside the request context (a class: one shape, no closures per request). */
class RequestAudit {
  readonly startedAt = Date.now();
  /** performance.now() at arrival, for the duration. */
  readonly t0 = performance.now();
  readonly method: string;
  readonly query: string;
  readonly ip: string | undefined;
  readonly userAgent: string | undefined;
  readonly credentialsPresented: boolean;
  /** Status the last committed in-transaction row recorded (null: none). */
  txStatus: number | null = null;
  done = false;
  readonly service: AuditService;
  readonly rc: RequestContext;
  readonly tenant: string;
  readonly path: string;
  #described: PathInfo | undefined;
  constructor(service: AuditService, rc: RequestContext, tenant: string, req: Request, path: string, query: string) {
    this.service = service;
    this.rc = rc;
    this.tenant = tenant;
    this.path = path;
    this.method = req.method;
    this.query = query;
    // Without a trusted proxy req.ip is the socket's address; asking req.ip parses X-Forwarded-For all the same.
    this.ip = req.app.enabled('trust proxy') ? req.ip ?? req.socket.remoteAddress : req.socket.remoteAddress;
    this.userAgent = req.headers['user-agent'];
    this.credentialsPresented = req.headers.authorization !== undefined;
  }
  /** What the URL is by its shape (route, and the action and resource for requests refused before a handler ran); described lazily: a handled request names its own action and resource. */
  info(): PathInfo { return (this.#described ??= describePath(this.method, this.path)); }
}

/** The 'close' listener of every admitted response (`this` is the response): one function, not a closure per request. */
function onResponseClose(this: Response): void {
  const state = this.locals.auditState as RequestAudit | undefined;
  if (state) state.service.finished(state, this);
}

/** A buffered row, normalized; hashed and chained when it is flushed. */
type Pending = AuditRecord;

/** The audit state rides on the request context itself (a WeakMap entry per request costs the garbage collector more). */
const STATE = Symbol('audit-state');
type Audited = RequestContext & { [STATE]?: RequestAudit };

/** Runs `fn` as a background job: a system identity, and the current request id (or a new one) for correlation. */
export function runAsJob<T>(job: { name: string; tenant?: string; requestId?: string }, fn: () => T): T {
  const parent = currentContext();
  return runWithContext({
    requestId: job.requestId ?? parent?.requestId ?? `job-${randomUUID()}`,
    tenant: job.tenant ?? parent?.tenant,
    identity: { kind: 'system', name: job.name },
    audit: {},
  }, fn);
}

const PROBE_SQL = `
  SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS wrote,
         CASE WHEN $2::timestamptz IS NULL OR pg_current_xact_id_if_assigned() IS NULL THEN NULL ELSE (
           SELECT json_agg(json_build_array(h.resource_type, h.id, h.method, p.deleted) ORDER BY h.resource_type, h.id, h.version_id)
             FROM resource_history h
             LEFT JOIN resource_history p
               ON p.tenant_id = h.tenant_id AND p.resource_type = h.resource_type AND p.id = h.id AND p.version_id = h.version_id - 1
            WHERE h.tenant_id = $1 AND h.last_updated >= $2::timestamptz AND h.xmin = pg_current_xact_id_if_assigned()::xid
         ) END AS changes`;

type Change = [type: string, id: string, method: string, prevDeleted: boolean | null];

/** The status a committed write answers with (the finish hook corrects the record if the response says otherwise). */
function committedStatus(action: string, changes: Change[] | null): number {
  switch (action) {
    case 'create': return changes && changes.length > 0 ? 201 : 200;
    case 'update': return changes?.some(([, , m, pd]) => m === 'POST' || pd === true) ? 201 : 200;
    case 'delete': return 204;
    case 'admin:register-client': return 201;
    case 'admin:revoke-client': return 204;
    default: return 200;
  }
}

export class AuditService {
  readonly enabled: boolean;
  readonly #db: Db;
  readonly #logger: Logger;
  readonly #max: number;
  readonly #batchSize: number;
  readonly #hasher = new NetworkHasher();
  readonly #knownParam: (resourceType: string | null, name: string) => boolean;
  #buffer: Pending[] = [];
  /** Requests admitted and not yet finished: each may still add a row, so they count against the bound. */
  #admitted = 0;
  #inFlight = 0;
  /** Requests refused because the buffer was full, per tenant: recorded as one summary row each once the store is back. */
  #refused = new Map<string, number>();
  /** The flush running now, followed by any requested meanwhile: one flusher at a time. */
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #closed = false;

  constructor(opts: AuditOptions) {
    this.enabled = opts.enabled;
    this.#db = opts.db;
    this.#logger = opts.logger;
    this.#max = opts.bufferMax;
    this.#batchSize = opts.batchSize ?? 1000;
    this.#knownParam = opts.knownParam ?? (() => false);
    if (this.enabled) {
      this.#timer = setInterval(() => { void this.flush(); }, opts.flushIntervalMs);
      this.#timer.unref();
    }
  }

  /** Rows waiting to be written (buffered or being written). */
  get backlog(): number { return this.#buffer.length + this.#inFlight; }

  /**
   * Admits a request into the trail and calls `next` (or refuses it with 503 when the buffer is full). Called by the
   * request-context middleware itself (app.ts), not as a router layer of its own, and with no closure per request:
   * this runs for every request, and each layer and closure is work the garbage collector and the router repeat.
   */
  readonly admit = (rc: RequestContext, req: Request, res: Response, next: NextFunction): void => {
    if (!this.enabled) return next();
    const url = req.originalUrl;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const m = TENANT_PREFIX.exec(path);
    // Requests outside a tenant (health checks) need no row; an id that is not a valid tenant id cannot key one.
    if (!m || !TENANT_ID_PATTERN.test(m[1])) return next();
    const tenant = m[1];
    if (this.#buffer.length + this.#inFlight + this.#admitted >= this.#max || this.#closed) {
      this.#refused.set(tenant, (this.#refused.get(tenant) ?? 0) + 1);
      this.#logger.error({ tenant, backlog: this.backlog }, 'audit buffer full: request refused');
      res.locals.auditState = new RequestAudit(this, rc, tenant, req, path, q < 0 ? '' : url.slice(q + 1));
      return next(new FhirError('unavailable', 'The audit trail cannot be written at the moment, so the request was not served; retry shortly.', { headers: { 'Retry-After': '5' } }));
    }
    // Strings only in what the request context keeps: the context can outlive the request (anything asynchronous
    // started while it was current holds on to it), so it must not keep the request alive.
    const state = new RequestAudit(this, rc, tenant, req, path, q < 0 ? '' : url.slice(q + 1));
    (rc as Audited)[STATE] = state;
    res.locals.auditState = state;
    this.#admitted++;
    // after 'finish' for a completed response, or when the connection went away first; one shared listener function
    // (`on`, not `once`: finishing guards itself, and once() allocates a wrapper per request)
    res.on('close', onResponseClose);
    next();
  };

  /** The response of an admitted request is over (see onResponseClose). */
  finished(state: RequestAudit, res: Response): void {
    if (state.done) return;
    state.done = true;
    this.#admitted--;
    try { this.#finish(state.rc, state, res); } catch (err) { this.#logger.error({ code: (err as { code?: string }).code }, 'audit row could not be built'); }
  }

  /** Registered with db.addBeforeCommit: the audit row of a write commits in the same transaction as the change. */
  readonly beforeCommit = async (tx: TenantTx): Promise<void> => {
    if (!this.enabled) return;
    const rc = currentContext();
    const state = (rc as Audited | undefined)?.[STATE];
    let changes: Change[] | null;
    try {
      const since = state ? new Date(state.startedAt - 1000).toISOString() : null;
      const { rows } = await tx.query({ name: 'audit-probe', text: PROBE_SQL, values: [tx.tenant, since] });
      if (!rows[0].wrote) return; // the transaction changed nothing: the request's own row will say what happened
      changes = rows[0].changes as Change[] | null;
    } catch (err) {
      throw this.#unavailable(err);
    }
    const action = rc?.audit.action ?? state?.info().action ?? 'write';
    const status = committedStatus(action, changes);
    let resourceType = rc?.audit.resourceType ?? null;
    let resourceIds = rc?.audit.resourceIds ?? null;
    if (changes && changes.length > 0) {
      const types = new Set(changes.map((c) => c[0]));
      if (types.size === 1) { resourceType = changes[0][0]; resourceIds = [...new Set(changes.map((c) => c[1]))]; }
      else { resourceType = null; resourceIds = [...new Set(changes.map((c) => `${c[0]}/${c[1]}`))]; }
    }
    const record = this.#build(rc, state, tx.tenant, {
      action, status, inTransaction: true, resourceType, resourceIds, resultCount: changes ? changes.length : null,
    });
    try {
      await tx.query({ name: 'audit-append', text: 'SELECT audit_append($1, $2::jsonb)', values: [tx.tenant, JSON.stringify([toAppendRow(record)])] });
    } catch (err) {
      throw this.#unavailable(err);
    }
    if (state) state.txStatus = status;
    if (rc) rc.audit.writtenInTransaction = true;
  };

  /**
   * A row for work that is not an HTTP request (export and adequacy jobs, file downloads): buffered like a read's.
   * Identity and request id come from the current context (see runAsJob).
   */
  record(entry: { tenant: string; action: string; status?: number; resourceType?: string; resourceIds?: string[]; resultCount?: number; durationMs?: number }): void {
    if (!this.enabled) return;
    if (!TENANT_ID_PATTERN.test(entry.tenant)) throw new Error(`invalid tenant id ${JSON.stringify(entry.tenant)}`);
    const rc = currentContext();
    const record = this.#build(rc, undefined, entry.tenant, {
      action: entry.action, status: entry.status ?? 200, inTransaction: false,
      resourceType: entry.resourceType ?? null, resourceIds: entry.resourceIds ?? null, resultCount: entry.resultCount ?? null,
      durationMs: entry.durationMs,
    });
    this.#enqueue(record);
  }

  #finish(rc: RequestContext, state: RequestAudit, res: Response): void {
    // 499: the response did not complete (the client went away, or a streamed answer was cut off)
    const status = res.writableFinished ? res.statusCode : 499;
    // A committed in-transaction row already records this request if the response ended the way that row says.
    if (state.txStatus === status) return;
    const a = rc.audit;
    const action = a.action ?? state.info().action;
    const resultCount = a.resultCount ?? ((action === 'read' || action === 'vread') && status === 200 ? 1 : null);
    const record = this.#build(rc, state, state.tenant, {
      action, status, inTransaction: false,
      resourceType: a.resourceType ?? state.info().resourceType, resourceIds: a.resourceIds ?? state.info().resourceIds, resultCount,
    });
    this.#enqueue(record);
  }

  #build(rc: RequestContext | undefined, state: RequestAudit | undefined, tenant: string, f: {
    action: string; status: number; inTransaction: boolean; resourceType: string | null; resourceIds: string[] | null;
    resultCount: number | null; durationMs?: number;
  }): AuditRecord {
    const identity: Identity = rc?.identity ?? { kind: 'system', name: 'unattributed' };
    const authenticated = identity.kind !== 'anonymous';
    // A caller who presented credentials that failed is a sign-in attempt, not a consumer browsing: keep the address.
    const keepNetwork = authenticated || state?.credentialsPresented === true;
    const names = rc?.audit.searchParams ?? (state?.query ? [...new URLSearchParams(state.query).keys()] : null);
    const resourceType = clean(f.resourceType, 64);
    return {
      tenant,
      recordedAt: new Date(state?.startedAt ?? Date.now()).toISOString(),
      requestId: clean(rc?.requestId, 128) ?? `tx-${randomUUID()}`,
      actorKind: identity.kind,
      actorId: clean(actorId(identity), 256),
      actorRoles: identity.kind === 'staff' ? cleanList(identity.roles, 100) : identity.kind === 'client' ? cleanList(identity.scopes, 100) : null, // (cleanList: [] → null)
      action: clean(f.action, 128) ?? 'unknown',
      method: state ? clean(state.method, 16) : null,
      resourceType,
      resourceIds: cleanList(f.resourceIds),
      searchParams: names ? (authenticated ? cleanList([...new Set(names)], 100, 128) : this.#anonymousNames(resourceType, names)) : null,
      query: authenticated && state?.query ? clean(state.query, 4096) : null,
      status: f.status,
      outcome: outcomeOf(f.status),
      durationMs: Math.round((f.durationMs ?? (state ? performance.now() - state.t0 : 0)) * 1000) / 1000,
      resultCount: f.resultCount,
      sourceIp: keepNetwork && state ? clean(state.ip, 64) : null,
      userAgent: keepNetwork && state ? clean(state.userAgent, 512) : null,
      networkHash: !authenticated && state ? this.#hasher.hash(state.ip) ?? null : null,
      inTransaction: f.inTransaction,
    };
  }

  /** Anonymous callers: only names the server recognizes (a typed-in name or address used as a key is not kept). */
  #anonymousNames(resourceType: string | null, names: string[]): string[] | null {
    const out = new Set<string>();
    for (const name of names) {
      out.add(/^[A-Za-z0-9_.:-]{1,128}$/.test(name) && this.#knownParam(resourceType, name) ? name : '(unrecognized)');
      if (out.size >= 100) break;
    }
    return out.size ? [...out] : null;
  }

  #enqueue(record: AuditRecord): void {
    this.#buffer.push(record); // #build normalizes; hashing waits for the flush
    if (this.#buffer.length >= this.#batchSize && !this.#flushing && !this.#failing) void this.flush();
  }

  #unavailable(err: unknown): unknown {
    const e = err as { code?: string };
    if (e instanceof FhirError) return e;
    // Lock conflicts are not an outage: let the caller's write-error mapping say "retry".
    if (e?.code === '40001' || e?.code === '40P01') return err;
    this.#logger.error({ code: e?.code }, 'audit row could not be written in the transaction; the write is refused');
    return new FhirError('unavailable', 'The audit trail cannot be written at the moment, so the change was not made; retry shortly.', { headers: { 'Retry-After': '5' } });
  }

  /** Writes everything buffered so far (resolves when done or when the store refused; rows stay buffered then). */
  flush(): Promise<void> {
    // One flusher at a time; a caller arriving mid-flush waits for it and then for a flush of what it left behind.
    const next: Promise<void> = (this.#flushing ?? Promise.resolve())
      .then(() => this.#flushAll())
      .catch((err: unknown) => { this.#logger.error({ code: (err as { code?: string })?.code }, 'audit flush failed'); })
      .finally(() => { if (this.#flushing === next) this.#flushing = undefined; });
    this.#flushing = next;
    return next;
  }

  async #flushAll(): Promise<void> {
    // Only what is buffered now: rows arriving meanwhile wait for the next tick, so batches stay large (a flusher that
    // chased every new row would send a statement per handful of rows, at several times the cost per row).
    if (this.#buffer.length === 0) this.#recordRefusals();
    let remaining = this.#buffer.length;
    while (remaining > 0) {
      const batch = this.#buffer.splice(0, Math.min(this.#batchSize, remaining));
      remaining -= batch.length;
      this.#inFlight += batch.length;
      const byTenant = new Map<string, Pending[]>();
      for (const p of batch) {
        const list = byTenant.get(p.tenant);
        if (list) list.push(p); else byTenant.set(p.tenant, [p]);
      }
      const failed: Pending[] = [];
      let failure: unknown;
      for (const [tenant, rows] of byTenant) {
        try {
          await this.#append(tenant, rows);
        } catch (err) {
          // A row the database rejects as data (it should never happen: every field is cleaned) must not block the
          // others: retry one by one and record a minimal row for the one that fails.
          if (/^2[23]/.test(String((err as { code?: string }).code ?? ''))) await this.#appendOneByOne(tenant, rows, failed);
          else { failed.push(...rows); failure = err; }
        }
      }
      this.#inFlight -= batch.length;
      if (failed.length > 0) {
        this.#buffer = [...failed, ...this.#buffer];
        if (!this.#failing) this.#logger.error({ code: (failure as { code?: string })?.code, backlog: this.#buffer.length }, 'audit store unavailable; rows are kept in memory and retried');
        this.#failing = true;
        return;
      }
      if (this.#failing) this.#logger.warn({ backlog: this.#buffer.length }, 'audit store available again');
      this.#failing = false;
      if (remaining === 0 && this.#refused.size > 0) { this.#recordRefusals(); remaining = this.#buffer.length; }
    }
  }

  #recordRefusals(): void {
    if (this.#refused.size === 0) return;
    for (const [tenant, n] of this.#refused) {
      const record = this.#build(undefined, undefined, tenant, { action: 'audit-overflow', status: 503, inTransaction: false, resourceType: null, resourceIds: null, resultCount: n });
      record.actorId = 'audit';
      this.#buffer.push(normalize(record));
    }
    this.#refused.clear();
  }

  async #append(tenant: string, rows: Pending[]): Promise<void> {
    await appendBuffered(this.#db.auditPool, tenant, rows);
  }

  async #appendOneByOne(tenant: string, rows: Pending[], failed: Pending[]): Promise<void> {
    for (const r of rows) {
      try {
        await this.#append(tenant, [r]);
      } catch (err) {
        if (!/^2[23]/.test(String((err as { code?: string }).code ?? ''))) { failed.push(r); continue; }
        this.#logger.error({ code: (err as { code?: string }).code, requestId: r.requestId }, 'audit row rejected by the database; a minimal row is recorded instead');
        const minimal: AuditRecord = {
          tenant, recordedAt: r.recordedAt, requestId: r.requestId, actorKind: 'system', actorId: 'audit', actorRoles: null,
          action: 'unrecordable', method: null, resourceType: null, resourceIds: null, searchParams: null, query: null,
          status: Number(r.status) || 0, outcome: Number(r.outcome) || 0, durationMs: 0, resultCount: null,
          sourceIp: null, userAgent: null, networkHash: null, inTransaction: false,
        };
        try { await this.#append(tenant, [minimal]); } catch { failed.push(r); }
      }
    }
  }

  /** Stops the timer and writes what is buffered; retries for up to `timeoutMs` if the store is unavailable. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.flush();
      if (this.#buffer.length === 0 && this.#refused.size === 0) return;
      if (Date.now() > deadline) {
        this.#logger.error({ lost: this.#buffer.length }, 'audit store unavailable at shutdown: buffered rows could not be written');
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Fields request logs carry beside pino-http's own (request id, tenant, status, latency): the route and the action. */
export function auditLogFields(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  const state = res.locals?.auditState as RequestAudit | undefined;
  if (!state) return out;
  out.route = state.info().route;
  const action = state.rc.audit.action;
  if (action) out.action = action;
  return out;
}
