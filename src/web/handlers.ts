import type { Context, Middleware, Next } from 'koa';
import compose from 'koa-compose';
import type { Method, Route, RouteName } from './routes.ts';
import { ROUTES } from './routes.ts';
import { sendError } from './middleware/errors.ts';
import { paramsOf, resolutionOf } from './middleware/route.ts';

/**
 * Serves one method of one route. `params` are the route's decoded
 * parameters. On a route oidc-provider owns, `next` hands the request on to
 * it (a handler there adjusts the request first, or answers itself).
 */
export type Handler = (ctx: Context, params: Record<string, string>, next: Next) => Promise<void> | void;

export type Handlers = { [Name in RouteName]?: Partial<Record<Method, Handler>> };

/** Puts several areas' handlers together; two areas answering the same route and method is a bug. */
export function mergeHandlers(...areas: Handlers[]): Handlers {
  const merged: Handlers = {};
  for (const area of areas) {
    for (const [name, methods] of Object.entries(area) as [RouteName, Partial<Record<Method, Handler>>][]) {
      const into = (merged[name] ??= {});
      for (const [method, handler] of Object.entries(methods) as [Method, Handler][]) {
        if (into[method]) throw new Error(`two handlers for ${method} ${name}`);
        into[method] = handler;
      }
    }
  }
  return merged;
}

/**
 * The last middleware: runs the handler of the resolved route and method;
 * routes oidc-provider owns go on to it after our handler, if any. Checked
 * at start: every method of every route we own has a handler.
 */
export function dispatch(handlers: Handlers, provider: Middleware[]): Middleware {
  for (const route of ROUTES as readonly Route[]) {
    if (route.owner !== 'gatehouse') continue;
    for (const method of route.methods) {
      if (!handlers[route.name]?.[method]) throw new Error(`no handler for ${method} ${route.pattern}`);
    }
  }
  const toProvider = compose(provider);
  return async (ctx) => {
    const resolution = resolutionOf(ctx);
    if (resolution.kind !== 'route') return;
    const { route } = resolution;
    const method = (ctx.method === 'HEAD' ? 'GET' : ctx.method) as Method;
    const handler = handlers[route.name]?.[method];
    // Nothing after the provider: a route it owns that it did not answer is 404 in the route's shape.
    const unanswered = async () => {
      if (ctx.body === undefined || ctx.body === null) sendError(ctx, 404, 'nothing is served at this address', 'not_found');
    };
    const onward: Next = route.owner === 'provider' ? () => toProvider(ctx, unanswered) : unanswered;
    if (!handler) return onward();
    await handler(ctx, paramsOf(ctx), onward);
  };
}
