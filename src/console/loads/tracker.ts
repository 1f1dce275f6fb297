/**
 * Loads started from the console, per tenant, as this server process saw them: running ones with their progress and
 * the last finished ones with their outcome. The data quality page counts running and failed loads from here.
 * Kept in memory (loads run in the request that uploaded the file, see docs/adr/0010-console.md): a restart forgets
 * the history, and each instance knows only its own loads; the records themselves are durable at each batch commit.
 */
import { randomUUID } from 'node:crypto';

export interface LoadRecord {
  id: string;
  user: string;
  file: string;
  bytes: number;
  startedAt: Date;
  finishedAt?: Date;
  state: 'running' | 'completed' | 'failed';
  processed: number;
  loaded: number;
  rejected: number;
  error?: string;
}

const KEEP = 50;
const byTenant = new Map<string, LoadRecord[]>();

export function startLoad(tenant: string, r: { user: string; file: string; bytes: number }): LoadRecord {
  const rec: LoadRecord = { id: randomUUID(), ...r, startedAt: new Date(), state: 'running', processed: 0, loaded: 0, rejected: 0 };
  const list = byTenant.get(tenant) ?? [];
  list.unshift(rec);
  // drop the oldest finished ones beyond KEEP (running loads always stay listed)
  for (let i = list.length - 1; i >= 0 && list.length > KEEP; i--) if (list[i]!.state !== 'running') list.splice(i, 1);
  byTenant.set(tenant, list);
  return rec;
}

export function finishLoad(rec: LoadRecord, outcome: { loaded: number; rejected: number; processed?: number } | { error: string }): void {
  rec.finishedAt = new Date();
  if ('error' in outcome) { rec.state = 'failed'; rec.error = outcome.error; return; }
  rec.state = 'completed';
  rec.loaded = outcome.loaded;
  rec.rejected = outcome.rejected;
  if (outcome.processed !== undefined) rec.processed = outcome.processed;
}

export function recentLoads(tenant: string): readonly LoadRecord[] {
  return byTenant.get(tenant) ?? [];
}

/** Running loads, and loads that failed or rejected records, started within `sinceMs`. */
export function loadCounts(tenant: string, sinceMs = 30 * 24 * 3600 * 1000): { running: number; failed: number; withRejections: number; finished: number } {
  const since = Date.now() - sinceMs;
  const c = { running: 0, failed: 0, withRejections: 0, finished: 0 };
  for (const r of recentLoads(tenant)) {
    if (r.state === 'running') { c.running++; continue; }
    if (r.startedAt.getTime() < since) continue;
    c.finished++;
    if (r.state === 'failed') c.failed++;
    else if (r.rejected > 0) c.withRejections++;
  }
  return c;
}
