import type { Middleware } from 'koa';
import type { RegistrationPolicy } from '../domain/registration-policy.ts';
import { DEFAULT_SCOPES, RESOURCE_SCOPE_NAMES } from '../domain/scopes.ts';

/**
 * Adjustments made before oidc-provider sees a request, where real clients
 * differ from what it expects.
 *
 * - `/authorize` asking for none of our resource scopes (`claudeai`,
 *   `read write`, `openid email profile`, or nothing) gets the default scopes
 *   added, so the person is asked for something useful instead of the client
 *   receiving `invalid_scope` or a token that can do nothing. (POST to
 *   /authorize is off in oidc-provider, so the query is the whole request.)
 * - Registration reads the current policy first, so a change an administrator
 *   made on any instance applies here within a second (the policy cache); closed registration is refused.
 */
export function authorizationRequestEdge(policy: RegistrationPolicy): Middleware {
  return async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/authorize') {
      const { scope } = ctx.query;
      if (scope === undefined || typeof scope === 'string') {
        const requested = (scope ?? '').split(' ').filter(Boolean);
        if (!requested.some((name) => (RESOURCE_SCOPE_NAMES as string[]).includes(name))) {
          ctx.query = { ...ctx.query, scope: [...requested, ...DEFAULT_SCOPES].join(' ') };
        }
      }
    } else if (ctx.path === '/register' || ctx.path.startsWith('/register/')) {
      const settings = await policy.settings();
      if (ctx.method === 'POST' && ctx.path === '/register' && !settings.dcr) {
        ctx.status = 403;
        ctx.body = {
          error: 'access_denied',
          error_description: 'Open client registration is turned off on this server. Ask an administrator to register your client.',
        };
        return;
      }
    }
    await next();
  };
}
