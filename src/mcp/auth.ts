import { isJSONRPCRequest, type JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Context } from 'koa';
import { BASE_SCOPE } from '../domain/scopes.ts';
import type { Config } from '../config/config.ts';
import type { RateLimits } from '../web/middleware/rate-limits.ts';
import { hasScopes, samePrincipal, type Principal } from './principal.ts';
import { bearerChallenge } from './protected-resource.ts';
import type { TokenVerifier, Verification } from './token-verifier.ts';
import type { ToolRegistry } from './tools/registry.ts';

type Failure = Extract<Verification, { ok: false }>;

/** A session as the authorization logic sees it: who it is bound to, and how to renew that. */
export interface BoundSession {
  binding: Principal;
  rebind(principal: Principal): Promise<void>;
}

export type SessionAuthorization<S> = { ok: true; session: S; principal: Principal } | { ok: false; status: 401 | 404 };

/**
 * Authentication and authorization for the MCP endpoints, shared by /mcp and
 * the old /sse transport: bearer checks with RFC 6750 / RFC 9728 challenges,
 * scope checks before a call is dispatched, and the session-bound fallback.
 */
export class McpAuth {
  private readonly config: Config;
  private readonly verifier: TokenVerifier;
  private readonly registry: ToolRegistry;
  private readonly rateLimits: RateLimits;
  private readonly onFailure: (reason: string) => void;
  private readonly onAdmitted: (principal: Principal) => void;

  constructor(options: {
    config: Config;
    verifier: TokenVerifier;
    registry: ToolRegistry;
    rateLimits: RateLimits;
    /** Told of each refused credential, by reason (for metrics). */
    onFailure?: (reason: string) => void;
    /** Told of each admitted request's principal (for "last used"). */
    onAdmitted?: (principal: Principal) => void;
  }) {
    this.config = options.config;
    this.verifier = options.verifier;
    this.registry = options.registry;
    this.rateLimits = options.rateLimits;
    this.onFailure = options.onFailure ?? (() => {});
    this.onAdmitted = options.onAdmitted ?? (() => {});
  }

  /**
   * Counts the request against the principal's /mcp rate limit (per person
   * and client, never per IP); answers 429 with Retry-After when over it.
   */
  async admit(ctx: Context, principal: Principal): Promise<boolean> {
    const wait = await this.rateLimits.takeBatched('mcp', `${principal.userId}:${principal.clientId}`);
    if (wait === undefined) {
      this.onAdmitted(principal);
      return true;
    }
    ctx.status = 429;
    ctx.set('Retry-After', String(wait));
    ctx.body = { jsonrpc: '2.0', id: null, error: { code: -32000, message: `Rate limit exceeded; retry after ${wait} seconds` } };
    return false;
  }

  /** 401 with `WWW-Authenticate: Bearer resource_metadata=…, scope=…` (plus `error` when a token was presented). */
  challenge(ctx: Context, failure: Failure): void {
    this.onFailure(`bearer_${failure.reason}`);
    const presented = failure.reason !== 'missing';
    ctx.status = 401;
    ctx.set('WWW-Authenticate', bearerChallenge(this.config, presented ? { error: 'invalid_token', description: failure.description } : {}));
    ctx.body = { error: presented ? 'invalid_token' : 'unauthorized', error_description: failure.description };
  }

  /** 403 naming exactly the scopes to ask for, so the client can step up. */
  insufficientScope(ctx: Context, needed: string[]): void {
    const scope = needed.join(' ');
    ctx.status = 403;
    ctx.set('WWW-Authenticate', bearerChallenge(this.config, { error: 'insufficient_scope', scope, description: `this call needs: ${scope}` }));
    ctx.body = { error: 'insufficient_scope', error_description: `this call needs the scopes: ${scope}`, scope };
  }

  /** The scopes the calls in these messages need beyond what the principal holds, if any. */
  missingScopes(principal: Principal, messages: readonly JSONRPCMessage[]): string[] | undefined {
    if (!principal.scopes.includes(BASE_SCOPE)) return [BASE_SCOPE];
    for (const message of messages) {
      if (!isJSONRPCRequest(message) || message.method !== 'tools/call') continue;
      const name = (message.params as { name?: unknown } | undefined)?.name;
      const needed = typeof name === 'string' ? this.registry.requiredScopes(name) : undefined;
      if (needed && !hasScopes(principal, needed)) return needed;
    }
    return undefined;
  }

  /** The principal of this request's bearer, or undefined after answering 401. */
  async bearer(ctx: Context): Promise<Principal | undefined> {
    const verification = await this.verifier.verifyAuthorizationHeader(ctx.get('authorization') || undefined);
    if (verification.ok) return verification.principal;
    this.challenge(ctx, verification);
    return undefined;
  }

  /**
   * Who a request on an existing session acts for. A bearer, when sent, is
   * checked first (so a bad token never learns whether the session exists)
   * and must belong to the principal the session is bound to; a bearer for
   * anyone else gets the same 404 as a session that does not exist. A fresh
   * bearer renews the binding. Without a bearer, the binding stands in while
   * its token has not expired and its grant or personal token is not revoked
   * (unless SESSION_AUTH_FALLBACK=off).
   */
  async onSession<S extends BoundSession>(ctx: Context, find: () => Promise<S | undefined>): Promise<SessionAuthorization<S>> {
    let presented: Principal | undefined;
    if (ctx.get('authorization')) {
      presented = await this.bearer(ctx);
      if (!presented) return { ok: false, status: 401 };
    }
    const session = await find();
    if (!session || (presented && !samePrincipal(presented, session.binding))) return { ok: false, status: 404 };
    if (presented) {
      const { binding } = session;
      if (presented.expiresAt !== binding.expiresAt || presented.grantId !== binding.grantId || presented.scopes.join(' ') !== binding.scopes.join(' ')) {
        await session.rebind(presented);
      }
      return { ok: true, session, principal: presented };
    }
    if (!this.config.mcp.sessionAuthFallback) {
      this.challenge(ctx, { ok: false, reason: 'missing', description: 'send the access token with every request' });
      return { ok: false, status: 401 };
    }
    const still = await this.verifier.stillValid(session.binding);
    if (!still.ok) {
      this.challenge(ctx, still);
      return { ok: false, status: 401 };
    }
    return { ok: true, session, principal: still.principal };
  }
}
