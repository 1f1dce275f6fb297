/**
 * Rate limits (express-rate-limit): per SMART client for authenticated calls, per source address for anonymous
 * ones, and a stricter per-address limit on the token and sign-in endpoints. In memory by default; in Redis when
 * REDIS_URL is set, so every instance counts against the same limits. A refusal is a 429 with Retry-After and an
 * OperationOutcome.
 */
import type { Request, Response, RequestHandler } from 'express';
import { rateLimit, ipKeyGenerator, type Store } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import { createClient } from 'redis';
import type { Config } from '../config/config.ts';
import { currentContext } from './request-context.ts';
import { FHIR_JSON } from './negotiation.ts';

export interface RateLimiters { api: RequestHandler; auth: RequestHandler; close(): Promise<void> }

type Redis = ReturnType<typeof createClient>;

export async function createRateLimiters(config: Config, onRefused?: (req: Request) => void): Promise<RateLimiters> {
  let redis: Redis | undefined;
  if (config.redisUrl) {
    redis = createClient({ url: config.redisUrl });
    redis.on('error', () => { /* reconnects by itself; requests fail open on the limiter only through passOnStoreError */ });
    await redis.connect();
  }
  const store = (prefix: string): Store | undefined => redis
    ? new RedisStore({ prefix: `plannet:rl:${prefix}:`, sendCommand: (...args: string[]) => redis!.sendCommand(args) })
    : undefined;
  const handler = (req: Request, res: Response) => {
    onRefused?.(req);
    const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
    const retryAfter = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 60;
    res.locals.outcome = 'too-many-requests';
    res.status(429).set('Retry-After', String(retryAfter)).type(FHIR_JSON).send(JSON.stringify({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'throttled', diagnostics: `Too many requests; retry after ${retryAfter} s` }],
    }));
  };
  const common = { windowMs: config.rateLimit.windowMs, standardHeaders: 'draft-7' as const, legacyHeaders: false, handler, passOnStoreError: false };

  const api = rateLimit({
    ...common,
    store: store('api'),
    // authenticated callers by identity, anonymous ones by address (IPv6 grouped by /56 as the library recommends)
    limit: (req: Request) => (currentContext()?.identity.kind === 'anonymous' ? config.rateLimit.anonymousPerMinute : config.rateLimit.clientPerMinute),
    keyGenerator: (req: Request) => {
      const id = currentContext()?.identity;
      if (id?.kind === 'client') return `client:${id.tenant}:${id.clientId}`;
      if (id?.kind === 'staff') return `staff:${id.tenant}:${id.userId}`;
      return `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
    },
  });
  const auth = rateLimit({
    ...common,
    store: store('auth'),
    limit: config.rateLimit.authPerMinute,
    keyGenerator: (req: Request) => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`,
  });
  return { api, auth, close: async () => { if (redis) await redis.quit(); } };
}
