import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { withRequestId, type Logger } from '../../ops/logging.ts';
import type { Metrics } from '../../ops/metrics.ts';
import { routeOf } from './route.ts';

/** The metric label of requests that matched no route: never the path, whose values are unbounded. */
const UNMATCHED = 'unmatched';

/**
 * One log line per request (method, path without the query, route, status,
 * time) and the request metrics, labelled by route pattern. Every log line
 * written while the request is handled carries its request id. A route whose
 * parameters are secrets logs its pattern instead of its path.
 */
export function observeRequests(logger: Logger, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const requestId = /^[\w.-]{1,64}$/.test(ctx.get('x-request-id')) ? ctx.get('x-request-id') : randomUUID();
    ctx.set('X-Request-Id', requestId);
    await withRequestId(requestId, async () => {
      try {
        await next();
      } finally {
        const seconds = (performance.now() - started) / 1000;
        const route = routeOf(ctx);
        const label = route?.pattern ?? UNMATCHED;
        const streamed = String(ctx.response.get('content-type')).startsWith('text/event-stream');
        metrics.httpRequest(label, ctx.method, ctx.status, streamed ? undefined : seconds);
        const path = route && 'secretParams' in route && route.secretParams ? route.pattern : ctx.path;
        logger.info({ method: ctx.method, path, route: label, status: ctx.status, ms: Math.round(seconds * 10_000) / 10 }, 'request');
      }
    });
  };
}
