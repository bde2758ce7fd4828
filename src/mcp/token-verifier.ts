import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWK } from 'jose';
import { TOPICS, type Notifications } from '../data/notifications.ts';
import type { Store } from '../data/engines/store.ts';
import { LruCache } from '../util/lru-cache.ts';
import { findActivePat, looksLikePat, patIsActive, touchPat } from '../data/personal-tokens.ts';
import type { Principal } from './principal.ts';

export type Verification =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'missing' | 'malformed' | 'invalid' | 'expired' | 'revoked'; description: string };

export interface TokenVerifierOptions {
  store: Store;
  issuer: string;
  resource: string;
  /** How long "this grant / token is still live" is believed (ms). Bounds how late revocation can land. */
  livenessCacheMs: number;
  grantIsLive: (grantId: string) => Promise<boolean>;
  loadVerificationKeys: () => Promise<JWK[]>;
  /** Carries revocations made here to other instances, and theirs here, ahead of `livenessCacheMs`. */
  notifications?: Notifications;
}

/** The only signature algorithm our access tokens use; anything else is refused. */
const ACCESS_TOKEN_ALGORITHMS = ['ES256'];

/**
 * Verifies bearer credentials for /mcp: RFC 9068 JWT access tokens from our
 * authorization server, and personal access tokens. A JWT must carry our
 * signature, issuer, the MCP resource as audience, `typ: at+jwt`, and a grant
 * that still exists, so revoking a grant reaches tokens already handed out
 * within `livenessCacheMs`.
 */
export class TokenVerifier {
  private jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  private keysLoadedAt = 0;
  private readonly verified = new LruCache<string, Principal>(20_000);
  private readonly liveness = new LruCache<string, { live: boolean; at: number }>(50_000);
  private readonly lastTouched = new LruCache<string, number>(10_000);

  constructor(private readonly options: TokenVerifierOptions) {
    const notifications = options.notifications;
    notifications?.on(TOPICS.accessRevoked, (revoked) => this.forgetHere(revoked));
    notifications?.on(TOPICS.keysChanged, () => this.forgetKeys());
    // Revocations may have been missed: believe nothing cached.
    notifications?.onGap(() => {
      this.liveness.clear();
      this.forgetKeys();
    });
  }

  async verifyAuthorizationHeader(header: string | undefined): Promise<Verification> {
    if (!header) return { ok: false, reason: 'missing', description: 'an access token is required' };
    const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
    if (!match) return { ok: false, reason: 'malformed', description: 'use the Authorization: Bearer <token> scheme' };
    const token = match[1]!;
    return looksLikePat(token) ? this.verifyPat(token) : this.verifyJwt(token);
  }

  /** Is a principal bound earlier (to a session) still good: unexpired, its grant or token not revoked? */
  async stillValid(principal: Principal): Promise<Verification> {
    if (principal.expiresAt <= Date.now()) return { ok: false, reason: 'expired', description: 'the access token this session was opened with has expired' };
    const live = principal.kind === 'oauth' ? await this.grantLive(principal.grantId) : await this.patLive(principal.patId);
    return live ? { ok: true, principal } : { ok: false, reason: 'revoked', description: 'access was revoked' };
  }

  /** Forget cached liveness after a revocation made in this process, here and on every other instance. */
  async forget(principal: Pick<Principal, 'grantId' | 'patId'>): Promise<void> {
    this.forgetHere(principal);
    await this.options.notifications?.publish(TOPICS.accessRevoked, {
      ...(principal.grantId ? { grantId: principal.grantId } : {}),
      ...(principal.patId ? { patId: principal.patId } : {}),
    });
  }

  private forgetHere(principal: Pick<Principal, 'grantId' | 'patId'>): void {
    if (principal.grantId) this.liveness.delete(`grant:${principal.grantId}`);
    if (principal.patId) this.liveness.delete(`pat:${principal.patId}`);
  }

  /** Keys were rotated or pruned: load them again, and verify every token afresh. */
  private forgetKeys(): void {
    this.jwks = undefined;
    this.verified.clear();
  }

  private async verifyJwt(token: string): Promise<Verification> {
    let principal = this.verified.get(token);
    if (!principal) {
      const claims = await this.checkSignature(token);
      if (!claims.ok) return claims;
      principal = claims.principal;
      this.verified.set(token, principal);
    }
    return this.stillValid(principal);
  }

  private async checkSignature(token: string): Promise<Verification> {
    try {
      const { payload } = await jwtVerify(token, await this.keySet(), {
        issuer: this.options.issuer,
        audience: this.options.resource,
        typ: 'at+jwt',
        algorithms: ACCESS_TOKEN_ALGORITHMS,
        requiredClaims: ['exp', 'sub', 'client_id', 'gid'],
        clockTolerance: 5,
      });
      return {
        ok: true,
        principal: {
          kind: 'oauth',
          userId: String(payload.sub),
          clientId: String(payload.client_id),
          scopes: String(payload.scope ?? '').split(' ').filter(Boolean),
          expiresAt: Number(payload.exp) * 1000,
          grantId: String(payload.gid),
        },
      };
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey && Date.now() - this.keysLoadedAt > 1000) {
        // A key rotated in by another instance: reload once, then retry.
        this.jwks = undefined;
        return this.checkSignature(token);
      }
      if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired', description: 'the access token has expired' };
      return { ok: false, reason: 'invalid', description: 'the access token is not valid for this resource' };
    }
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
    const known = this.verified.get(token);
    if (known) {
      this.touch(known.patId!);
      return this.stillValid(known);
    }
    const pat = await findActivePat(this.options.store, token);
    if (!pat) return { ok: false, reason: 'invalid', description: 'the personal access token is unknown, expired or revoked' };
    const principal: Principal = {
      kind: 'pat',
      userId: pat.userId,
      clientId: `pat:${pat.id}`,
      scopes: pat.scopes,
      expiresAt: pat.expiresAt ?? Number.MAX_SAFE_INTEGER,
      patId: pat.id,
    };
    this.verified.set(token, principal);
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
    return grantId ? this.cachedLiveness(`grant:${grantId}`, () => this.options.grantIsLive(grantId)) : Promise.resolve(false);
  }

  private patLive(patId: string | undefined): Promise<boolean> {
    return patId ? this.cachedLiveness(`pat:${patId}`, () => patIsActive(this.options.store, patId)) : Promise.resolve(false);
  }

  private async cachedLiveness(key: string, check: () => Promise<boolean>): Promise<boolean> {
    const cached = this.liveness.peek(key);
    if (cached && Date.now() - cached.at < this.options.livenessCacheMs) return cached.live;
    const live = await check();
    this.liveness.set(key, { live, at: Date.now() });
    return live;
  }
}
