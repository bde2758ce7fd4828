import type { Context, Middleware } from 'koa';
import { StoreRefused, StoreUnavailable } from '../../data/engines/store.ts';
import type { Logger } from '../../ops/logging.ts';
import { BodyError } from '../body.ts';
import type { ErrorShape } from '../routes.ts';
import { sendMessage } from '../views.ts';
import { routeOf } from './route.ts';

/** How long clients are asked to wait when the database does not answer: a restart takes about that long. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** The error shape of this request's route; for unknown paths, a page for browsers and JSON for programs. */
export function shapeOf(ctx: Context): ErrorShape {
  const route = routeOf(ctx);
  if (route) return route.shape;
  return ctx.accepts('html', 'json') === 'html' && !ctx.path.startsWith('/.well-known/') ? 'html' : 'json';
}

const JSONRPC_CODES: Record<number, number> = { 400: -32600, 413: -32600, 415: -32600 };

/** Answers in the caller's protocol: JSON-RPC on the MCP endpoints, OAuth JSON on machine endpoints, a page for people. */
export function sendError(ctx: Context, status: number, message: string, oauthError = 'invalid_request'): void {
  const shape = shapeOf(ctx);
  ctx.status = status;
  if (shape === 'jsonrpc') {
    ctx.body = { jsonrpc: '2.0', error: { code: JSONRPC_CODES[status] ?? -32000, message }, id: null };
  } else if (shape === 'html') {
    sendMessage(ctx, status, status >= 500 ? 'Something went wrong' : 'That did not work', message);
  } else {
    ctx.body = { error: oauthError, error_description: message };
  }
}

/** 503 with Retry-After in the caller's shape: the database did not answer; nothing was changed. */
export function sendUnavailable(ctx: Context): void {
  ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  ctx.set('Cache-Control', 'no-store');
  if (shapeOf(ctx) === 'html') {
    ctx.status = 503;
    return sendMessage(ctx, 503, 'Temporarily unavailable', 'The server cannot reach its database right now. Try again in a few seconds.');
  }
  sendError(ctx, 503, 'the server cannot reach its database; retry shortly', 'temporarily_unavailable');
}

/**
 * The outermost error boundary: whatever escapes a handler becomes a clear
 * error in the route's shape. A database that does not answer is 503 with
 * Retry-After; anything unexpected is logged with its stack and answered 500
 * without details. Nothing ever crashes the process.
 */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (ctx.headerSent || !ctx.writable) {
        if (!(error instanceof StoreUnavailable)) logger.error({ err: error, route: routeOf(ctx)?.pattern }, 'error after the answer began');
        return;
      }
      if (error instanceof StoreUnavailable) {
        logger.warn({ err: error.cause ?? error, route: routeOf(ctx)?.pattern }, 'the database did not answer');
        return sendUnavailable(ctx);
      }
      if (error instanceof StoreRefused) {
        logger.warn({ err: error.cause ?? error, route: routeOf(ctx)?.pattern }, 'the database refused a change');
        return sendError(ctx, 409, 'The database refused this change, so nothing was changed.', 'invalid_request');
      }
      if (error instanceof BodyError) return sendError(ctx, error.status, error.message);
      const status = (error as { status?: number }).status;
      if (status && status >= 400 && status < 500 && (error as { expose?: boolean }).expose) {
        return sendError(ctx, status, (error as Error).message);
      }
      logger.error({ err: error, route: routeOf(ctx)?.pattern }, 'unhandled error');
      sendError(ctx, 500, 'internal error', 'server_error');
    }
  };
}
