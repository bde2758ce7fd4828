import type { Middleware } from 'koa';
import { resolutionOf } from './route.ts';

const ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Mcp-Session-Id',
  'MCP-Protocol-Version',
  'Mcp-Method',
  'Mcp-Name',
  'Last-Event-ID',
];
const EXPOSE_HEADERS = ['Mcp-Session-Id', 'WWW-Authenticate', 'MCP-Protocol-Version', 'Retry-After'];

/**
 * CORS for browser-based clients on the routes the table marks `cors`. These
 * authenticate with bearer tokens, never cookies, so any origin may call
 * them; preflights answer 204 without authentication.
 */
export function cors(): Middleware {
  return async (ctx, next) => {
    const resolution = resolutionOf(ctx);
    if (resolution.kind === 'none' || !('cors' in resolution.route && resolution.route.cors)) return next();
    const origin = ctx.get('origin');
    if (resolution.kind === 'method' && resolution.preflight) {
      ctx.status = 204;
      ctx.set('Access-Control-Allow-Origin', origin || '*');
      ctx.set('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS');
      const requested = ctx.get('access-control-request-headers');
      ctx.set('Access-Control-Allow-Headers', requested ? `${ALLOW_HEADERS.join(', ')}, ${requested}` : ALLOW_HEADERS.join(', '));
      ctx.set('Access-Control-Expose-Headers', EXPOSE_HEADERS.join(', '));
      ctx.set('Access-Control-Max-Age', '86400');
      ctx.vary('Origin');
      return;
    }
    // Set before the handler runs: /mcp writes its answers (and event streams)
    // straight to the socket, after which no header can be added.
    ctx.set('Access-Control-Allow-Origin', origin || '*');
    ctx.set('Access-Control-Expose-Headers', EXPOSE_HEADERS.join(', '));
    ctx.vary('Origin');
    await next();
  };
}
