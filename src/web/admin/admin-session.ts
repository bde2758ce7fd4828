import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { toUser, type User } from '../../domain/accounts.ts';
import type { Store } from '../../data/engines/store.ts';

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
    const row = await this.store.get<Parameters<typeof toUser>[0] & { flash: string | null }>(
      `SELECT u.*, s.flash FROM admin_sessions s JOIN users u ON u.id = s.user_id
       WHERE s.id_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL`,
      [sessionHash, Date.now()],
    );
    if (!row) return undefined;
    if (row.flash !== null) await this.store.run('UPDATE admin_sessions SET flash = NULL WHERE id_hash = ?', [sessionHash]);
    return { sessionHash, user: toUser(row), flash: row.flash };
  }

  async start(ctx: Context, userId: string): Promise<void> {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    await this.store.run('INSERT INTO admin_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', [
      hashOf(id),
      userId,
      now,
      now + this.options.ttlMs,
    ]);
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
    await this.store.run('DELETE FROM admin_sessions WHERE id_hash = ?', [sessionHash]);
    ctx.cookies.set(this.cookieName, null, { path: '/', secure: this.options.secure, signed: false, overwrite: true });
  }

  /** Signs a person out everywhere (disabled, password reset). */
  async endAllFor(userId: string): Promise<void> {
    await this.store.run('DELETE FROM admin_sessions WHERE user_id = ?', [userId]);
  }

  async setFlash(sessionHash: string, message: string): Promise<void> {
    await this.store.run('UPDATE admin_sessions SET flash = ? WHERE id_hash = ?', [message, sessionHash]);
  }

  async pruneExpired(): Promise<number> {
    const { changes } = await this.store.run('DELETE FROM admin_sessions WHERE expires_at <= ?', [Date.now()]);
    return changes;
  }
}
