import type { Queryable } from './engines/store.ts';

/** The `setup_tokens` table: one-time links that create the first administrator, kept as hashes. */

export async function insertSetupToken(db: Queryable, tokenHash: string, expiresAt: number): Promise<void> {
  await db.run('INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)', [tokenHash, expiresAt]);
}

export async function setupTokenUsable(db: Queryable, tokenHash: string, now: number): Promise<boolean> {
  const row = await db.get('SELECT 1 AS ok FROM setup_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?', [tokenHash, now]);
  return row !== undefined;
}

/** Spends the token; true for the one caller that spent it. */
export async function spendSetupToken(db: Queryable, tokenHash: string, now: number): Promise<boolean> {
  const { changes } = await db.run('UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?', [now, tokenHash, now]);
  return changes === 1;
}
