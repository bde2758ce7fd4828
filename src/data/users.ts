import type { Queryable } from './engines/store.ts';
import { containsPattern } from './paging.ts';

/** The `users` table: the people who can sign in. */

export interface User {
  id: string;
  email: string;
  name: string | null;
  isAdmin: boolean;
  disabledAt: number | null;
  createdAt: number;
  lastLoginAt: number | null;
  /** Whether a Gatehouse password was set (people from an identity provider have none). */
  hasPassword: boolean;
}

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  password_hash: string | null;
  is_admin: number;
  disabled_at: number | null;
  created_at: number;
  last_login_at: number | null;
}

const timestamp = (value: number | null) => (value === null ? null : Number(value));

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    isAdmin: Number(row.is_admin) === 1,
    disabledAt: timestamp(row.disabled_at),
    createdAt: Number(row.created_at),
    lastLoginAt: timestamp(row.last_login_at),
    hasPassword: row.password_hash !== null,
  };
}

export async function insertUser(
  db: Queryable,
  user: { id: string; email: string; name: string | null; passwordHash: string | null; isAdmin: boolean; now: number },
): Promise<void> {
  await db.run('INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    user.id,
    user.email,
    user.name,
    user.passwordHash,
    user.isAdmin ? 1 : 0,
    user.now,
    user.now,
  ]);
}

export async function findUserById(db: Queryable, id: string): Promise<User | undefined> {
  const row = await db.get<UserRow>('SELECT * FROM users WHERE id = ?', [id]);
  return row && toUser(row);
}

/** `email` as stored: trimmed and lower-cased by the caller. */
export async function findUserRowByEmail(db: Queryable, email: string): Promise<UserRow | undefined> {
  return db.get<UserRow>('SELECT * FROM users WHERE email = ?', [email]);
}

export async function countUsers(db: Queryable): Promise<number> {
  const row = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM users');
  return Number(row?.n ?? 0);
}

export async function setPasswordHash(db: Queryable, id: string, passwordHash: string): Promise<void> {
  await db.run('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?', [passwordHash, Date.now(), id]);
}

/** Marks the person disabled (now) or enabled (null); true when the state changed. */
export async function setDisabled(db: Queryable, id: string, disabledAt: number | null): Promise<boolean> {
  const { changes } =
    disabledAt === null
      ? await db.run('UPDATE users SET disabled_at = NULL, updated_at = ? WHERE id = ? AND disabled_at IS NOT NULL', [Date.now(), id])
      : await db.run('UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ? AND disabled_at IS NULL', [disabledAt, Date.now(), id]);
  return changes === 1;
}

export async function setAdmin(db: Queryable, id: string, isAdmin: boolean): Promise<void> {
  await db.run('UPDATE users SET is_admin = ?, updated_at = ? WHERE id = ?', [isAdmin ? 1 : 0, Date.now(), id]);
}

export async function setName(db: Queryable, id: string, name: string | null): Promise<void> {
  await db.run('UPDATE users SET name = ?, updated_at = ? WHERE id = ?', [name, Date.now(), id]);
}

export async function recordSignIn(db: Queryable, id: string, at: number): Promise<void> {
  await db.run('UPDATE users SET last_login_at = ? WHERE id = ?', [at, id]);
}

/** People by email, optionally only those whose email or name contains `search`. */
export async function listUsers(db: Queryable, search: string, limit: number): Promise<User[]> {
  const rows = search
    ? await db.all<UserRow>(
        "SELECT * FROM users WHERE LOWER(email) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE ? ESCAPE '\\' ORDER BY email LIMIT ?",
        [containsPattern(search), containsPattern(search), limit],
      )
    : await db.all<UserRow>('SELECT * FROM users ORDER BY email LIMIT ?', [limit]);
  return rows.map(toUser);
}

/** Emails of people who may sign in, for "create a token for" suggestions. */
export async function enabledEmails(db: Queryable, limit: number): Promise<string[]> {
  const rows = await db.all<{ email: string }>('SELECT email FROM users WHERE disabled_at IS NULL ORDER BY email LIMIT ?', [limit]);
  return rows.map((row) => row.email);
}

/** Emails of these people, for labelling lists. */
export async function emailsOf(db: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.all<{ id: string; email: string }>(`SELECT id, email FROM users WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
  return new Map(rows.map((row) => [row.id, row.email]));
}
