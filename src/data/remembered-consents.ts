import type { Queryable } from './engines/store.ts';

/** The `remembered_consents` table: a person's "remember this decision" for a client, pointing at its grant. */

export async function rememberedGrantId(db: Queryable, userId: string, clientId: string): Promise<string | undefined> {
  const row = await db.get<{ grant_id: string }>('SELECT grant_id FROM remembered_consents WHERE user_id = ? AND client_id = ?', [userId, clientId]);
  return row?.grant_id;
}

export async function rememberConsent(db: Queryable, consent: { userId: string; clientId: string; grantId: string; scope: string }): Promise<void> {
  await db.run(
    `INSERT INTO remembered_consents (user_id, client_id, grant_id, scope, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (user_id, client_id) DO UPDATE SET grant_id = excluded.grant_id, scope = excluded.scope, created_at = excluded.created_at`,
    [consent.userId, consent.clientId, consent.grantId, consent.scope, Date.now()],
  );
}

export async function forgetConsentsWhere(db: Queryable, column: 'client_id' | 'grant_id' | 'user_id', value: string): Promise<void> {
  await db.run(`DELETE FROM remembered_consents WHERE ${column} = ?`, [value]);
}
