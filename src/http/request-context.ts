/**
 * Per-request context carried through async calls (AsyncLocalStorage): the request id, tenant and the caller's
 * identity. Logs, audit rows and background jobs read it from here instead of threading it through every call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Identity } from '../auth/identity.ts';

export interface RequestContext {
  requestId: string;
  tenant?: string;
  identity: Identity;
  /** Set by handlers so the audit row can say what was touched. */
  audit: {
    action?: string;
    resourceType?: string;
    resourceIds?: string[];
    searchParams?: string[];
    resultCount?: number;
    /** True once the row for this request was written inside a write transaction. */
    writtenInTransaction?: boolean;
  };
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn(...args)` with `ctx` as the current context (arguments instead of a closure: the hot path calls this per request). */
export function runWithContext<R, A extends unknown[]>(ctx: RequestContext, fn: (...args: A) => R, ...args: A): R {
  return storage.run(ctx, fn, ...args);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}
