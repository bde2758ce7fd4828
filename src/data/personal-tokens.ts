import { createHash } from 'node:crypto';
import type { Queryable } from './engines/store.ts';
import { keysetPage, type Page, type PageRequest } from './paging.ts';

/**
 * The `personal_access_tokens` table: long-lived bearer tokens a person
 * creates for clients that never refresh. Only the SHA-256 of the secret is kept.
 */

/** Recognisable in logs, configs and secret scanners. */
export const PAT_PREFIX = 'gatehouse_pat_';

export interface PersonalAccessToken {
  id: string;
  userId: string;
  name: string;
  /** The first characters, for people to tell tokens apart. */
  hint: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface PersonalAccessTokenRow {
  id: string;
  user_id: string;
  name: string;
  hint: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

const timestamp = (value: number | null) => (value === null ? null : Number(value));

function toPersonalAccessToken(row: PersonalAccessTokenRow): PersonalAccessToken {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    hint: row.hint,
    scopes: row.scopes.split(' ').filter(Boolean),
    createdAt: Number(row.created_at),
    expiresAt: timestamp(row.expires_at),
    lastUsedAt: timestamp(row.last_used_at),
    revokedAt: timestamp(row.revoked_at),
  };
}

export function tokenState(token: PersonalAccessToken, now = Date.now()): 'active' | 'expired' | 'revoked' {
  if (token.revokedAt !== null) return 'revoked';
  return token.expiresAt !== null && token.expiresAt <= now ? 'expired' : 'active';
}

export function hashPat(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function looksLikePat(token: string): boolean {
  return token.startsWith(PAT_PREFIX);
}

export async function insertPersonalAccessToken(
  db: Queryable,
  token: { id: string; userId: string; name: string; tokenHash: string; hint: string; scopes: string[]; expiresAt: number | null },
): Promise<PersonalAccessToken> {
  await db.run('INSERT INTO personal_access_tokens (id, user_id, name, token_hash, hint, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
    token.id,
    token.userId,
    token.name,
    token.tokenHash,
    token.hint,
    token.scopes.join(' '),
    Date.now(),
    token.expiresAt,
  ]);
  const row = await db.get<PersonalAccessTokenRow>('SELECT * FROM personal_access_tokens WHERE id = ?', [token.id]);
  return toPersonalAccessToken(row!);
}

/** The token for this secret while it may be used: unrevoked, unexpired, its owner enabled. */
export async function findUsablePat(db: Queryable, secret: string): Promise<PersonalAccessToken | undefined> {
  const row = await db.get<PersonalAccessTokenRow>(
    `SELECT t.* FROM personal_access_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.disabled_at IS NULL`,
    [hashPat(secret), Date.now()],
  );
  return row && toPersonalAccessToken(row);
}

/** Whether the token may still be used: unrevoked, unexpired, and its owner enabled. */
export async function patIsUsable(db: Queryable, id: string): Promise<boolean> {
  const row = await db.get(
    `SELECT 1 AS ok FROM personal_access_tokens t JOIN users u ON u.id = t.user_id
     WHERE t.id = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.disabled_at IS NULL`,
    [id, Date.now()],
  );
  return row !== undefined;
}

export async function findPersonalAccessToken(db: Queryable, id: string): Promise<PersonalAccessToken | undefined> {
  const row = await db.get<PersonalAccessTokenRow>('SELECT * FROM personal_access_tokens WHERE id = ?', [id]);
  return row && toPersonalAccessToken(row);
}

export async function listPersonalAccessTokens(db: Queryable, userId?: string): Promise<PersonalAccessToken[]> {
  const rows = userId
    ? await db.all<PersonalAccessTokenRow>('SELECT * FROM personal_access_tokens WHERE user_id = ? ORDER BY created_at DESC', [userId])
    : await db.all<PersonalAccessTokenRow>('SELECT * FROM personal_access_tokens ORDER BY created_at DESC');
  return rows.map(toPersonalAccessToken);
}

/** Revokes one token (only the owner's, when given); true when it was active. */
export async function markPatRevoked(db: Queryable, id: string, ownerId?: string): Promise<boolean> {
  const { changes } = ownerId
    ? await db.run('UPDATE personal_access_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL', [Date.now(), id, ownerId])
    : await db.run('UPDATE personal_access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [Date.now(), id]);
  return changes === 1;
}

/** Revokes every active token of a person; returns their ids. */
export async function markPatsOfUserRevoked(db: Queryable, userId: string): Promise<string[]> {
  const rows = await db.all<{ id: string }>('SELECT id FROM personal_access_tokens WHERE user_id = ? AND revoked_at IS NULL', [userId]);
  await db.run('UPDATE personal_access_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL', [Date.now(), userId]);
  return rows.map((row) => row.id);
}

export async function touchPat(db: Queryable, id: string): Promise<void> {
  await db.run('UPDATE personal_access_tokens SET last_used_at = ? WHERE id = ?', [Date.now(), id]);
}

/** A token as the pages list it: with its owner's email and its state. */
export interface TokenListRow extends PersonalAccessToken {
  email: string | null;
  state: 'active' | 'expired' | 'revoked';
}

/** Personal access tokens, newest first, everyone's or one person's. */
export async function tokenPage(db: Queryable, userId: string | undefined, request: PageRequest): Promise<Page<TokenListRow>> {
  type Raw = PersonalAccessTokenRow & { email: string | null };
  const page = await keysetPage<Raw>(
    request,
    (row) => [Number(row.created_at), row.id],
    (key, order, limit) => {
      const where = [...(userId ? ['t.user_id = ?'] : []), ...(key ? [`(t.created_at, t.id) ${key.sql} (?, ?)`] : [])];
      return db.all<Raw>(
        `SELECT t.id, t.user_id, u.email, t.name, t.hint, t.scopes, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
         FROM personal_access_tokens t LEFT JOIN users u ON u.id = t.user_id
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY t.created_at ${order}, t.id ${order} LIMIT ?`,
        [...(userId ? [userId] : []), ...(key?.params ?? []), limit],
      );
    },
  );
  const now = Date.now();
  return {
    ...page,
    rows: page.rows.map((row) => {
      const token = toPersonalAccessToken(row);
      return { ...token, email: row.email, state: tokenState(token, now) };
    }),
  };
}
