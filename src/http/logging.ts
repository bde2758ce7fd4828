import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino blanks wherever they appear. Request logging below never writes
 * headers, bodies or query strings in the first place; this is the net under it.
 */
const REDACT = [
  'password',
  '*.password',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'code',
  '*.code',
  'client_secret',
  '*.client_secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'sessionId',
  '*.sessionId',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: undefined }, destination as never);
}

/** Paths that carry a secret in a segment are logged with the segment elided. */
function loggablePath(path: string): string {
  return path.startsWith('/setup/') ? '/setup/:token' : path;
}

/** One line per request: method, path (never the query), status, time, request id. */
export function requestLog(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const requestId = ctx.get('x-request-id').slice(0, 64) || randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      ctx.state.log.info(
        { method: ctx.method, path: loggablePath(ctx.path), status: ctx.status, ms: Math.round((performance.now() - started) * 10) / 10 },
        'request',
      );
    }
  };
}
