import type { Logger } from '../ops/logging.ts';
import type { Queryable, Store } from './engines/store.ts';
import { clientsMissingFromIndex, liveGrantCounts } from './oidc-models.ts';
import { sessionCounts } from './mcp-sessions.ts';
import { containsPattern, keysetPage, type Page, type PageRequest } from './paging.ts';
import { LruCache } from '../util/lru-cache.ts';

export type ClientKind = 'dcr' | 'cimd' | 'manual';

export interface ClientSummary {
  clientId: string;
  name: string | null;
  kind: ClientKind;
  redirectHosts: string[];
  createdAt: number;
  lastUsedAt: number | null;
}

export interface ClientIndexRow {
  client_id: string;
  name: string | null;
  kind: ClientKind;
  redirect_hosts: string;
  metadata: string | null;
  created_at: number;
  last_used_at: number | null;
}

/** What Gatehouse reads from a client's metadata to index it. */
export interface ClientMetadata {
  client_id: string;
  client_name?: string;
  redirect_uris?: string[];
  client_id_issued_at?: number;
  /** Set on clients an administrator registered, so a rebuilt index still knows them. */
  gatehouse_kind?: 'manual';
}

/** Writes of "last used" and CIMD re-resolutions are kept to one a minute per client and process. */
const WRITE_INTERVAL_MS = 60_000;

export function redirectHostsOf(redirectUris: readonly string[] = []): string[] {
  return [...new Set(redirectUris.map((uri) => URL.parse(uri)?.host || uri))];
}

export function toClientSummary(row: ClientIndexRow): ClientSummary {
  return {
    clientId: row.client_id,
    name: row.name,
    kind: row.kind,
    redirectHosts: row.redirect_hosts.split(' ').filter(Boolean),
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

/**
 * The clients Gatehouse knows, one narrow row each (table `client_index`), so
 * the admin page and the CLI can list, search and page them without reading
 * oidc-provider's JSON payloads. oidc_models stays the truth for DCR and
 * manual clients; CIMD clients exist only here and in oidc-provider's cache.
 */
export class ClientIndex {
  private readonly recentWrites = new LruCache<string, number>(10_000);

  constructor(
    private readonly store: Store,
    private readonly logger?: Logger,
  ) {}

  /** Inserts or refreshes a client's row; `created_at` and `last_used_at` survive updates. */
  async record(metadata: ClientMetadata, kind: ClientKind, options: { keepDocument?: boolean; usedAt?: number; createdAt?: number } = {}): Promise<void> {
    const hosts = redirectHostsOf(metadata.redirect_uris);
    const name = typeof metadata.client_name === 'string' && metadata.client_name ? metadata.client_name : null;
    const createdAt = options.createdAt ?? (metadata.client_id_issued_at ? metadata.client_id_issued_at * 1000 : Date.now());
    await this.store.run(
      `INSERT INTO client_index (client_id, name, kind, redirect_hosts, search_text, metadata, created_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, kind = excluded.kind, redirect_hosts = excluded.redirect_hosts,
         search_text = excluded.search_text, metadata = excluded.metadata,
         last_used_at = COALESCE(excluded.last_used_at, client_index.last_used_at)`,
      [
        metadata.client_id,
        name,
        kind,
        hosts.join(' '),
        searchText(metadata.client_id, name, hosts),
        options.keepDocument ? JSON.stringify(metadata) : null,
        createdAt,
        options.usedAt ?? null,
      ],
    );
  }

  /**
   * A CIMD client was resolved (oidc-provider's `allowClient`): that is both
   * its registration and a use. Throttled, since it happens on every request
   * the client makes to the authorization server. Never throws: a failed
   * index write must not fail the client's request.
   */
  async cimdClientSeen(metadata: ClientMetadata): Promise<void> {
    if (!this.due(`cimd:${metadata.client_id}`)) return;
    await this.record(metadata, 'cimd', { keepDocument: true, usedAt: Date.now() }).catch(this.failed('recording a CIMD client'));
  }

  /** Records that a client used the authorization server (throttled). */
  async touch(clientId: string): Promise<void> {
    if (!this.due(`use:${clientId}`)) return;
    const now = Date.now();
    await this.store.run('UPDATE client_index SET last_used_at = ? WHERE client_id = ? AND (last_used_at IS NULL OR last_used_at < ?)', [
      now,
      clientId,
      now - WRITE_INTERVAL_MS,
    ]);
  }

  /** Forgets what this process remembered of a client whose row another use case deleted. */
  forgetLocally(clientId: string): void {
    this.recentWrites.delete(`cimd:${clientId}`);
  }

  find(clientId: string): Promise<ClientIndexRow | undefined> {
    return findIndexedClient(this.store, clientId);
  }

  /**
   * Indexes stored clients the index does not know (a database from before the
   * index existed, or a row lost in a crash). Cheap when there are none.
   */
  async backfill(): Promise<number> {
    const rows = await clientsMissingFromIndex(this.store);
    for (const row of rows) {
      const metadata = JSON.parse(row.payload) as ClientMetadata;
      await this.record(metadata, metadata.gatehouse_kind ?? 'dcr', { createdAt: Number(row.created_at) });
    }
    return rows.length;
  }

  /** Logs a failed index write: the index must never fail the client's own request. */
  failed(what: string) {
    return (error: unknown) => this.logger?.error({ err: error }, `client index: ${what} failed`);
  }

  private due(key: string): boolean {
    const last = this.recentWrites.peek(key);
    if (last !== undefined && Date.now() - last < WRITE_INTERVAL_MS) return false;
    this.recentWrites.set(key, Date.now());
    return true;
  }
}

function searchText(clientId: string, name: string | null, hosts: string[]): string {
  return [name ?? '', clientId, ...hosts].join(' ').toLowerCase();
}

/** Every client, newest first (the CLI's `client list`). */
export async function listClients(store: Store): Promise<ClientSummary[]> {
  // The CLI may run against a database no server has started on since migration 003.
  await new ClientIndex(store).backfill();
  const rows = await store.all<ClientIndexRow>('SELECT * FROM client_index ORDER BY created_at DESC, client_id DESC');
  return rows.map(toClientSummary);
}

export async function findIndexedClient(db: Queryable, clientId: string): Promise<ClientIndexRow | undefined> {
  return db.get<ClientIndexRow>('SELECT * FROM client_index WHERE client_id = ?', [clientId]);
}

export async function deleteIndexedClient(db: Queryable, clientId: string): Promise<void> {
  await db.run('DELETE FROM client_index WHERE client_id = ?', [clientId]);
}

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
export async function activityOf(db: Queryable, clientIds: string[]): Promise<Map<string, { grants: number; sessions: number }>> {
  const [grants, sessions] = await Promise.all([liveGrantCounts(db, clientIds), sessionCounts(db, clientIds)]);
  return new Map(clientIds.map((id) => [id, { grants: grants.get(id) ?? 0, sessions: sessions.get(id) ?? 0 }]));
}

/** One page of the client list, newest first, with how many match in all. */
export async function clientPage(db: Queryable, filter: ClientFilter, request: PageRequest): Promise<Page<ClientListRow> & { total: number }> {
  const { sql, params } = filterSql(filter);
  const page = await keysetPage<ClientIndexRow>(
    request,
    (row) => [Number(row.created_at), row.client_id],
    (key, order, limit) => {
      const where = key ? [...sql, `(created_at, client_id) ${key.sql} (?, ?)`] : sql;
      return db.all<ClientIndexRow>(
        `SELECT * FROM client_index ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at ${order}, client_id ${order} LIMIT ?`,
        [...params, ...(key?.params ?? []), limit],
      );
    },
  );
  const totalRow = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM client_index ${sql.length ? `WHERE ${sql.join(' AND ')}` : ''}`, params);
  const activity = await activityOf(db, page.rows.map((row) => row.client_id));
  return {
    ...page,
    rows: page.rows.map((row) => ({ ...toClientSummary(row), ...activity.get(row.client_id)! })),
    total: Number(totalRow?.n ?? 0),
  };
}

/**
 * Self-registered clients (DCR, CIMD) with no live grant, unused (or, never
 * used, created) before `cutoff`. Pre-registered clients are never stale.
 */
const STALE_WHERE = `c.kind <> 'manual' AND COALESCE(c.last_used_at, c.created_at) < ?
  AND NOT EXISTS (SELECT 1 FROM oidc_models g WHERE g.client_id = c.client_id AND g.model = 'Grant' AND (g.expires_at IS NULL OR g.expires_at > ?))`;

export async function staleClientIds(db: Queryable, cutoff: number, limit: number): Promise<string[]> {
  const rows = await db.all<{ client_id: string }>(`SELECT c.client_id FROM client_index c WHERE ${STALE_WHERE} ORDER BY c.created_at LIMIT ?`, [
    cutoff,
    Date.now(),
    limit,
  ]);
  return rows.map((row) => row.client_id);
}

export async function countStaleClients(db: Queryable, cutoff: number): Promise<number> {
  const row = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM client_index c WHERE ${STALE_WHERE}`, [cutoff, Date.now()]);
  return Number(row?.n ?? 0);
}

/** Client names for labelling lists and whoami. */
export async function clientNames(db: Queryable, clientIds: readonly string[]): Promise<Map<string, string | null>> {
  if (clientIds.length === 0) return new Map();
  const rows = await db.all<{ client_id: string; name: string | null }>(
    `SELECT client_id, name FROM client_index WHERE client_id IN (${clientIds.map(() => '?').join(', ')})`,
    clientIds,
  );
  return new Map(rows.map((row) => [row.client_id, row.name]));
}
