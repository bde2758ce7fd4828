import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { pino, type Logger } from 'pino';
import type { Metrics } from './metrics.ts';

export type { Logger };

/** The request a log line was written for, wherever in the code it was written. */
const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/**
 * Paths pino blanks wherever they appear. Request logging never writes
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

/**
 * Errors are logged as what went wrong and where, nothing more. pino's default
 * serializer copies every enumerable property, and libraries hang request data
 * on their errors (jose a token's claims, pg a row's values, oidc-provider the
 * offending detail). The error's code travels as `errorCode` because `*.code`
 * is redacted: that name also carries OAuth authorization codes.
 */
function errorSummary(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message: error.message, ...(typeof code === 'string' ? { errorCode: code } : {}), stack: error.stack };
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      serializers: { err: errorSummary },
      redact: { paths: REDACT, censor: '[redacted]' },
      base: undefined,
      mixin: () => requestContext.getStore() ?? {},
    },
    destination as never,
  );
}

/** Paths that carry a secret in a segment are logged with the segment elided. */
function loggablePath(path: string): string {
  return path.startsWith('/setup/') ? '/setup/:token' : path;
}

/**
 * One line per request (method, path without the query, status, time) and the
 * request metrics. Every log line written while the request is handled carries
 * its request id.
 */
export function observeRequests(logger: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const requestId = /^[\w.-]{1,64}$/.test(ctx.get('x-request-id')) ? ctx.get('x-request-id') : randomUUID();
    ctx.set('X-Request-Id', requestId);
    await requestContext.run({ requestId }, async () => {
      try {
        await next();
      } finally {
        const seconds = (performance.now() - started) / 1000;
        const streamed = String(ctx.response.get('content-type')).startsWith('text/event-stream');
        metrics.httpRequest(ctx.path, ctx.method, ctx.status, streamed ? undefined : seconds);
        logger.info({ method: ctx.method, path: loggablePath(ctx.path), status: ctx.status, ms: Math.round(seconds * 10_000) / 10 }, 'request');
      }
    });
  };
}
