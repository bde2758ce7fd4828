import type { Store } from '../store/store.ts';
import { keysetPage, type Page, type PageRequest } from './paging.ts';

export interface TokenRow {
  id: string;
  userId: string;
  email: string | null;
  name: string;
  hint: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  state: 'active' | 'expired' | 'revoked';
}

interface Raw {
  id: string;
  user_id: string;
  email: string | null;
  name: string;
  hint: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

const num = (value: number | null) => (value === null ? null : Number(value));

export function toTokenRow(row: Raw, now = Date.now()): TokenRow {
  const expiresAt = num(row.expires_at);
  const revokedAt = num(row.revoked_at);
  return {
    id: row.id,
    userId: row.user_id,
    email: row.email,
    name: row.name,
    hint: row.hint,
    scopes: row.scopes.split(' ').filter(Boolean),
    createdAt: Number(row.created_at),
    expiresAt,
    lastUsedAt: num(row.last_used_at),
    revokedAt,
    state: revokedAt !== null ? 'revoked' : expiresAt !== null && expiresAt <= now ? 'expired' : 'active',
  };
}

/** Personal access tokens, newest first, everyone's or one person's. */
export async function tokenPage(store: Store, userId: string | undefined, request: PageRequest): Promise<Page<TokenRow>> {
  const page = await keysetPage<Raw>(
    request,
    (row) => [Number(row.created_at), row.id],
    (key, order, limit) => {
      const where = [...(userId ? ['t.user_id = ?'] : []), ...(key ? [`(t.created_at, t.id) ${key.sql} (?, ?)`] : [])];
      return store.all<Raw>(
        `SELECT t.id, t.user_id, u.email, t.name, t.hint, t.scopes, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
         FROM personal_access_tokens t LEFT JOIN users u ON u.id = t.user_id
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY t.created_at ${order}, t.id ${order} LIMIT ?`,
        [...(userId ? [userId] : []), ...(key?.params ?? []), limit],
      );
    },
  );
  return { ...page, rows: page.rows.map((row) => toTokenRow(row)) };
}

/** Emails of active users, for the "create a token for" suggestions. */
export async function userEmails(store: Store, limit = 500): Promise<string[]> {
  const rows = await store.all<{ email: string }>('SELECT email FROM users WHERE disabled_at IS NULL ORDER BY email LIMIT ?', [limit]);
  return rows.map((row) => row.email);
}
