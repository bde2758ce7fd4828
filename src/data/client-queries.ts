import { toClientSummary, type ClientIndexRow, type ClientKind, type ClientSummary } from './client-index.ts';
import type { Store } from './engines/store.ts';
import { containsPattern, keysetPage, placeholders, type Page, type PageRequest } from './paging.ts';

export interface ClientListRow extends ClientSummary {
  grants: number;
  sessions: number;
}

export interface ClientFilter {
  search?: string | undefined;
  kind?: ClientKind | undefined;
}

export const CLIENT_KINDS: ClientKind[] = ['dcr', 'cimd', 'manual'];

function filterSql(filter: ClientFilter): { sql: string[]; params: unknown[] } {
  const sql: string[] = [];
  const params: unknown[] = [];
  if (filter.kind) {
    sql.push('kind = ?');
    params.push(filter.kind);
  }
  if (filter.search) {
    sql.push("search_text LIKE ? ESCAPE '\\'");
    params.push(containsPattern(filter.search));
  }
  return { sql, params };
}

/** Live grants and stored MCP sessions per client, for one page of clients (indexed lookups only). */
export async function activityOf(store: Store, clientIds: string[]): Promise<Map<string, { grants: number; sessions: number }>> {
  const activity = new Map(clientIds.map((id) => [id, { grants: 0, sessions: 0 }]));
  if (clientIds.length === 0) return activity;
  const grants = await store.all<{ client_id: string; n: number }>(
    `SELECT client_id, COUNT(*) AS n FROM oidc_models
     WHERE client_id IN (${placeholders(clientIds.length)}) AND model = 'Grant' AND (expires_at IS NULL OR expires_at > ?)
     GROUP BY client_id`,
    [...clientIds, Date.now()],
  );
  const sessions = await store.all<{ client_id: string; n: number }>(
    `SELECT client_id, COUNT(*) AS n FROM mcp_sessions WHERE client_id IN (${placeholders(clientIds.length)}) GROUP BY client_id`,
    clientIds,
  );
  for (const row of grants) activity.get(row.client_id)!.grants = Number(row.n);
  for (const row of sessions) activity.get(row.client_id)!.sessions = Number(row.n);
  return activity;
}

/** One page of the client list, newest first, with how many match in all. */
export async function clientPage(store: Store, filter: ClientFilter, request: PageRequest): Promise<Page<ClientListRow> & { total: number }> {
  const { sql, params } = filterSql(filter);
  const page = await keysetPage<ClientIndexRow>(
    request,
    (row) => [Number(row.created_at), row.client_id],
    (key, order, limit) => {
      const where = key ? [...sql, `(created_at, client_id) ${key.sql} (?, ?)`] : sql;
      return store.all<ClientIndexRow>(
        `SELECT * FROM client_index ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at ${order}, client_id ${order} LIMIT ?`,
        [...params, ...(key?.params ?? []), limit],
      );
    },
  );
  const totalRow = await store.get<{ n: number }>(`SELECT COUNT(*) AS n FROM client_index ${sql.length ? `WHERE ${sql.join(' AND ')}` : ''}`, params);
  const activity = await activityOf(store, page.rows.map((row) => row.client_id));
  return {
    ...page,
    rows: page.rows.map((row) => ({ ...toClientSummary(row), ...activity.get(row.client_id)! })),
    total: Number(totalRow?.n ?? 0),
  };
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
  accountId?: string;
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
export async function grantsWhere(store: Store, column: 'client_id' | 'account_id', value: string, limit = 200): Promise<GrantRow[]> {
  const rows = await store.all<{ grant_id: string; payload: string; account_id: string; client_id: string; created_at: number; expires_at: number | null; email: string | null; name: string | null }>(
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

export interface ClientDetail {
  summary: ClientSummary;
  /** The client's metadata as stored (or, for CIMD, as last fetched), without its secret. */
  metadata: Record<string, unknown>;
  hasSecret: boolean;
  grants: GrantRow[];
  sessions: number;
}

/** Everything the detail page shows, or undefined when no such client is known. */
export async function clientDetail(store: Store, clientId: string): Promise<ClientDetail | undefined> {
  const indexed = await store.get<ClientIndexRow>('SELECT * FROM client_index WHERE client_id = ?', [clientId]);
  const stored = await store.get<{ payload: string; created_at: number }>("SELECT payload, created_at FROM oidc_models WHERE model = 'Client' AND id = ?", [clientId]);
  const metadataText = stored?.payload ?? indexed?.metadata;
  if (!metadataText) return undefined;
  const { client_secret: secret, gatehouse_kind: kind, ...metadata } = JSON.parse(metadataText) as Record<string, unknown>;
  const summary = indexed
    ? toClientSummary(indexed)
    : toClientSummary({
        client_id: clientId,
        name: typeof metadata.client_name === 'string' ? metadata.client_name : null,
        kind: kind === 'manual' ? 'manual' : 'dcr',
        redirect_hosts: '',
        metadata: null,
        created_at: Number(stored?.created_at ?? 0),
        last_used_at: null,
      });
  const activity = await activityOf(store, [clientId]);
  return {
    summary,
    metadata,
    hasSecret: typeof secret === 'string' && secret.length > 0,
    grants: await grantsWhere(store, 'client_id', clientId),
    sessions: activity.get(clientId)!.sessions,
  };
}

/**
 * Self-registered clients (DCR, CIMD) with no live grant, unused (or, never
 * used, created) before `cutoff`. Pre-registered clients are never stale.
 */
const STALE_WHERE = `c.kind <> 'manual' AND COALESCE(c.last_used_at, c.created_at) < ?
  AND NOT EXISTS (SELECT 1 FROM oidc_models g WHERE g.client_id = c.client_id AND g.model = 'Grant' AND (g.expires_at IS NULL OR g.expires_at > ?))`;

export async function staleClientIds(store: Store, cutoff: number, limit: number): Promise<string[]> {
  const rows = await store.all<{ client_id: string }>(`SELECT c.client_id FROM client_index c WHERE ${STALE_WHERE} ORDER BY c.created_at LIMIT ?`, [
    cutoff,
    Date.now(),
    limit,
  ]);
  return rows.map((row) => row.client_id);
}

export async function countStaleClients(store: Store, cutoff: number): Promise<number> {
  const row = await store.get<{ n: number }>(`SELECT COUNT(*) AS n FROM client_index c WHERE ${STALE_WHERE}`, [cutoff, Date.now()]);
  return Number(row?.n ?? 0);
}
