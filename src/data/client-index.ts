import type Provider from 'oidc-provider';
import type { Logger } from '../ops/logging.ts';
import type { Store } from './engines/store.ts';
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

  async forget(clientId: string): Promise<void> {
    this.recentWrites.delete(`cimd:${clientId}`);
    await this.store.run('DELETE FROM client_index WHERE client_id = ?', [clientId]);
  }

  async find(clientId: string): Promise<ClientIndexRow | undefined> {
    return this.store.get<ClientIndexRow>('SELECT * FROM client_index WHERE client_id = ?', [clientId]);
  }

  /**
   * Indexes stored clients the index does not know (a database from before the
   * index existed, or a row lost in a crash). Cheap when there are none.
   */
  async backfill(): Promise<number> {
    const rows = await this.store.all<{ payload: string; created_at: number }>(
      `SELECT m.payload, m.created_at FROM oidc_models m
       WHERE m.model = 'Client' AND NOT EXISTS (SELECT 1 FROM client_index c WHERE c.client_id = m.id)`,
    );
    for (const row of rows) {
      const metadata = JSON.parse(row.payload) as ClientMetadata;
      await this.record(metadata, metadata.gatehouse_kind ?? 'dcr', { createdAt: Number(row.created_at) });
    }
    return rows.length;
  }

  /** Keeps the index in step with oidc-provider's registrations and the clients' use of it. */
  follow(provider: Provider): void {
    provider.on('registration_create.success', (_ctx, client) => {
      void this.record(client.metadata() as ClientMetadata, 'dcr').catch(this.failed('recording a registration'));
    });
    // The event carries the client as it was before the update; the stored one is current.
    provider.on('registration_update.success', (_ctx, client) => {
      void provider.Client.find(client.clientId)
        .then((updated) => updated && this.record(updated.metadata() as ClientMetadata, 'dcr'))
        .catch(this.failed('recording an update'));
    });
    provider.on('registration_delete.success', (_ctx, client) => {
      void this.forget(client.clientId).catch(this.failed('forgetting a deleted client'));
    });
    const used = (ctx: { oidc?: { client?: { clientId: string } } }) => {
      const clientId = ctx.oidc?.client?.clientId;
      if (clientId) void this.touch(clientId).catch(this.failed('recording use'));
    };
    provider.on('grant.success', used);
    provider.on('authorization.success', used);
  }

  private failed(what: string) {
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
