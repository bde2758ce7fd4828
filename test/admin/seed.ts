import { StoreAdapter } from '../../src/oauth/adapter.ts';
import { ClientIndex, type ClientMetadata } from '../../src/data/client-index.ts';
import type { Store } from '../../src/data/engines/store.ts';

/** Stores clients the way registration does (an oidc_models Client row and its index row), with given creation times. */
export async function seedClients(store: Store, count: number, make: (i: number) => Partial<ClientMetadata> & { createdAt?: number } = () => ({})): Promise<string[]> {
  const adapter = new StoreAdapter('Client', store);
  const index = new ClientIndex(store);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { createdAt, ...extra } = make(i);
    const metadata: ClientMetadata & Record<string, unknown> = {
      client_id: `seeded-${i}-${Math.random().toString(36).slice(2, 8)}`,
      client_name: `Seeded client ${i}`,
      redirect_uris: [`https://app${i % 7}.example.com/callback`],
      token_endpoint_auth_method: 'none',
      ...extra,
    };
    await adapter.upsert(metadata.client_id, metadata as never);
    await index.record(metadata, metadata.gatehouse_kind ?? 'dcr', createdAt === undefined ? {} : { createdAt });
    ids.push(metadata.client_id);
  }
  return ids;
}
