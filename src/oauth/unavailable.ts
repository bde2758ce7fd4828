import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { StoreUnavailable } from '../data/engines/store.ts';
import { sendUnavailable } from '../web/middleware/errors.ts';

const UNAVAILABLE = new WeakSet<object>();

/**
 * oidc-provider answers every error it does not know as 500 `server_error`
 * itself. When the cause was a database that did not answer, this turns the
 * answer into 503 with Retry-After, in the route's shape, like every other
 * route's: the request changed nothing and may be retried.
 */
export function answerUnavailableLikeEveryRoute(provider: Provider): Middleware {
  provider.on('server_error', (ctx, error) => {
    if (error instanceof StoreUnavailable || (error as { cause?: unknown })?.cause instanceof StoreUnavailable) UNAVAILABLE.add(ctx);
  });
  return async (ctx, next) => {
    await next();
    if (UNAVAILABLE.has(ctx)) sendUnavailable(ctx);
  };
}
