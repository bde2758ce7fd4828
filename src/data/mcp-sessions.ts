import type { Queryable } from './engines/store.ts';
import { keysetPage, type Page, type PageRequest } from './paging.ts';

/**
 * The `mcp_sessions` table: legacy (2024-11-05 … 2025-11-25) MCP sessions of
 * both transports. The id is stored only as a SHA-256 hash. A Streamable HTTP
 * row is what lets any instance rebuild the session: the principal it is
 * bound to and the initialize request that opened it.
 */

export type SessionTransportKind = 'streamable' | 'sse';

/** The columns a session can be ended by (everything bound to a person, a client, a grant, a token). */
export type SessionColumn = 'user_id' | 'client_id' | 'grant_id' | 'pat_id' | 'token_id';

export const SESSION_COLUMNS: readonly SessionColumn[] = ['user_id', 'client_id', 'grant_id', 'pat_id', 'token_id'];

export interface SessionBindingRow {
  user_id: string;
  client_id: string;
  principal_kind: 'oauth' | 'pat' | 'service';
  grant_id: string | null;
  pat_id: string | null;
  token_id: string | null;
  scopes: string;
  token_expires_at: number;
  last_used_at: number;
}

export interface SessionRow extends SessionBindingRow {
  id_hash: string;
  protocol_version: string;
  transport: SessionTransportKind;
  initialize_request: string;
  created_at: number;
  /** The upstream a session at /mcp/<name> proxies to; null at /mcp. */
  upstream: string | null;
}

export interface NewSession {
  idHash: string;
  userId: string;
  clientId: string;
  kind: SessionBindingRow['principal_kind'];
  grantId: string | null;
  patId: string | null;
  tokenId: string | null;
  scopes: readonly string[];
  tokenExpiresAt: number;
  protocolVersion: string;
  transport: SessionTransportKind;
  initializeRequest: string;
  /** At /mcp/<name>: the upstream; absent or null at /mcp. */
  upstream?: string | null;
  now: number;
}

export async function insertSession(db: Queryable, session: NewSession): Promise<void> {
  await db.run(
    `INSERT INTO mcp_sessions (id_hash, user_id, client_id, principal_kind, grant_id, pat_id, token_id, scopes, token_expires_at,
       protocol_version, transport, initialize_request, upstream, created_at, last_used_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      session.idHash,
      session.userId,
      session.clientId,
      session.kind,
      session.grantId,
      session.patId,
      session.tokenId,
      session.scopes.join(' '),
      session.tokenExpiresAt,
      session.protocolVersion,
      session.transport,
      session.initializeRequest,
      session.upstream ?? null,
      session.now,
      session.now,
    ],
  );
}

/** The whole record, for rebuilding a session. */
export async function findSession(db: Queryable, idHash: string): Promise<SessionRow | undefined> {
  return db.get<SessionRow>('SELECT * FROM mcp_sessions WHERE id_hash = ?', [idHash]);
}

/** What confirming a held session reads: its binding and last use, not the stored initialize. */
export async function findSessionBinding(db: Queryable, idHash: string): Promise<SessionBindingRow | undefined> {
  return db.get<SessionBindingRow>(
    'SELECT user_id, client_id, principal_kind, grant_id, pat_id, token_id, scopes, token_expires_at, last_used_at FROM mcp_sessions WHERE id_hash = ?',
    [idHash],
  );
}

/** Which of these sessions still exist. */
export async function existingSessions(db: Queryable, idHashes: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let start = 0; start < idHashes.length; start += 500) {
    const batch = idHashes.slice(start, start + 500);
    const rows = await db.all<{ id_hash: string }>(`SELECT id_hash FROM mcp_sessions WHERE id_hash IN (${batch.map(() => '?').join(', ')})`, batch);
    for (const row of rows) found.add(row.id_hash);
  }
  return found;
}

export async function rebindSession(
  db: Queryable,
  idHash: string,
  binding: { scopes: readonly string[]; tokenExpiresAt: number; grantId: string | null; patId: string | null; tokenId: string | null },
): Promise<void> {
  await db.run('UPDATE mcp_sessions SET scopes = ?, token_expires_at = ?, grant_id = ?, pat_id = ?, token_id = ? WHERE id_hash = ?', [
    binding.scopes.join(' '),
    binding.tokenExpiresAt,
    binding.grantId,
    binding.patId,
    binding.tokenId,
    idHash,
  ]);
}

export async function touchSession(db: Queryable, idHash: string, at: number): Promise<void> {
  await db.run('UPDATE mcp_sessions SET last_used_at = ? WHERE id_hash = ?', [at, idHash]);
}

/** Ends one session; true when it existed. */
export async function deleteSession(db: Queryable, idHash: string): Promise<boolean> {
  const { changes } = await db.run('DELETE FROM mcp_sessions WHERE id_hash = ?', [idHash]);
  return changes === 1;
}

/** Ends every session bound to a person, client, grant or token; returns how many. */
export async function deleteSessionsWhere(db: Queryable, column: SessionColumn, value: string): Promise<number> {
  const { changes } = await db.run(`DELETE FROM mcp_sessions WHERE ${column} = ?`, [value]);
  return changes;
}

export async function deleteSessionsUnusedSince(db: Queryable, cutoff: number): Promise<number> {
  const { changes } = await db.run('DELETE FROM mcp_sessions WHERE last_used_at < ?', [cutoff]);
  return changes;
}

export async function countSessions(db: Queryable, where?: { column: 'user_id' | 'client_id'; value: string }): Promise<number> {
  const row = where
    ? await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM mcp_sessions WHERE ${where.column} = ?`, [where.value])
    : await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM mcp_sessions');
  return Number(row?.n ?? 0);
}

/** Stored sessions per client, for a page of clients. */
export async function sessionCounts(db: Queryable, clientIds: readonly string[]): Promise<Map<string, number>> {
  if (clientIds.length === 0) return new Map();
  const rows = await db.all<{ client_id: string; n: number }>(
    `SELECT client_id, COUNT(*) AS n FROM mcp_sessions WHERE client_id IN (${clientIds.map(() => '?').join(', ')}) GROUP BY client_id`,
    clientIds,
  );
  return new Map(rows.map((row) => [row.client_id, Number(row.n)]));
}

export interface SessionListRow {
  idHash: string;
  userId: string;
  email: string | null;
  clientId: string;
  /** The OAuth client's name, or the personal access token's name. */
  clientLabel: string | null;
  kind: SessionBindingRow['principal_kind'];
  transport: string;
  protocolVersion: string;
  scopes: string;
  /** The upstream at /mcp/<name>, or null for /mcp. */
  upstream: string | null;
  createdAt: number;
  lastUsedAt: number;
}

/** Stored legacy MCP sessions, most recently used first (the 2026-07-28 era has no sessions). */
export async function sessionPage(db: Queryable, filter: { userId?: string | undefined; clientId?: string | undefined }, request: PageRequest): Promise<Page<SessionListRow>> {
  interface Raw {
    id_hash: string;
    user_id: string;
    email: string | null;
    client_id: string;
    client_name: string | null;
    token_name: string | null;
    principal_kind: SessionBindingRow['principal_kind'];
    transport: string;
    protocol_version: string;
    scopes: string;
    upstream: string | null;
    created_at: number;
    last_used_at: number;
  }
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.userId) {
    where.push('s.user_id = ?');
    params.push(filter.userId);
  }
  if (filter.clientId) {
    where.push('s.client_id = ?');
    params.push(filter.clientId);
  }
  const page = await keysetPage<Raw>(
    request,
    (row) => [Number(row.last_used_at), row.id_hash],
    (key, order, limit) => {
      const clauses = key ? [...where, `(s.last_used_at, s.id_hash) ${key.sql} (?, ?)`] : where;
      return db.all<Raw>(
        `SELECT s.id_hash, s.user_id, u.email, s.client_id, c.name AS client_name, p.name AS token_name, s.principal_kind,
           s.transport, s.protocol_version, s.scopes, s.upstream, s.created_at, s.last_used_at
         FROM mcp_sessions s
           LEFT JOIN users u ON u.id = s.user_id
           LEFT JOIN client_index c ON c.client_id = s.client_id
           LEFT JOIN personal_access_tokens p ON p.id = s.pat_id
         ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
         ORDER BY s.last_used_at ${order}, s.id_hash ${order} LIMIT ?`,
        [...params, ...(key?.params ?? []), limit],
      );
    },
  );
  return {
    ...page,
    rows: page.rows.map((row) => ({
      idHash: row.id_hash,
      userId: row.user_id,
      email: row.email,
      clientId: row.client_id,
      clientLabel: row.principal_kind === 'pat' ? (row.token_name ? `token "${row.token_name}"` : 'personal access token') : row.client_name,
      kind: row.principal_kind,
      transport: row.transport === 'sse' ? 'HTTP+SSE' : 'Streamable HTTP',
      protocolVersion: row.protocol_version,
      scopes: row.scopes,
      upstream: row.upstream,
      createdAt: Number(row.created_at),
      lastUsedAt: Number(row.last_used_at),
    })),
  };
}
