/**
 * Structured JSON logs (pino). Request logs carry the request id, tenant, route, status and latency — never request or
 * response bodies, query values or headers that could identify a consumer.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({
    level,
    base: { service: 'plannet-directory' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.client_assertion'], remove: true },
  }, destination as any);
}
