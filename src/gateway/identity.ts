import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import type { Store } from '../data/engines/store.ts';
import { TOPICS, type Notifications } from '../data/notifications.ts';
import { allKeys } from '../data/signing-keys.ts';
import { describePrincipal } from '../domain/directory.ts';
import type { Principal } from '../domain/principal.ts';
import { LruCache } from '../util/lru-cache.ts';

/** The JWT type an upstream checks; never `at+jwt`, so it cannot be replayed to Gatehouse as an access token. */
export const IDENTITY_TOKEN_TYPE = 'gatehouse-identity+jwt';
/** Where a stdio upstream finds the caller in each request's `_meta`. */
export const IDENTITY_META_KEY = 'gatehouse/identity';

const LIFETIME_SECONDS = 300;

export interface Identity {
  /** The signed JWT (`Authorization: Bearer` to HTTP upstreams; `_meta` to stdio ones). */
  token: string;
  sub: string;
  email: string | null;
  client_id: string;
  scope: string;
  expiresAt: number;
}

/**
 * Tells an upstream who is calling without ever passing on the caller's
 * token: a short-lived JWT signed with Gatehouse's own signing key (published
 * at /jwks), for that upstream's audience only, carrying the person, the
 * client and the scopes. Reused until a minute before it expires.
 */
export class IdentitySigner {
  private key: Promise<{ kid: string; key: Awaited<ReturnType<typeof importJWK>> }> | undefined;
  private readonly minted = new LruCache<string, Identity>(10_000);

  constructor(private readonly options: { store: Store; issuer: string; notifications: Notifications }) {
    options.notifications.on(TOPICS.keysChanged, () => {
      this.key = undefined;
      this.minted.clear();
    });
  }

  async identityFor(principal: Principal, audience: string): Promise<Identity> {
    const cacheKey = `${audience} ${principal.userId} ${principal.clientId} ${principal.scopes.join(' ')}`;
    const cached = this.minted.get(cacheKey);
    if (cached && cached.expiresAt - Date.now() > 60_000) return cached;
    const [{ kid, key }, described] = await Promise.all([this.signingKey(), describePrincipal(this.options.store, principal)]);
    const now = Math.floor(Date.now() / 1000);
    const scope = principal.scopes.join(' ');
    const token = await new SignJWT({ email: described.person?.email ?? undefined, client_id: principal.clientId, scope })
      .setProtectedHeader({ alg: 'ES256', kid, typ: IDENTITY_TOKEN_TYPE })
      .setIssuer(this.options.issuer)
      .setSubject(principal.userId)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + LIFETIME_SECONDS)
      .setJti(randomUUID())
      .sign(key);
    const identity = { token, sub: principal.userId, email: described.person?.email ?? null, client_id: principal.clientId, scope, expiresAt: (now + LIFETIME_SECONDS) * 1000 };
    this.minted.set(cacheKey, identity);
    return identity;
  }

  private signingKey() {
    this.key ??= (async () => {
      const row = (await allKeys(this.options.store)).find((candidate) => candidate.state === 'active' && candidate.alg === 'ES256');
      if (!row) throw new Error('no active ES256 signing key');
      const jwk = JSON.parse(row.private_jwk) as JWK;
      return { kid: row.kid, key: (await importJWK(jwk, 'ES256')) as Awaited<ReturnType<typeof importJWK>> };
    })().catch((error) => {
      this.key = undefined;
      throw error;
    });
    return this.key;
  }
}
