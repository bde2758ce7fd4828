import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import {
  deleteAdminSession,
  deleteExpiredAdminSessions,
  findAdminSession,
  insertAdminSession,
  setFlash,
} from '../../data/admin-sessions.ts';
import type { Store } from '../../data/engines/store.ts';
import type { User } from '../../data/users.ts';

export interface SignedIn {
  /** The hash of the session id: what CSRF tokens are bound to and the Store keys on. */
  sessionHash: string;
  user: User;
  /** A one-time notice left by the previous action (shown once, then cleared). */
  flash: string | null;
}

const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');

/**
 * The browser sign-in for /admin and /account, separate from oidc-provider's
 * own session: a random id in an httpOnly, SameSite=Lax cookie (`__Host-`
 * prefixed and Secure on https), stored only as a hash, expiring. Every
 * request re-reads the user, so a disabled account or a removed admin flag
 * takes effect at once.
 */
export class AdminSessions {
  readonly cookieName: string;

  constructor(
    private readonly store: Store,
    private readonly options: { secure: boolean; ttlMs: number },
  ) {
    this.cookieName = options.secure ? '__Host-gh_admin' : 'gh_admin';
  }

  async load(ctx: Context): Promise<SignedIn | undefined> {
    const id = ctx.cookies.get(this.cookieName);
    if (!id) return undefined;
    const sessionHash = hashOf(id);
    const found = await findAdminSession(this.store, sessionHash, Date.now());
    if (!found) return undefined;
    if (found.flash !== null) await setFlash(this.store, sessionHash, null);
    return { sessionHash, user: found.user, flash: found.flash };
  }

  async start(ctx: Context, userId: string): Promise<void> {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    await insertAdminSession(this.store, { idHash: hashOf(id), userId, now, expiresAt: now + this.options.ttlMs });
    ctx.cookies.set(this.cookieName, id, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.options.secure,
      path: '/',
      maxAge: this.options.ttlMs,
      signed: false,
      overwrite: true,
    });
  }

  async end(ctx: Context, sessionHash: string): Promise<void> {
    await deleteAdminSession(this.store, sessionHash);
    ctx.cookies.set(this.cookieName, null, { path: '/', secure: this.options.secure, signed: false, overwrite: true });
  }

  async setFlash(sessionHash: string, message: string): Promise<void> {
    await setFlash(this.store, sessionHash, message);
  }

  pruneExpired(): Promise<number> {
    return deleteExpiredAdminSessions(this.store, Date.now());
  }
}
