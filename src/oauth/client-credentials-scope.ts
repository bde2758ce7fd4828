import type { Context, Next } from 'koa';
import type { Store } from '../data/engines/store.ts';
import { storedClient } from '../data/oidc-models.ts';
import { DEFAULT_SCOPES } from '../domain/scopes.ts';
import type { Handlers } from '../web/handlers.ts';
import { peekBody, replaceBody } from '../web/replayable-body.ts';

/** oidc-provider's own limit for these bodies. */
const BODY_LIMIT = 56 * 1024;

/** The client id a token request authenticates with: HTTP Basic, or `client_id` in the body. */
function clientIdOf(ctx: Context, params: URLSearchParams): string | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(ctx.get('authorization'))?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      try {
        return decodeURIComponent(decoded.slice(0, colon));
      } catch {
        return undefined;
      }
    }
  }
  return params.get('client_id') ?? undefined;
}

/**
 * A machine client asks with whatever scope it found (the SDK's client
 * credentials provider takes it from the 401 challenge, which names every
 * scope the tools use), or with none. RFC 6749 §3.3 lets the server grant
 * less than asked: the request is narrowed to the scopes an administrator
 * gave the client (or, given none, the default scopes) before oidc-provider
 * sees it. Asking only for scopes it was not given still fails with
 * `invalid_scope`. Authentication stays oidc-provider's.
 */
export function clientCredentialsScopeHandlers(store: Store): Handlers {
  async function narrow(ctx: Context, _params: Record<string, string>, next: Next): Promise<void> {
    if (!ctx.is('application/x-www-form-urlencoded')) return next();
    const body = await peekBody(ctx.req, BODY_LIMIT);
    if (!body) return next();
    const params = new URLSearchParams(body.toString('utf8'));
    if (params.get('grant_type') !== 'client_credentials' || params.getAll('scope').length > 1) return next();
    const clientId = clientIdOf(ctx, params);
    const registered = clientId ? await storedClient(store, clientId) : undefined;
    if (!registered) return next();
    const allowed = typeof registered.metadata.scope === 'string' ? registered.metadata.scope.split(' ').filter(Boolean) : [...DEFAULT_SCOPES];
    const requested = (params.get('scope') ?? '').split(' ').filter(Boolean);
    const granted = requested.length ? requested.filter((scope) => allowed.includes(scope)) : allowed;
    if (granted.length === 0) return next();
    params.set('scope', granted.join(' '));
    replaceBody(ctx.req, Buffer.from(params.toString()));
    await next();
  }
  return { 'oauth.token': { POST: narrow } };
}
