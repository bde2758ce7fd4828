import type { Queryable } from './engines/store.ts';

/** The `used_assertions` table: ID-JAG `jti`s already redeemed, kept until the assertion would have expired. */

/** Records the assertion as used; false when it already was (a replay), on any instance. */
export async function spendAssertion(db: Queryable, issuer: string, jti: string, expiresAt: number): Promise<boolean> {
  const { changes } = await db.run('INSERT INTO used_assertions (issuer, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT (issuer, jti) DO NOTHING', [
    issuer,
    jti,
    expiresAt,
  ]);
  return changes === 1;
}

export async function sweepUsedAssertions(db: Queryable, now: number): Promise<number> {
  return (await db.run('DELETE FROM used_assertions WHERE expires_at <= ?', [now])).changes;
}
