import type { Context, Middleware } from 'koa';
import type { Logger } from '../../ops/logging.ts';
import { BodyError } from '../body.ts';
import { sendMessage } from '../views.ts';

type Shape = 'jsonrpc' | 'oauth' | 'html';

function shapeFor(path: string): Shape {
  if (path === '/mcp' || path === '/mcp/' || path === '/sse' || path === '/messages') return 'jsonrpc';
  if (path.startsWith('/admin') || path.startsWith('/interaction/') || path.startsWith('/setup/') || path === '/login' || path === '/logout' || path.startsWith('/account')) {
    return 'html';
  }
  return 'oauth';
}

/** Answers in the caller's protocol: JSON-RPC on /mcp, OAuth JSON on machine endpoints, a page for people. */
export function sendError(ctx: Context, status: number, message: string, oauthError = 'invalid_request'): void {
  const shape = shapeFor(ctx.path);
  ctx.status = status;
  if (shape === 'jsonrpc') {
    const code = status === 413 || status === 415 || status === 400 ? -32600 : -32603;
    ctx.body = { jsonrpc: '2.0', error: { code, message }, id: null };
  } else if (shape === 'oauth') {
    ctx.body = { error: oauthError, error_description: message };
  } else {
    sendMessage(ctx, status, status >= 500 ? 'Something went wrong' : 'That did not work', message);
  }
}

/**
 * The outermost middleware: whatever escapes a handler becomes a clear error
 * in the right shape. Unexpected failures are logged with their stack and
 * answered 500 without details; nothing ever crashes the process.
 */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof BodyError) return sendError(ctx, error.status, error.message);
      const status = (error as { status?: number; expose?: boolean }).status;
      if (status && status >= 400 && status < 500 && (error as { expose?: boolean }).expose) {
        return sendError(ctx, status, (error as Error).message);
      }
      logger.error({ err: error, path: ctx.path }, 'unhandled error');
      if (ctx.headerSent || !ctx.writable) return;
      sendError(ctx, 500, 'internal error', 'server_error');
    }
  };
}

/** Anything no route answered: 404 in the caller's shape (never a 5xx). */
export function notFound(): Middleware {
  return async (ctx) => {
    if (ctx.body !== undefined && ctx.body !== null) return;
    if (shapeFor(ctx.path) === 'html' || (ctx.accepts('html', 'json') === 'html' && !ctx.path.startsWith('/.well-known/'))) {
      return sendMessage(ctx, 404, 'Page not found', 'There is nothing at this address.');
    }
    ctx.status = 404;
    ctx.body = { error: 'not_found', error_description: `nothing is served at ${ctx.path}` };
  };
}
