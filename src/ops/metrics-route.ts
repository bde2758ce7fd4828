import { timingSafeEqual } from 'node:crypto';
import { Router } from '@koa/router';
import type { Metrics } from './metrics.ts';

/** `/metrics` in the Prometheus text format; behind a bearer token when METRICS_TOKEN is set. */
export function metricsRoute(metrics: Metrics, token: string | undefined): Router {
  const router = new Router();
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  router.get('/metrics', async (ctx) => {
    if (expected) {
      const presented = Buffer.from(ctx.get('authorization'));
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
        ctx.body = { error: 'unauthorized', error_description: 'this endpoint needs METRICS_TOKEN as a bearer token' };
        return;
      }
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  return router;
}
