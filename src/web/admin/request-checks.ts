import type { Context } from 'koa';

/**
 * Did this state-changing request come from one of our own pages? Refused
 * when the browser says otherwise: `Sec-Fetch-Site` other than same-origin, or
 * an `Origin` that names another origin. Our pages send no referrer, and with
 * that policy browsers send `Origin: null` even for same-origin form posts, so
 * `null` passes only when `Sec-Fetch-Site` vouches for it (a page on another
 * site can send `null` too). Requests without either header (not a browser,
 * or a very old one) still need the CSRF token.
 */
export function fromOurOrigin(ctx: Context, issuer: string): boolean {
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin') return false;
  const origin = ctx.get('origin');
  if (!origin) return true;
  // Koa 3's ctx.origin is the Origin header itself; our own origin is built from the request.
  if (origin === issuer || origin === `${ctx.protocol}://${ctx.host}`) return true;
  return origin === 'null' && site === 'same-origin';
}

const PLACEHOLDER_ORIGIN = 'http://gatehouse.invalid';

/**
 * `next` when it is a path on this server, else undefined. The path is judged
 * after normalisation, as the browser will follow it: `/..//host`, `/.//host`
 * and `/%2e%2e//host` all become `//host`, another site.
 */
export function localPath(next: unknown): string | undefined {
  if (typeof next !== 'string' || !next.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(next)) return undefined;
  const url = URL.parse(next, PLACEHOLDER_ORIGIN);
  if (!url || url.origin !== PLACEHOLDER_ORIGIN) return undefined;
  const path = `${url.pathname}${url.search}`;
  return path.startsWith('/') && !path.startsWith('//') ? path : undefined;
}
