import type { Store } from './engines/store.ts';
import { keysetPage, type Page, type PageRequest } from './paging.ts';

export interface SessionRow {
  idHash: string;
  userId: string;
  email: string | null;
  clientId: string;
  /** The OAuth client's name, or the personal access token's name. */
  clientLabel: string | null;
  kind: 'oauth' | 'pat';
  transport: string;
  protocolVersion: string;
  scopes: string;
  createdAt: number;
  lastUsedAt: number;
}

export interface SessionFilter {
  userId?: string | undefined;
  clientId?: string | undefined;
}

interface Raw {
  id_hash: string;
  user_id: string;
  email: string | null;
  client_id: string;
  client_name: string | null;
  token_name: string | null;
  principal_kind: 'oauth' | 'pat';
  transport: string;
  protocol_version: string;
  scopes: string;
  created_at: number;
  last_used_at: number;
}

/** Stored legacy MCP sessions, most recently used first (the 2026-07-28 era has no sessions). */
export async function sessionPage(store: Store, filter: SessionFilter, request: PageRequest): Promise<Page<SessionRow>> {
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
      return store.all<Raw>(
        `SELECT s.id_hash, s.user_id, u.email, s.client_id, c.name AS client_name, p.name AS token_name, s.principal_kind,
           s.transport, s.protocol_version, s.scopes, s.created_at, s.last_used_at
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
      createdAt: Number(row.created_at),
      lastUsedAt: Number(row.last_used_at),
    })),
  };
}
