import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context } from 'koa';
import type { Store } from '../data/engines/store.ts';
import { readiness } from '../ops/health.ts';
import type { Metrics } from '../ops/metrics.ts';
import { PUBLIC_DIR } from '../paths.ts';
import type { Handlers } from './handlers.ts';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './middleware/errors.ts';

const ASSET_TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', svg: 'image/svg+xml', png: 'image/png' };
const ASSETS = ['gatehouse.css'];

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

/**
 * Who may read /metrics. With METRICS_TOKEN, whoever presents it. Without,
 * only a scraper on this machine: a request from a loopback address that no
 * proxy forwarded (a proxy on the same host connects from loopback too, but
 * says so in its headers).
 */
function metricsAllowed(ctx: Context, expected: Buffer | undefined): 'yes' | 'token' | 'local-only' {
  if (expected) {
    const presented = Buffer.from(ctx.get('authorization'));
    return presented.length === expected.length && timingSafeEqual(presented, expected) ? 'yes' : 'token';
  }
  const direct = LOOPBACK.has(ctx.req.socket.remoteAddress ?? '') && !FORWARDING_HEADERS.some((name) => ctx.get(name));
  return direct ? 'yes' : 'local-only';
}

/** /healthz, /readyz, /metrics and the static files our pages use. */
export function opsHandlers(deps: { store: Store; metrics: Metrics; metricsToken: string | undefined; isShuttingDown: () => boolean }): Handlers {
  const expected = deps.metricsToken ? Buffer.from(`Bearer ${deps.metricsToken}`) : undefined;
  const assets = new Map(ASSETS.map((name) => [name, { body: readFileSync(`${PUBLIC_DIR}${name}`), type: ASSET_TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream' }]));
  return {
    health: {
      GET: (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { status: 'ok' };
      },
    },
    ready: {
      GET: async (ctx) => {
        ctx.set('Cache-Control', 'no-store');
        const state = await readiness(deps.store, deps.isShuttingDown);
        if (state.ready) {
          ctx.body = { status: 'ready' };
          return;
        }
        ctx.status = 503;
        ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
        ctx.body = { status: 'unavailable', problems: state.problems };
      },
    },
    metrics: {
      GET: async (ctx) => {
        const allowed = metricsAllowed(ctx, expected);
        if (allowed === 'token') {
          ctx.status = 401;
          ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
          ctx.body = { error: 'unauthorized', error_description: 'this endpoint needs METRICS_TOKEN as a bearer token' };
          return;
        }
        if (allowed === 'local-only') {
          ctx.status = 403;
          ctx.body = { error: 'forbidden', error_description: 'metrics are served to this machine only; set METRICS_TOKEN to scrape from elsewhere' };
          return;
        }
        ctx.set('Cache-Control', 'no-store');
        ctx.type = deps.metrics.registry.contentType;
        ctx.body = await deps.metrics.registry.metrics();
      },
    },
    asset: {
      GET: (ctx, { file }) => {
        const asset = assets.get(file!);
        if (!asset) {
          ctx.status = 404;
          ctx.body = { error: 'not_found', error_description: 'no such file' };
          return;
        }
        ctx.type = asset.type;
        ctx.set('Cache-Control', 'public, max-age=3600');
        ctx.body = asset.body;
      },
    },
  };
}
