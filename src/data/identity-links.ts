import type { Queryable } from './engines/store.ts';

/** The `identity_links` table: which account a subject at an identity provider signs in as. */

export interface IdentityLink {
  issuer: string;
  subject: string;
  userId: string;
  lastSignInAt: number;
}

interface Row {
  issuer: string;
  subject: string;
  user_id: string;
  last_sign_in_at: number;
}

const toLink = (row: Row): IdentityLink => ({ issuer: row.issuer, subject: row.subject, userId: row.user_id, lastSignInAt: Number(row.last_sign_in_at) });

export async function findIdentityLink(db: Queryable, issuer: string, subject: string): Promise<IdentityLink | undefined> {
  const row = await db.get<Row>('SELECT * FROM identity_links WHERE issuer = ? AND subject = ?', [issuer, subject]);
  return row && toLink(row);
}

/** Links the subject to the account (once; a later sign-in only refreshes the time). */
export async function linkIdentity(db: Queryable, link: { issuer: string; subject: string; userId: string }, now = Date.now()): Promise<void> {
  await db.run(
    `INSERT INTO identity_links (issuer, subject, user_id, created_at, last_sign_in_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (issuer, subject) DO UPDATE SET last_sign_in_at = excluded.last_sign_in_at`,
    [link.issuer, link.subject, link.userId, now, now],
  );
}

/** The issuers each of these people signs in through, for the admin's list of people. */
export async function issuersOf(db: Queryable, userIds: readonly string[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  if (userIds.length === 0) return found;
  const rows = await db.all<Row>(`SELECT * FROM identity_links WHERE user_id IN (${userIds.map(() => '?').join(', ')}) ORDER BY issuer`, userIds);
  for (const row of rows) found.set(row.user_id, [...(found.get(row.user_id) ?? []), row.issuer]);
  return found;
}
