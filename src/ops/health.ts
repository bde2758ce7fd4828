import { Router } from '@koa/router';
import { pendingMigrations } from '../data/migrate.ts';
import type { Store } from '../data/engines/store.ts';

/** `/healthz`: the process answers. `/readyz`: the Store answers and is fully migrated. */
export function healthRoutes(store: Store, isShuttingDown: () => boolean = () => false): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const problems: string[] = [];
    if (isShuttingDown()) problems.push('shutting down');
    try {
      await store.ping();
      const pending = await pendingMigrations(store);
      if (pending.length) problems.push(`migrations not applied: ${pending.join(', ')}`);
    } catch {
      problems.push('store unreachable');
    }
    ctx.status = problems.length ? 503 : 200;
    ctx.body = problems.length ? { status: 'unavailable', problems } : { status: 'ready' };
  });
  return router;
}
