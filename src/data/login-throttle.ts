import type { Queryable } from './engines/store.ts';

/**
 * The `login_throttle` table: failed sign-ins per account name (hashed),
 * whether or not the account exists.
 */

export async function lockedUntil(db: Queryable, key: string): Promise<number | null> {
  const row = await db.get<{ locked_until: number | null }>('SELECT locked_until FROM login_throttle WHERE key = ?', [key]);
  return row?.locked_until === null || row?.locked_until === undefined ? null : Number(row.locked_until);
}

export async function clearFailures(db: Queryable, key: string): Promise<void> {
  await db.run('DELETE FROM login_throttle WHERE key = ?', [key]);
}

/**
 * Counts one failure in one statement, so guesses sent in parallel (to one
 * instance or several) each count instead of all reading the same old count.
 * Returns the failures so far.
 */
export async function countFailure(db: Queryable, key: string, now: number): Promise<number> {
  const counted = await db.get<{ failures: number }>(
    `INSERT INTO login_throttle (key, failures, locked_until, updated_at) VALUES (?, 1, NULL, ?)
     ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, updated_at = excluded.updated_at
     RETURNING failures`,
    [key, now],
  );
  return Number(counted!.failures);
}

export async function lock(db: Queryable, key: string, until: number): Promise<void> {
  await db.run('UPDATE login_throttle SET locked_until = ? WHERE key = ?', [until, key]);
}
