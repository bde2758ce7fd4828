import type { Queryable } from './engines/store.ts';
import { toUser, type User, type UserRow } from './users.ts';

/** The `admin_sessions` table: browsers signed in to /admin and /account, by the hash of their cookie. */

export async function insertAdminSession(db: Queryable, session: { idHash: string; userId: string; now: number; expiresAt: number }): Promise<void> {
  await db.run('INSERT INTO admin_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', [
    session.idHash,
    session.userId,
    session.now,
    session.expiresAt,
  ]);
}

/** The enabled person behind a live session, with the notice left for them (read once). */
export async function findAdminSession(db: Queryable, idHash: string, now: number): Promise<{ user: User; flash: string | null } | undefined> {
  const row = await db.get<UserRow & { flash: string | null }>(
    `SELECT u.*, s.flash FROM admin_sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL`,
    [idHash, now],
  );
  return row && { user: toUser(row), flash: row.flash };
}

export async function setFlash(db: Queryable, idHash: string, message: string | null): Promise<void> {
  await db.run('UPDATE admin_sessions SET flash = ? WHERE id_hash = ?', [message, idHash]);
}

export async function deleteAdminSession(db: Queryable, idHash: string): Promise<void> {
  await db.run('DELETE FROM admin_sessions WHERE id_hash = ?', [idHash]);
}

export async function deleteAdminSessionsOf(db: Queryable, userId: string): Promise<void> {
  await db.run('DELETE FROM admin_sessions WHERE user_id = ?', [userId]);
}

export async function deleteExpiredAdminSessions(db: Queryable, now: number): Promise<number> {
  const { changes } = await db.run('DELETE FROM admin_sessions WHERE expires_at <= ?', [now]);
  return changes;
}
