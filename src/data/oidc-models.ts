import { createHash } from 'node:crypto';
import type { Queryable } from './engines/store.ts';

/**
 * The `oidc_models` table: every oidc-provider model (clients, grants, codes,
 * refresh tokens, sessions, interactions…) keyed by (model, id). Ids of
 * secret-bearing models are stored as SHA-256 hashes (`modelKey`); Client ids
 * are public and kept as they are.
 */

export interface ModelRow {
  id: string;
  payload: string;
  consumed_at: number | null;
}

/** Models whose id is public; every other id is a bearer secret. */
const PUBLIC_IDS = new Set(['Client']);

export function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** How a model's id is stored. */
export function modelKey(model: string, id: string): string {
  return PUBLIC_IDS.has(model) ? id : hashId(id);
}

export interface ModelWrite {
  model: string;
  key: string;
  payload: string;
  grantId: string | null;
  clientId: string | null;
  accountId: string | null;
  uid: string | null;
  userCode: string | null;
  expiresAt: number | null;
  now: number;
}

export async function upsertModel(db: Queryable, write: ModelWrite): Promise<void> {
  await db.run(
    `INSERT INTO oidc_models (model, id, payload, grant_id, client_id, account_id, uid, user_code, expires_at, consumed_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
     ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, client_id = excluded.client_id,
       account_id = excluded.account_id, uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
    [write.model, write.key, write.payload, write.grantId, write.clientId, write.accountId, write.uid, write.userCode, write.expiresAt, write.now],
  );
}

/** Saves a one-time record unless a live one exists; true for the one caller that saved it. */
export async function insertOnce(db: Queryable, model: string, key: string, payload: string, expiresAt: number | null, now: number): Promise<boolean> {
  const { changes } = await db.run(
    `INSERT INTO oidc_models (model, id, payload, expires_at, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at
     WHERE oidc_models.expires_at IS NOT NULL AND oidc_models.expires_at <= ?`,
    [model, key, payload, expiresAt, now, now],
  );
  return changes === 1;
}

export async function findModel(db: Queryable, model: string, key: string, now: number): Promise<ModelRow | undefined> {
  return db.get<ModelRow>('SELECT id, payload, consumed_at FROM oidc_models WHERE model = ? AND id = ? AND (expires_at IS NULL OR expires_at > ?)', [model, key, now]);
}

export async function findModelBy(db: Queryable, model: string, column: 'uid' | 'user_code', value: string, now: number): Promise<ModelRow | undefined> {
  return db.get<ModelRow>(`SELECT id, payload, consumed_at FROM oidc_models WHERE model = ? AND ${column} = ? AND (expires_at IS NULL OR expires_at > ?)`, [
    model,
    value,
    now,
  ]);
}

/** Marks a code or refresh token used; true for the one caller that used it. */
export async function consumeModel(db: Queryable, model: string, key: string, now: number): Promise<boolean> {
  const { changes } = await db.run('UPDATE oidc_models SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL', [now, model, key]);
  return changes === 1;
}

export async function deleteModel(db: Queryable, model: string, key: string): Promise<void> {
  await db.run('DELETE FROM oidc_models WHERE model = ? AND id = ?', [model, key]);
}

export async function deleteModelsOfGrant(db: Queryable, model: string, grantId: string): Promise<void> {
  await db.run('DELETE FROM oidc_models WHERE model = ? AND grant_id = ?', [model, grantId]);
}

/**
 * The rotation retry of a refresh token, in the caller's transaction: locks
 * the presented token's row (a no-op write both engines accept), so
 * concurrent retries on PostgreSQL take turns and each sees what the previous
 * one committed, as they do under SQLite's one writer. Returns when it was
 * consumed now, and its siblings in the grant.
 */
export async function lockRefreshToken(
  tx: Queryable,
  key: string,
  grantId: string,
): Promise<{ consumedAt: number | null; siblings: { id: string; payload: string; consumed_at: number | null }[] } | undefined> {
  await tx.run("UPDATE oidc_models SET consumed_at = consumed_at WHERE model = 'RefreshToken' AND id = ?", [key]);
  const current = await tx.get<{ consumed_at: number | null }>("SELECT consumed_at FROM oidc_models WHERE model = 'RefreshToken' AND id = ?", [key]);
  if (!current) return undefined;
  const siblings = await tx.all<{ id: string; payload: string; consumed_at: number | null }>(
    "SELECT id, payload, consumed_at FROM oidc_models WHERE model = 'RefreshToken' AND grant_id = ? AND id <> ?",
    [grantId, key],
  );
  return { consumedAt: current.consumed_at === null ? null : Number(current.consumed_at), siblings };
}

/** Withdraws an unused refresh token and reopens the one it replaced (consumed at `consumedAt`); true when reopened. */
export async function reopenRefreshToken(tx: Queryable, key: string, consumedAt: number, replacementKey: string): Promise<boolean> {
  await tx.run("DELETE FROM oidc_models WHERE model = 'RefreshToken' AND id = ? AND consumed_at IS NULL", [replacementKey]);
  const { changes } = await tx.run("UPDATE oidc_models SET consumed_at = NULL WHERE model = 'RefreshToken' AND id = ? AND consumed_at = ?", [key, consumedAt]);
  return changes === 1;
}

/** Removes expired rows; run periodically. Returns how many went. */
export async function sweepExpiredModels(db: Queryable): Promise<number> {
  const { changes } = await db.run('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= ?', [Date.now()]);
  return changes;
}

/** True while the grant exists, has not expired, and its person may still sign in: how /mcp learns of revocation. */
export async function grantIsLive(db: Queryable, grantId: string): Promise<boolean> {
  const row = await db.get(
    `SELECT 1 AS live FROM oidc_models g LEFT JOIN users u ON u.id = g.account_id
     WHERE g.model = 'Grant' AND g.id = ? AND (g.expires_at IS NULL OR g.expires_at > ?) AND (g.account_id IS NULL OR u.disabled_at IS NULL)`,
    [hashId(grantId), Date.now()],
  );
  return row !== undefined;
}

/** The ids of the grants a client or a person holds. */
export async function grantIdsOf(db: Queryable, column: 'client_id' | 'account_id', value: string): Promise<string[]> {
  const rows = await db.all<{ grant_id: string }>(`SELECT grant_id FROM oidc_models WHERE model = 'Grant' AND ${column} = ?`, [value]);
  return rows.map((row) => row.grant_id);
}

/** Is this grant the person's? */
export async function grantBelongsTo(db: Queryable, grantId: string, accountId: string): Promise<boolean> {
  return (await db.get("SELECT 1 AS ok FROM oidc_models WHERE model = 'Grant' AND grant_id = ? AND account_id = ?", [grantId, accountId])) !== undefined;
}

/**
 * Everything issued to a client, keeping its registration: its grants with
 * every code and token under them, then what it holds outside any grant
 * (interactions, its registration access token). Codes and tokens are reached
 * through their grant because only grants are indexed by client (migration 010).
 */
export async function deleteIssuedToClient(db: Queryable, clientId: string): Promise<void> {
  await db.run("DELETE FROM oidc_models WHERE grant_id IN (SELECT grant_id FROM oidc_models WHERE model = 'Grant' AND client_id = ?)", [clientId]);
  await db.run("DELETE FROM oidc_models WHERE client_id = ? AND grant_id IS NULL AND model <> 'Client'", [clientId]);
}

/** A grant and everything issued under it. */
export async function deleteGrant(db: Queryable, grantId: string): Promise<boolean> {
  const { changes } = await db.run('DELETE FROM oidc_models WHERE grant_id = ?', [grantId]);
  return changes > 0;
}

/** A person's browser sign-ins at the authorization server, so the next authorization asks for the password. */
export async function deleteSignInSessionsOf(db: Queryable, accountId: string): Promise<void> {
  await db.run("DELETE FROM oidc_models WHERE model = 'Session' AND account_id = ?", [accountId]);
}

export async function deleteClientRegistration(db: Queryable, clientId: string): Promise<void> {
  await db.run("DELETE FROM oidc_models WHERE model = 'Client' AND id = ?", [clientId]);
}

/** Whether the client is still registered (a stored registration; CIMD clients have none). */
export async function clientIsRegistered(db: Queryable, clientId: string): Promise<boolean> {
  return (await db.get("SELECT 1 AS ok FROM oidc_models WHERE model = 'Client' AND id = ?", [clientId])) !== undefined;
}

/** A stored client's registration as oidc-provider saved it (with its secret, if any), and when. */
export async function storedClient(db: Queryable, clientId: string): Promise<{ metadata: Record<string, unknown>; createdAt: number } | undefined> {
  const row = await db.get<{ payload: string; created_at: number }>("SELECT payload, created_at FROM oidc_models WHERE model = 'Client' AND id = ?", [clientId]);
  return row && { metadata: JSON.parse(row.payload) as Record<string, unknown>, createdAt: Number(row.created_at) };
}

/** Stored clients the client index does not know yet (see `ClientIndex.backfill`). */
export async function clientsMissingFromIndex(db: Queryable): Promise<{ payload: string; created_at: number }[]> {
  return db.all<{ payload: string; created_at: number }>(
    `SELECT m.payload, m.created_at FROM oidc_models m
     WHERE m.model = 'Client' AND NOT EXISTS (SELECT 1 FROM client_index c WHERE c.client_id = m.id)`,
  );
}

/** Live grants per client, for a page of clients. */
export async function liveGrantCounts(db: Queryable, clientIds: readonly string[]): Promise<Map<string, number>> {
  if (clientIds.length === 0) return new Map();
  const rows = await db.all<{ client_id: string; n: number }>(
    `SELECT client_id, COUNT(*) AS n FROM oidc_models
     WHERE client_id IN (${clientIds.map(() => '?').join(', ')}) AND model = 'Grant' AND (expires_at IS NULL OR expires_at > ?)
     GROUP BY client_id`,
    [...clientIds, Date.now()],
  );
  return new Map(rows.map((row) => [row.client_id, Number(row.n)]));
}

export interface GrantRow {
  grantId: string;
  userId: string;
  email: string | null;
  clientId: string;
  clientName: string | null;
  scope: string;
  createdAt: number;
  expiresAt: number | null;
}

interface GrantPayload {
  openid?: { scope?: string };
  resources?: Record<string, string>;
}

function scopeOf(payload: GrantPayload): string {
  const scopes = new Set<string>();
  for (const scope of [payload.openid?.scope ?? '', ...Object.values(payload.resources ?? {})]) {
    for (const name of scope.split(' ')) if (name) scopes.add(name);
  }
  return [...scopes].join(' ');
}

/** Live grants by client or by person, newest first, with the person's email and the client's name. */
export async function grantsWhere(db: Queryable, column: 'client_id' | 'account_id', value: string, limit = 200): Promise<GrantRow[]> {
  const rows = await db.all<{
    grant_id: string;
    payload: string;
    account_id: string;
    client_id: string;
    created_at: number;
    expires_at: number | null;
    email: string | null;
    name: string | null;
  }>(
    `SELECT g.grant_id, g.payload, g.account_id, g.client_id, g.created_at, g.expires_at, u.email, c.name
     FROM oidc_models g LEFT JOIN users u ON u.id = g.account_id LEFT JOIN client_index c ON c.client_id = g.client_id
     WHERE g.${column} = ? AND g.model = 'Grant' AND (g.expires_at IS NULL OR g.expires_at > ?)
     ORDER BY g.created_at DESC LIMIT ?`,
    [value, Date.now(), limit],
  );
  return rows.map((row) => ({
    grantId: row.grant_id,
    userId: row.account_id,
    email: row.email,
    clientId: row.client_id,
    clientName: row.name,
    scope: scopeOf(JSON.parse(row.payload) as GrantPayload),
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  }));
}
