import type { Context } from 'koa';
import type { RegistrationPolicy, RegistrationPolicySettings } from '../domain/registration-policy.ts';
import { DEFAULT_SCOPES, RESOURCE_SCOPE_NAMES } from '../domain/scopes.ts';
import type { Handlers } from '../web/handlers.ts';

const POLICY = Symbol('gatehouse.registrationPolicy');

/** The registration policy read for this request before oidc-provider validates the client (see `registrationPolicyOf`). */
export function registrationPolicyOf(ctx: unknown): RegistrationPolicySettings | undefined {
  return ((ctx as { state?: Record<symbol, RegistrationPolicySettings> } | undefined)?.state ?? {})[POLICY];
}

/**
 * What Gatehouse does on oidc-provider's routes before it sees the request,
 * where real clients differ from what it expects.
 *
 * - `/authorize` asking for none of our resource scopes (`claudeai`,
 *   `read write`, `openid email profile`, or nothing) gets the default scopes
 *   added, so the person is asked for something useful instead of the client
 *   receiving `invalid_scope` or a token that can do nothing. (POST to
 *   /authorize is off in oidc-provider, so the query is the whole request.)
 * - Registration and RFC 7592 updates read the current policy first (a change
 *   made on any instance applies within a second), and oidc-provider's client
 *   validation applies it from there; closed registration is refused.
 */
export function oauthEdgeHandlers(policy: RegistrationPolicy): Handlers {
  async function withPolicy(ctx: Context, _params: unknown, next: () => Promise<unknown>) {
    (ctx.state as Record<symbol, RegistrationPolicySettings>)[POLICY] = await policy.settings();
    await next();
  }
  return {
    'oauth.authorize': {
      GET: async (ctx, _params, next) => {
        const { scope } = ctx.query;
        if (scope === undefined || typeof scope === 'string') {
          const requested = (scope ?? '').split(' ').filter(Boolean);
          if (!requested.some((name) => (RESOURCE_SCOPE_NAMES as string[]).includes(name))) {
            ctx.query = { ...ctx.query, scope: [...requested, ...DEFAULT_SCOPES].join(' ') };
          }
        }
        await next();
      },
    },
    'oauth.register': {
      POST: async (ctx, _params, next) => {
        const settings = await policy.settings();
        if (!settings.dcr) {
          ctx.status = 403;
          ctx.body = {
            error: 'access_denied',
            error_description: 'Open client registration is turned off on this server. Ask an administrator to register your client.',
          };
          return;
        }
        (ctx.state as Record<symbol, RegistrationPolicySettings>)[POLICY] = settings;
        await next();
      },
    },
    'oauth.client': { GET: withPolicy, PUT: withPolicy, DELETE: withPolicy },
  };
}
