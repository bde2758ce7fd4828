import { toPersonalAccessToken, tokenState, type PersonalAccessToken, type PersonalAccessTokenRow } from './personal-tokens.ts';
import type { Store } from './engines/store.ts';
import { keysetPage, type Page, type PageRequest } from './paging.ts';

/** A token as the pages list it: with its owner's email and its state. */
export interface TokenRow extends PersonalAccessToken {
  email: string | null;
  state: 'active' | 'expired' | 'revoked';
}

type Raw = PersonalAccessTokenRow & { email: string | null };

export function toTokenRow(row: Raw, now = Date.now()): TokenRow {
  const token = toPersonalAccessToken(row);
  return { ...token, email: row.email, state: tokenState(token, now) };
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
