import type { Queryable } from './engines/store.ts';

/** The `revoked_access_tokens` table: JWT access tokens revoked before they expire, by jti, until they would have expired. */

export async function recordRevokedAccessToken(db: Queryable, jti: string, expiresAt: number): Promise<void> {
  await db.run('INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING', [jti, expiresAt]);
}

export async function accessTokenRevoked(db: Queryable, jti: string): Promise<boolean> {
  return (await db.get('SELECT 1 AS revoked FROM revoked_access_tokens WHERE jti = ?', [jti])) !== undefined;
}

export async function sweepRevokedAccessTokens(db: Queryable, now: number): Promise<number> {
  const { changes } = await db.run('DELETE FROM revoked_access_tokens WHERE expires_at <= ?', [now]);
  return changes;
}
