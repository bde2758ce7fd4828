import type { Middleware } from 'koa';
import { allowedMethods } from '../route-match.ts';
import { sendMessage } from '../views.ts';
import { sendError, shapeOf } from './errors.ts';
import { resolutionOf } from './route.ts';

/**
 * A path that is no route's spelling is 404, and a route asked with a method
 * it does not serve is 405 with `Allow`, both in the caller's shape, before
 * any handler (or oidc-provider, which would accept more spellings) sees it.
 * A CORS preflight goes on to the CORS middleware.
 */
export function answerUnmatched(): Middleware {
  return async (ctx, next) => {
    const resolution = resolutionOf(ctx);
    if (resolution.kind === 'route' || (resolution.kind === 'method' && resolution.preflight)) return next();
    if (resolution.kind === 'method') {
      ctx.set('Allow', allowedMethods(resolution.route));
      return sendError(ctx, 405, `${ctx.method} is not allowed here`, 'invalid_request');
    }
    if (shapeOf(ctx) === 'html') return sendMessage(ctx, 404, 'Page not found', 'There is nothing at this address.');
    ctx.status = 404;
    ctx.body = { error: 'not_found', error_description: 'nothing is served at this address' };
  };
}
