import { randomBytes } from 'node:crypto';
import type { Revocation } from '../../domain/access.ts';
import { AccountError, createUser, findUserById, setPassword, toUser, type User } from '../../domain/accounts.ts';
import type { Store } from '../../data/engines/store.ts';
import type { AdminSessions } from './admin-session.ts';
import { containsPattern } from '../../data/paging.ts';

/** A password people can type and nobody guesses; shown once. */
export const generatePassword = () => randomBytes(15).toString('base64url');

/** What an administrator does to accounts. Refusals are AccountErrors worded for the page. */
export class UserAdmin {
  constructor(
    private readonly store: Store,
    private readonly revocation: Revocation,
    private readonly adminSessions: AdminSessions,
  ) {}

  async list(search: string, limit = 500): Promise<User[]> {
    const rows = search
      ? await this.store.all<Parameters<typeof toUser>[0]>(
          "SELECT * FROM users WHERE LOWER(email) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE ? ESCAPE '\\' ORDER BY email LIMIT ?",
          [containsPattern(search), containsPattern(search), limit],
        )
      : await this.store.all<Parameters<typeof toUser>[0]>('SELECT * FROM users ORDER BY email LIMIT ?', [limit]);
    return rows.map(toUser);
  }

  async create(input: { email: string; name?: string; isAdmin: boolean; password?: string }): Promise<{ user: User; generated?: string }> {
    const generated = input.password ? undefined : generatePassword();
    const user = await createUser(this.store, { email: input.email, ...(input.name ? { name: input.name } : {}), isAdmin: input.isAdmin, password: input.password || generated! });
    return generated ? { user, generated } : { user };
  }

  /** Disabling takes everything away at once: grants, tokens, sessions, sign-ins. */
  async disable(actor: User, userId: string): Promise<User> {
    const user = await this.existing(userId);
    if (user.id === actor.id) throw new AccountError('You cannot disable your own account.');
    await this.store.run('UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ? AND disabled_at IS NULL', [Date.now(), Date.now(), userId]);
    await this.revocation.revokeUser(userId);
    await this.adminSessions.endAllFor(userId);
    return user;
  }

  async enable(userId: string): Promise<User> {
    const user = await this.existing(userId);
    await this.store.run('UPDATE users SET disabled_at = NULL, updated_at = ? WHERE id = ?', [Date.now(), userId]);
    return user;
  }

  async setAdmin(actor: User, userId: string, isAdmin: boolean): Promise<User> {
    const user = await this.existing(userId);
    if (user.id === actor.id && !isAdmin) throw new AccountError('You cannot remove your own administrator role; ask another administrator.');
    await this.store.run('UPDATE users SET is_admin = ?, updated_at = ? WHERE id = ?', [isAdmin ? 1 : 0, Date.now(), userId]);
    return user;
  }

  /** A new generated password; the person's browser sign-ins end so the old password's sessions stop. */
  async resetPassword(userId: string): Promise<{ user: User; password: string }> {
    const user = await this.existing(userId);
    const password = generatePassword();
    await setPassword(this.store, userId, password);
    await this.adminSessions.endAllFor(userId);
    await this.store.run("DELETE FROM oidc_models WHERE model = 'Session' AND account_id = ?", [userId]);
    return { user, password };
  }

  private async existing(userId: string): Promise<User> {
    const user = await findUserById(this.store, userId);
    if (!user) throw new AccountError('There is no such user.');
    return user;
  }
}
