import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Store } from './engines/store.ts';

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

export interface PersonalAccessTokenRow {
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

export function toPersonalAccessToken(row: PersonalAccessTokenRow): PersonalAccessToken {
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

/** Creates a token; the secret is returned once and only its hash is kept. */
export async function createPersonalAccessToken(
  store: Store,
  input: { userId: string; name: string; scopes: string[]; expiresAt: number | null },
): Promise<{ token: string; record: PersonalAccessToken }> {
  const token = `${PAT_PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  const hint = `${token.slice(0, PAT_PREFIX.length + 4)}…`;
  await store.run(
    'INSERT INTO personal_access_tokens (id, user_id, name, token_hash, hint, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [id, input.userId, input.name, hashPat(token), hint, input.scopes.join(' '), Date.now(), input.expiresAt],
  );
  const record = await store.get<PersonalAccessTokenRow>('SELECT * FROM personal_access_tokens WHERE id = ?', [id]);
  return { token, record: toPersonalAccessToken(record!) };
}

/** The live token for this secret, or undefined (unknown, revoked or expired). */
export async function findActivePat(store: Store, token: string): Promise<PersonalAccessToken | undefined> {
  const row = await store.get<PersonalAccessTokenRow>(
    'SELECT * FROM personal_access_tokens WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)',
    [hashPat(token), Date.now()],
  );
  return row && toPersonalAccessToken(row);
}

export async function patIsActive(store: Store, id: string): Promise<boolean> {
  const row = await store.get('SELECT 1 AS ok FROM personal_access_tokens WHERE id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)', [
    id,
    Date.now(),
  ]);
  return row !== undefined;
}

export async function listPersonalAccessTokens(store: Store, userId?: string): Promise<PersonalAccessToken[]> {
  const rows = userId
    ? await store.all<PersonalAccessTokenRow>('SELECT * FROM personal_access_tokens WHERE user_id = ? ORDER BY created_at DESC', [userId])
    : await store.all<PersonalAccessTokenRow>('SELECT * FROM personal_access_tokens ORDER BY created_at DESC');
  return rows.map(toPersonalAccessToken);
}

export async function revokePersonalAccessToken(store: Store, id: string, userId?: string): Promise<boolean> {
  const { changes } = userId
    ? await store.run('UPDATE personal_access_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL', [Date.now(), id, userId])
    : await store.run('UPDATE personal_access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [Date.now(), id]);
  return changes === 1;
}

export async function touchPat(store: Store, id: string): Promise<void> {
  await store.run('UPDATE personal_access_tokens SET last_used_at = ? WHERE id = ?', [Date.now(), id]);
}
