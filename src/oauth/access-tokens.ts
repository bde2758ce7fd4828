import { randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Access } from '../domain/access.ts';
import type { TokenVerifier } from '../domain/token-verifier.ts';
import type { Handlers } from '../web/handlers.ts';
import { peekBody, replaceBody } from '../web/replayable-body.ts';

/** oidc-provider's own limit for these bodies. */
const BODY_LIMIT = 56 * 1024;

/** Three base64url parts: the shape of our access tokens (refresh tokens are opaque). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

type Inspected = Awaited<ReturnType<TokenVerifier['inspectAccessToken']>>;

/**
 * RFC 7662 introspection and RFC 7009 revocation of our JWT access tokens,
 * which oidc-provider refuses (it only knows tokens it stores). oidc-provider
 * still authenticates the client: it is handed the same request with an
 * unknown stand-in token (so it answers `active: false`, or 200 for
 * revocation), and when it authenticated a client, the answer for the real
 * token is written here: its claims to the client it was issued to (`active:
 * false` to anyone else, and for anything revoked or expired), or its
 * revocation, which reaches /mcp on every instance within GRANT_CHECK_CACHE.
 * Opaque tokens (refresh tokens) stay entirely oidc-provider's.
 */
export function accessTokenHandlers({ verifier, access }: { verifier: TokenVerifier; access: Access }): Handlers {
  async function withAccessToken(ctx: Context, next: Next, answer: (inspected: Inspected, clientId: string) => Promise<void>): Promise<void> {
    if (!ctx.is('application/x-www-form-urlencoded')) return next();
    const body = await peekBody(ctx.req, BODY_LIMIT);
    if (!body) return next();
    const params = new URLSearchParams(body.toString('utf8'));
    const token = params.get('token');
    if (!token || params.getAll('token').length !== 1 || !JWT_SHAPE.test(token)) return next();
    params.set('token', randomBytes(24).toString('base64url'));
    replaceBody(ctx.req, Buffer.from(params.toString()));
    const inspected = await verifier.inspectAccessToken(token);
    await next();
    const clientId = (ctx as unknown as { oidc?: { client?: { clientId: string } } }).oidc?.client?.clientId;
    // Without an authenticated client oidc-provider's refusal stands.
    if (ctx.status !== 200 || !clientId) return;
    await answer(inspected, clientId);
  }

  return {
    'oauth.introspect': {
      POST: (ctx, _params, next) =>
        withAccessToken(ctx, next, async (inspected, clientId) => {
          if (!inspected?.active || inspected.claims.client_id !== clientId) {
            ctx.body = { active: false };
            return;
          }
          const { claims } = inspected;
          ctx.body = {
            active: true,
            client_id: claims.client_id,
            sub: claims.sub,
            scope: claims.scope,
            exp: claims.exp,
            iat: claims.iat,
            iss: claims.iss,
            aud: claims.aud,
            jti: claims.jti,
            token_type: 'Bearer',
          };
        }),
    },
    'oauth.revoke': {
      POST: (ctx, _params, next) =>
        withAccessToken(ctx, next, async (inspected, clientId) => {
          // RFC 7009 §2.2: the answer is 200 whether or not there was anything to revoke.
          if (inspected?.active && inspected.claims.client_id === clientId) {
            await access.revokeAccessToken({ jti: inspected.claims.jti, expiresAt: inspected.claims.exp * 1000 }, { actor: `client:${clientId}`, ip: ctx.ip });
          }
        }),
    },
  };
}
