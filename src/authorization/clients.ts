import type { Store } from '../store/store.ts';

export interface ClientSummary {
  clientId: string;
  name: string | null;
  kind: 'dcr' | 'cimd' | 'manual';
  redirectHosts: string[];
  createdAt: number;
}

interface ClientPayload {
  client_id: string;
  client_name?: string;
  redirect_uris?: string[];
  gatehouse_kind?: 'manual';
}

function hostsOf(redirectUris: string[] = []): string[] {
  return [...new Set(redirectUris.map((uri) => URL.parse(uri)?.host || uri))];
}

export async function listClients(store: Store): Promise<ClientSummary[]> {
  const rows = await store.all<{ payload: string; created_at: number }>(
    "SELECT payload, created_at FROM oidc_models WHERE model = 'Client' ORDER BY created_at DESC",
  );
  return rows.map((row) => {
    const payload = JSON.parse(row.payload) as ClientPayload;
    return {
      clientId: payload.client_id,
      name: payload.client_name ?? null,
      kind: payload.gatehouse_kind ?? 'dcr',
      redirectHosts: hostsOf(payload.redirect_uris),
      createdAt: row.created_at,
    };
  });
}
