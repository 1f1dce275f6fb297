/**
 * Structured JSON logs (pino). Request logs carry the request id, tenant, route, status and latency — never request or
 * response bodies, query values or headers that could identify a consumer.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  // stdout without a write system call per line: lines written while a write is in flight go out together. The
  // buffer is flushed synchronously at exit, so nothing logged before a shutdown is lost.
  if (!destination) {
    const stdout = pino.destination({ dest: 1, sync: false });
    process.once('exit', () => { try { stdout.flushSync(); } catch { /* nothing pending, or stdout gone */ } });
    destination = stdout as unknown as NodeJS.WritableStream;
  }
  return pino({
    level,
    base: { service: 'plannet-directory' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.client_assertion'], remove: true },
  }, destination as any);
}
