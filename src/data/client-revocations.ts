import type { Queryable } from './engines/store.ts';

/** The `client_revocations` table: when a client's access was last taken away (its client-credentials tokens have no grant to delete). */

export async function recordClientRevocation(db: Queryable, clientId: string, at: number): Promise<void> {
  await db.run('INSERT INTO client_revocations (client_id, revoked_at) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET revoked_at = excluded.revoked_at', [
    clientId,
    at,
  ]);
}

export async function clientRevokedAt(db: Queryable, clientId: string): Promise<number | undefined> {
  const row = await db.get<{ revoked_at: number }>('SELECT revoked_at FROM client_revocations WHERE client_id = ?', [clientId]);
  return row ? Number(row.revoked_at) : undefined;
}
