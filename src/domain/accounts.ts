import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Store } from '../data/engines/store.ts';

export interface User {
  id: string;
  email: string;
  name: string | null;
  isAdmin: boolean;
  disabledAt: number | null;
  createdAt: number;
  lastLoginAt: number | null;
}

interface UserRow {
  id: string;
  email: string;
  name: string | null;
  password_hash: string | null;
  is_admin: number;
  disabled_at: number | null;
  created_at: number;
  last_login_at: number | null;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    isAdmin: row.is_admin === 1,
    disabledAt: row.disabled_at,
    createdAt: row.created_at,
    lastLoginAt: row.last_login_at,
  };
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export const MIN_PASSWORD_LENGTH = 12;

export class AccountError extends Error {}

/** Throws an AccountError that can be shown to the person as it is. */
export function validateNewAccount(email: string, password: string | undefined): void {
  if (!/^[^\s@]+@[^\s@]+$/.test(normalizeEmail(email))) throw new AccountError(`not an email address: ${email}`);
  if (password !== undefined && password.length < MIN_PASSWORD_LENGTH) {
    throw new AccountError(`passwords need at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

export async function createUser(
  store: Store,
  input: { email: string; password?: string; isAdmin?: boolean; name?: string },
): Promise<User> {
  validateNewAccount(input.email, input.password);
  const email = normalizeEmail(input.email);
  if (await findUserByEmail(store, email)) throw new AccountError(`a user with email ${email} already exists`);
  const now = Date.now();
  const id = randomUUID();
  const passwordHash = input.password === undefined ? null : await hash(input.password);
  await store.run(
    'INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [id, email, input.name ?? null, passwordHash, input.isAdmin ? 1 : 0, now, now],
  );
  return (await findUserById(store, id))!;
}

export async function findUserById(store: Store, id: string): Promise<User | undefined> {
  const row = await store.get<UserRow>('SELECT * FROM users WHERE id = ?', [id]);
  return row && toUser(row);
}

export async function findUserByEmail(store: Store, email: string): Promise<User | undefined> {
  const row = await store.get<UserRow>('SELECT * FROM users WHERE email = ?', [normalizeEmail(email)]);
  return row && toUser(row);
}

export async function countUsers(store: Store): Promise<number> {
  const row = await store.get<{ n: number }>('SELECT COUNT(*) AS n FROM users');
  return Number(row?.n ?? 0);
}

export async function setPassword(store: Store, userId: string, password: string): Promise<void> {
  if (password.length < MIN_PASSWORD_LENGTH) throw new AccountError(`passwords need at least ${MIN_PASSWORD_LENGTH} characters`);
  await store.run('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?', [await hash(password), Date.now(), userId]);
}

// Verifying against this when the account does not exist keeps the timing of
// "no such user" and "wrong password" alike.
const DECOY_HASH = hash(randomBytes(16).toString('hex'));

/** Failures before the first lock, and the lock's growth. */
const FREE_ATTEMPTS = 5;
const FIRST_LOCK_MS = 30_000;
const MAX_LOCK_MS = 15 * 60_000;

export type LoginResult = { ok: true; user: User } | { ok: false; reason: 'invalid' | 'locked'; retryAfterMs?: number };

/**
 * Checks an email and password. Wrong, unknown and disabled all answer
 * `invalid`; repeated failures for one account name lock it with a doubling
 * back-off, whether or not the account exists.
 */
export async function verifyLogin(store: Store, email: string, password: string): Promise<LoginResult> {
  const throttleKey = createHash('sha256').update(normalizeEmail(email)).digest('hex');
  const now = Date.now();
  const throttle = await store.get<{ failures: number; locked_until: number | null }>(
    'SELECT failures, locked_until FROM login_throttle WHERE key = ?',
    [throttleKey],
  );
  if (throttle?.locked_until && throttle.locked_until > now) {
    return { ok: false, reason: 'locked', retryAfterMs: throttle.locked_until - now };
  }

  const row = await store.get<UserRow>('SELECT * FROM users WHERE email = ?', [normalizeEmail(email)]);
  let passwordMatches = false;
  if (row?.password_hash) passwordMatches = await verify(row.password_hash, password).catch(() => false);
  else await verify(await DECOY_HASH, password).catch(() => false);

  if (row && passwordMatches && row.disabled_at === null) {
    await store.run('DELETE FROM login_throttle WHERE key = ?', [throttleKey]);
    await store.run('UPDATE users SET last_login_at = ? WHERE id = ?', [now, row.id]);
    return { ok: true, user: toUser(row) };
  }

  // Counted in one statement, so guesses sent in parallel (to one instance or
  // several) each count, instead of all reading the same old count.
  const counted = await store.get<{ failures: number }>(
    `INSERT INTO login_throttle (key, failures, locked_until, updated_at) VALUES (?, 1, NULL, ?)
     ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, updated_at = excluded.updated_at
     RETURNING failures`,
    [throttleKey, now],
  );
  const failures = Number(counted!.failures);
  const lockMs = failures >= FREE_ATTEMPTS ? Math.min(FIRST_LOCK_MS * 2 ** (failures - FREE_ATTEMPTS), MAX_LOCK_MS) : 0;
  if (lockMs) await store.run('UPDATE login_throttle SET locked_until = ? WHERE key = ?', [now + lockMs, throttleKey]);
  return lockMs ? { ok: false, reason: 'locked', retryAfterMs: lockMs } : { ok: false, reason: 'invalid' };
}

/** A one-time link that lets the first visitor create the first administrator. */
export async function createSetupToken(store: Store, ttlMs = 24 * 3600_000): Promise<string> {
  const token = randomBytes(24).toString('base64url');
  await store.run('INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)', [sha256(token), Date.now() + ttlMs]);
  return token;
}

export async function setupTokenIsValid(store: Store, token: string): Promise<boolean> {
  const row = await store.get('SELECT 1 AS ok FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?', [
    sha256(token),
    Date.now(),
  ]);
  return row !== undefined;
}

/** Spends the token and creates the administrator, once. */
export async function completeSetup(store: Store, token: string, email: string, password: string): Promise<User> {
  validateNewAccount(email, password);
  const spent = await store.run('UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?', [
    Date.now(),
    sha256(token),
    Date.now(),
  ]);
  if (spent.changes !== 1) throw new AccountError('this setup link has expired or was already used');
  if ((await countUsers(store)) > 0) throw new AccountError('an administrator already exists; sign in instead');
  return createUser(store, { email, password, isAdmin: true });
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
