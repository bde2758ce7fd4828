import type { Context, Middleware } from 'koa';
import { createRouteMatcher, type Resolution } from '../route-match.ts';
import { ROUTES, type Route } from '../routes.ts';

const RESOLUTION = Symbol('gatehouse.route');

const match = createRouteMatcher(ROUTES);

/**
 * The first middleware: resolves the request to its route once. Everything
 * after it asks `routeOf(ctx)` instead of looking at the path.
 */
export function resolveRoute(): Middleware {
  return async (ctx, next) => {
    (ctx.state as Record<symbol, Resolution>)[RESOLUTION] = match(ctx.method, ctx.path);
    await next();
  };
}

export function resolutionOf(ctx: Context): Resolution {
  return (ctx.state as Record<symbol, Resolution | undefined>)[RESOLUTION] ?? { kind: 'none' };
}

/** The route this request's path names (whether or not its method is allowed there). */
export function routeOf(ctx: Context): Route | undefined {
  const resolution = resolutionOf(ctx);
  return resolution.kind === 'none' ? undefined : resolution.route;
}

/** The route's parameters, percent-decoded. */
export function paramsOf(ctx: Context): Record<string, string> {
  const resolution = resolutionOf(ctx);
  return resolution.kind === 'none' ? {} : resolution.params;
}
