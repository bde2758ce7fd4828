import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Config } from '../config/config.ts';
import { hasScopes, sameCredential, samePrincipal, type Principal } from '../domain/principal.ts';
import type { TokenVerifier, Verification } from '../domain/token-verifier.ts';
import { isRequest } from './message-kinds.ts';
import { bearerChallenge, type ResourceIdentity } from './protected-resource.ts';

type Failure = Extract<Verification, { ok: false }>;

/**
 * An HTTP answer the MCP endpoints give instead of serving the request: the
 * status, its headers (the RFC 6750 / RFC 9728 challenge, Retry-After) and a
 * body. Each transport writes it as it is.
 */
export interface Refusal {
  status: 400 | 401 | 403 | 404 | 429;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export type Decision<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

/** A session as the authorization decision sees it: whom it is bound to, and how to renew that. */
export interface BoundSession {
  binding: Principal;
  rebind(principal: Principal): Promise<void>;
}

export interface McpAuthOptions {
  config: Pick<Config, 'issuer'> & { mcp: Pick<Config['mcp'], 'sessionAuthFallback'> };
  verifier: TokenVerifier;
  /** The resource these decisions are for (its tokens' audience, its challenge's metadata URL); `/mcp` by default. */
  resource?: ResourceIdentity;
  /** What every request needs. */
  baseScopes: readonly string[];
  /** The scopes a call to this tool needs, or undefined for a tool this server does not have. */
  requiredScopes(tool: string): readonly string[] | undefined;
  /** The scope that names everything a client needs here: the challenge asks for it, so one consent is enough. */
  challengeScope: string;
  /** Counts the request against the principal's limit; seconds to wait when over it. */
  admitOrWait(principal: Principal): Promise<number | undefined>;
  /** Told of each refused credential, by reason (for metrics). */
  onFailure?: (reason: string) => void;
  /** Told of each admitted request's principal (for "last used"). */
  onAdmitted?: (principal: Principal) => void;
}

const SESSION_NOT_FOUND: Refusal = {
  status: 404,
  headers: {},
  body: { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } },
};

/**
 * The authorization decision for every MCP endpoint (/mcp and the old
 * /sse + /messages), free of HTTP frameworks: headers and messages in, a
 * principal or a refusal out. Bearers are checked before any body is read; a
 * session's binding stands in for an absent bearer (the session-bound
 * fallback); scopes are checked before a call is dispatched; the per-principal
 * rate limit last.
 */
export class McpAuth {
  private readonly onFailure: (reason: string) => void;
  private readonly onAdmitted: (principal: Principal) => void;

  constructor(private readonly options: McpAuthOptions) {
    this.onFailure = options.onFailure ?? (() => {});
    this.onAdmitted = options.onAdmitted ?? (() => {});
  }

  /** The principal of an Authorization header, or the 401 challenge (with `error` when a token was presented). */
  async bearer(authorization: string | undefined): Promise<Decision<Principal>> {
    const verification = await this.options.verifier.verifyAuthorizationHeader(authorization, this.options.resource?.url);
    return verification.ok ? { ok: true, value: verification.principal } : { ok: false, refusal: this.challenge(verification) };
  }

  /** 401 for a request that presented no credential at all. */
  unauthenticated(description = 'an access token is required'): Refusal {
    return this.challenge({ ok: false, reason: 'missing', description });
  }

  /**
   * Who a request on an existing session acts for. A bearer (already checked
   * with `bearer`) must belong to the principal the session is bound to; a
   * bearer for anyone else gets the same 404 as a session that does not
   * exist, so it learns nothing. A fresh bearer renews the binding. Without a
   * bearer, the binding stands in while its credential has not expired and
   * has not been revoked (unless SESSION_AUTH_FALLBACK=off).
   */
  async onSession<S extends BoundSession>(session: S | undefined, presented: Principal | undefined): Promise<Decision<{ session: S; principal: Principal }>> {
    if (!session || (presented && !samePrincipal(presented, session.binding))) return { ok: false, refusal: SESSION_NOT_FOUND };
    if (presented) {
      if (!sameCredential(presented, session.binding)) await session.rebind(presented);
      return { ok: true, value: { session, principal: presented } };
    }
    if (!this.options.config.mcp.sessionAuthFallback) return { ok: false, refusal: this.unauthenticated('send the access token with every request') };
    const still = await this.options.verifier.stillValid(session.binding);
    if (!still.ok) return { ok: false, refusal: this.challenge(still) };
    return { ok: true, value: { session, principal: still.principal } };
  }

  /** 403 naming exactly the scopes to ask for when these messages call for more than the principal holds. */
  scopeRefusal(principal: Principal, messages: readonly JSONRPCMessage[]): Refusal | undefined {
    const needed = this.missingScopes(principal, messages);
    if (!needed) return undefined;
    const scope = needed.join(' ');
    return {
      status: 403,
      headers: { 'WWW-Authenticate': bearerChallenge(this.options.config, { error: 'insufficient_scope', scope, description: `this call needs: ${scope}` }, this.options.resource?.path) },
      body: { error: 'insufficient_scope', error_description: `this call needs the scopes: ${scope}`, scope },
    };
  }

  /** 429 with Retry-After when the principal is over its rate limit (per person and client, never per IP). */
  async admission(principal: Principal): Promise<Refusal | undefined> {
    const wait = await this.options.admitOrWait(principal);
    if (wait === undefined) {
      this.onAdmitted(principal);
      return undefined;
    }
    return {
      status: 429,
      headers: { 'Retry-After': String(wait) },
      body: { jsonrpc: '2.0', id: null, error: { code: -32000, message: `Rate limit exceeded; retry after ${wait} seconds` } },
    };
  }

  /** Both checks a principal's request passes before dispatch: scopes for its messages, then the rate limit. */
  async admit(principal: Principal, messages: readonly JSONRPCMessage[]): Promise<Refusal | undefined> {
    return this.scopeRefusal(principal, messages) ?? (await this.admission(principal));
  }

  private missingScopes(principal: Principal, messages: readonly JSONRPCMessage[]): string[] | undefined {
    const { baseScopes } = this.options;
    if (!hasScopes(principal, baseScopes)) return [...baseScopes];
    for (const message of messages) {
      if (!isRequest(message) || message.method !== 'tools/call') continue;
      const name = (message.params as { name?: unknown } | undefined)?.name;
      const needed = typeof name === 'string' ? this.options.requiredScopes(name) : undefined;
      if (needed && !hasScopes(principal, needed)) return [...needed];
    }
    return undefined;
  }

  private challenge(failure: Failure): Refusal {
    this.onFailure(`bearer_${failure.reason}`);
    const presented = failure.reason !== 'missing';
    const extra = presented ? { error: 'invalid_token', description: failure.description } : {};
    return {
      status: 401,
      headers: { 'WWW-Authenticate': bearerChallenge(this.options.config, { ...extra, scope: this.options.challengeScope }, this.options.resource?.path) },
      body: { error: presented ? 'invalid_token' : 'unauthorized', error_description: failure.description },
    };
  }
}
