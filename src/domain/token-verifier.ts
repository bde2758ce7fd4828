import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Store } from '../data/engines/store.ts';
import { TOPICS, type Notifications } from '../data/notifications.ts';
import { clientIsRegistered, grantIsLive } from '../data/oidc-models.ts';
import { findUsablePat, looksLikePat, patIsUsable, touchPat } from '../data/personal-tokens.ts';
import { clientRevokedAt } from '../data/client-revocations.ts';
import { accessTokenRevoked } from '../data/revoked-access-tokens.ts';
import { LruCache } from '../util/lru-cache.ts';
import { serviceUserId, type Principal } from './principal.ts';

export type Verification =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'missing' | 'malformed' | 'invalid' | 'expired' | 'revoked'; description: string };

export interface TokenVerifierOptions {
  store: Store;
  issuer: string;
  /** The audiences our access tokens may carry; the first is `/mcp`, where personal access tokens also work. */
  audiences: readonly string[];
  /** Other audiences of ours (the gateway's `/mcp/<name>` resources), for introspection and revocation. */
  isOurAudience?: (audience: string) => boolean;
  /** How long "this grant / token is still live" is believed (ms). Bounds how late revocation can land. */
  livenessCacheMs: number;
  loadVerificationKeys: () => Promise<JWK[]>;
  /** Revocations made in this process or on other instances, heard ahead of `livenessCacheMs`. */
  notifications: Notifications;
}

/** The only signature algorithm our access tokens use; anything else is refused. */
const ACCESS_TOKEN_ALGORITHMS = ['ES256'];

/** What a verified access token says about itself (RFC 7662 introspection answers with it). */
export interface AccessTokenClaims extends JWTPayload {
  jti: string;
  exp: number;
  sub: string;
  client_id: string;
  scope?: string;
}

/**
 * Verifies bearer credentials: RFC 9068 JWT access tokens from our
 * authorization server, and personal access tokens. A JWT must carry our
 * signature, issuer, one of our audiences, `typ: at+jwt`, a grant that still
 * exists for a person who may still sign in, and an id not revoked; a
 * personal token must be unrevoked, unexpired, and its owner enabled. What
 * is learned about liveness is believed for `livenessCacheMs`, or until a
 * revocation is heard.
 */
export class TokenVerifier {
  private jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  private keysLoadedAt = 0;
  private readonly verified = new LruCache<string, { principal: Principal }>(20_000);
  private readonly liveness = new LruCache<string, { live: boolean; at: number }>(50_000);
  private readonly lastTouched = new LruCache<string, number>(10_000);
  /** Per machine client: still registered, and when it was last revoked. */
  private readonly clientStates = new LruCache<string, { registered: boolean; revokedAt: number; at: number }>(10_000);

  constructor(private readonly options: TokenVerifierOptions) {
    const { notifications } = options;
    notifications.on(TOPICS.accessRevoked, ({ grantId, patId, tokenId, clientId }) => {
      if (clientId) this.clientStates.delete(clientId);
      if (grantId) this.liveness.delete(`grant:${grantId}`);
      if (patId) this.liveness.delete(`pat:${patId}`);
      if (tokenId) this.liveness.delete(`token:${tokenId}`);
    });
    notifications.on(TOPICS.keysChanged, () => this.forgetKeys());
    // Revocations may have been missed: believe nothing cached.
    notifications.onGap(() => {
      this.liveness.clear();
      this.clientStates.clear();
      this.forgetKeys();
    });
  }

  /**
   * The principal of an Authorization header presented at the resource
   * `audience` (by default `/mcp`). A token for another resource is refused:
   * a token for `/mcp` does not work at `/mcp/<name>`, nor the other way round.
   * Personal access tokens work only at `/mcp` (they carry no audience).
   */
  async verifyAuthorizationHeader(header: string | undefined, audience = this.options.audiences[0]!): Promise<Verification> {
    if (!header) return { ok: false, reason: 'missing', description: 'an access token is required' };
    const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
    if (!match) return { ok: false, reason: 'malformed', description: 'use the Authorization: Bearer <token> scheme' };
    const token = match[1]!;
    if (!looksLikePat(token)) return this.verifyJwt(token, audience);
    if (audience !== this.options.audiences[0]) return { ok: false, reason: 'invalid', description: 'a personal access token works only at /mcp; sign in through OAuth for this resource' };
    return this.verifyPat(token);
  }

  /** Is a principal bound earlier (to a session) still good: unexpired, and its grant, token or personal token not revoked? */
  async stillValid(principal: Principal): Promise<Verification> {
    if (principal.expiresAt <= Date.now()) return { ok: false, reason: 'expired', description: 'the access token this session was opened with has expired' };
    return (await this.isLive(principal)) ? { ok: true, principal } : { ok: false, reason: 'revoked', description: 'access was revoked' };
  }

  /** Whether access was revoked, expiry aside (a held stream ends on revocation, not on its token's expiry). */
  async isLive(principal: Principal): Promise<boolean> {
    if (principal.kind === 'pat') return this.patLive(principal.patId);
    if (principal.kind === 'service') {
      const [clientLive, tokenLive] = await Promise.all([this.serviceClientLive(principal.clientId, principal.issuedAt ?? 0), this.tokenLive(principal.tokenId)]);
      return clientLive && tokenLive;
    }
    const [grantLive, tokenLive] = await Promise.all([this.grantLive(principal.grantId), this.tokenLive(principal.tokenId)]);
    return grantLive && tokenLive;
  }

  /**
   * An access token as RFC 7662 introspection and RFC 7009 revocation see it:
   * its claims when it is ours (signature, issuer, audience, type), whether
   * or not it is still live. Undefined for anything else.
   */
  async inspectAccessToken(token: string): Promise<{ claims: AccessTokenClaims; principal: Principal; active: boolean } | undefined> {
    const checked = await this.checkSignature(token);
    if (!checked) return undefined;
    const active = !checked.expired && (await this.isLive(checked.principal));
    return { claims: checked.claims, principal: checked.principal, active };
  }

  /** Keys were rotated or pruned: load them again, and verify every token afresh. */
  private forgetKeys(): void {
    this.jwks = undefined;
    this.verified.clear();
  }

  private async verifyJwt(token: string, audience: string): Promise<Verification> {
    const cacheKey = `${audience} ${token}`;
    let principal = this.verified.get(cacheKey)?.principal;
    if (!principal) {
      const checked = await this.checkSignature(token, audience);
      if (!checked) return { ok: false, reason: 'invalid', description: 'the access token is not valid for this resource' };
      if (checked.expired) return { ok: false, reason: 'expired', description: 'the access token has expired' };
      principal = checked.principal;
      this.verified.set(cacheKey, { principal });
    }
    return this.stillValid(principal);
  }

  /**
   * Signature, issuer, audience, type and required claims. An expired token
   * whose signature holds is still described (`expired`), so it is told apart
   * from a forged one and introspection can answer for it.
   */
  private async checkSignature(token: string, audience?: string): Promise<{ claims: AccessTokenClaims; principal: Principal; expired: boolean } | undefined> {
    let payload: JWTPayload;
    let expired = false;
    try {
      ({ payload } = await jwtVerify(token, await this.keySet(), {
        issuer: this.options.issuer,
        ...(audience ? { audience } : {}),
        typ: 'at+jwt',
        algorithms: ACCESS_TOKEN_ALGORITHMS,
        requiredClaims: ['exp', 'sub', 'client_id', 'jti'],
        clockTolerance: 5,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey && Date.now() - this.keysLoadedAt > 1000) {
        // A key rotated in by another instance: reload once, then retry.
        this.jwks = undefined;
        return this.checkSignature(token, audience);
      }
      // jose checks expiry last, after the signature and every other claim.
      if (!(error instanceof joseErrors.JWTExpired)) return undefined;
      payload = error.payload;
      expired = true;
    }
    if (!audience && !this.isOurs(payload.aud)) return undefined;
    const claims = payload as AccessTokenClaims;
    if (payload.gid === undefined) {
      // Client credentials: no grant and no person; oidc-provider names the client as the subject.
      if (claims.sub !== claims.client_id) return undefined;
      return {
        claims,
        expired,
        principal: {
          kind: 'service',
          userId: serviceUserId(String(claims.client_id)),
          clientId: String(claims.client_id),
          scopes: String(claims.scope ?? '').split(' ').filter(Boolean),
          expiresAt: Number(claims.exp) * 1000,
          tokenId: String(claims.jti),
          issuedAt: Number(claims.iat ?? 0) * 1000,
        },
      };
    }
    return {
      claims,
      expired,
      principal: {
        kind: 'oauth',
        userId: String(claims.sub),
        clientId: String(claims.client_id),
        scopes: String(claims.scope ?? '').split(' ').filter(Boolean),
        expiresAt: Number(claims.exp) * 1000,
        grantId: String(payload.gid),
        tokenId: String(claims.jti),
      },
    };
  }

  /** Without a given audience (introspection, revocation): any resource of ours. */
  private isOurs(aud: JWTPayload['aud']): boolean {
    const audiences = typeof aud === 'string' ? [aud] : (aud ?? []);
    return audiences.some((candidate) => this.options.audiences.includes(candidate) || this.options.isOurAudience?.(candidate) === true);
  }

  private async keySet() {
    if (!this.jwks) {
      this.jwks = createLocalJWKSet({ keys: await this.options.loadVerificationKeys() });
      this.keysLoadedAt = Date.now();
    }
    return this.jwks;
  }

  /**
   * A personal access token is looked up by its hash once; after that, like a
   * JWT, only its liveness is re-checked (every `livenessCacheMs`), so a
   * revocation lands within that bound and a busy token costs no query per call.
   */
  private async verifyPat(token: string): Promise<Verification> {
    const known = this.verified.get(token)?.principal;
    if (known) {
      this.touch(known.patId!);
      return this.stillValid(known);
    }
    const pat = await findUsablePat(this.options.store, token);
    if (!pat) return { ok: false, reason: 'invalid', description: 'the personal access token is unknown, expired or revoked' };
    const principal: Principal = {
      kind: 'pat',
      userId: pat.userId,
      clientId: `pat:${pat.id}`,
      scopes: pat.scopes,
      expiresAt: pat.expiresAt ?? Number.MAX_SAFE_INTEGER,
      patId: pat.id,
    };
    this.verified.set(token, { principal });
    this.liveness.set(`pat:${pat.id}`, { live: true, at: Date.now() });
    this.lastTouched.set(pat.id, pat.lastUsedAt ?? 0);
    this.touch(pat.id);
    return { ok: true, principal };
  }

  /** Records a token's use at most once a minute. */
  private touch(patId: string): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(patId) ?? 0) < 60_000) return;
    this.lastTouched.set(patId, now);
    void touchPat(this.options.store, patId).catch(() => {});
  }

  private grantLive(grantId: string | undefined): Promise<boolean> {
    return grantId ? this.cachedLiveness(`grant:${grantId}`, () => grantIsLive(this.options.store, grantId)) : Promise.resolve(false);
  }

  /** A token without an id (never issued by us since ids exist) counts as live: its grant decides. */
  private tokenLive(tokenId: string | undefined): Promise<boolean> {
    return tokenId ? this.cachedLiveness(`token:${tokenId}`, async () => !(await accessTokenRevoked(this.options.store, tokenId))) : Promise.resolve(true);
  }

  /** A machine client's token lives while the client is registered and was not revoked since the token was issued. */
  private async serviceClientLive(clientId: string, issuedAt: number): Promise<boolean> {
    let state = this.clientStates.peek(clientId);
    if (!state || Date.now() - state.at >= this.options.livenessCacheMs) {
      const [registered, revokedAt] = await Promise.all([clientIsRegistered(this.options.store, clientId), clientRevokedAt(this.options.store, clientId)]);
      state = { registered, revokedAt: revokedAt ?? -1, at: Date.now() };
      this.clientStates.set(clientId, state);
    }
    return state.registered && issuedAt > state.revokedAt;
  }

  private patLive(patId: string | undefined): Promise<boolean> {
    return patId ? this.cachedLiveness(`pat:${patId}`, () => patIsUsable(this.options.store, patId)) : Promise.resolve(false);
  }

  private async cachedLiveness(key: string, check: () => Promise<boolean>): Promise<boolean> {
    const cached = this.liveness.peek(key);
    if (cached && Date.now() - cached.at < this.options.livenessCacheMs) return cached.live;
    const live = await check();
    this.liveness.set(key, { live, at: Date.now() });
    return live;
  }
}
