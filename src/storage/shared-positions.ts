/** Writers' WAL positions in Redis (REDIS_URL), so read-your-writes holds across API instances (read-routing.ts). */
import { createClient } from 'redis';
import type { SharedPositions } from './read-routing.ts';

export async function redisPositions(url: string): Promise<SharedPositions & { close(): Promise<void> }> {
  const redis = createClient({ url });
  redis.on('error', () => { /* reconnects by itself; callers fall back to the primary meanwhile */ });
  await redis.connect();
  return {
    set: async (key, lsn, ttlMs) => { await redis.set(`plannet:ryw:${key}`, lsn, { PX: Math.max(1, ttlMs) }); },
    get: (key) => redis.get(`plannet:ryw:${key}`),
    close: async () => { await redis.quit(); },
  };
}
