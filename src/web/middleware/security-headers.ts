import type { Middleware } from 'koa';

/**
 * The policy for every response: no script runs on our pages (so an injected
 * `<img onerror>` stays inert even if escaping ever failed), nothing frames
 * them, and no referrer leaks an authorization URL. Set before the handler
 * runs, so oidc-provider's auto-submitting form_post page can add the hash of
 * its one inline script to it.
 */
export const PAGE_CSP = ["default-src 'none'", "style-src 'self'", "img-src 'self' data:", "base-uri 'none'", "frame-ancestors 'none'"].join(
  '; ',
);

export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    await next();
  };
}
