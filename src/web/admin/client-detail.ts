import { activityOf, findIndexedClient, toClientSummary, type ClientSummary } from '../../data/client-index.ts';
import type { Queryable } from '../../data/engines/store.ts';
import { grantsWhere, storedClient, type GrantRow } from '../../data/oidc-models.ts';

export interface ClientDetail {
  summary: ClientSummary;
  /** The client's metadata as stored (or, for CIMD, as last fetched), without its secret. */
  metadata: Record<string, unknown>;
  hasSecret: boolean;
  grants: GrantRow[];
  sessions: number;
}

/** Everything the client's admin page shows, or undefined when no such client is known. */
export async function clientDetail(db: Queryable, clientId: string): Promise<ClientDetail | undefined> {
  const indexed = await findIndexedClient(db, clientId);
  const stored = await storedClient(db, clientId);
  const document = stored?.metadata ?? (indexed?.metadata ? (JSON.parse(indexed.metadata) as Record<string, unknown>) : undefined);
  if (!document) return undefined;
  const { client_secret: secret, gatehouse_kind: kind, ...metadata } = document;
  const summary = indexed
    ? toClientSummary(indexed)
    : toClientSummary({
        client_id: clientId,
        name: typeof metadata.client_name === 'string' ? metadata.client_name : null,
        kind: kind === 'manual' ? 'manual' : 'dcr',
        redirect_hosts: '',
        metadata: null,
        created_at: stored?.createdAt ?? 0,
        last_used_at: null,
      });
  const activity = await activityOf(db, [clientId]);
  return {
    summary,
    metadata,
    hasSecret: typeof secret === 'string' && secret.length > 0,
    grants: await grantsWhere(db, 'client_id', clientId),
    sessions: activity.get(clientId)!.sessions,
  };
}
