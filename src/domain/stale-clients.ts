import { staleClientIds } from '../data/client-index.ts';
import type { Store } from '../data/engines/store.ts';
import type { Access } from './access.ts';

/**
 * Deletes self-registered clients (DCR and CIMD) that hold no grant and have
 * not been used for `retentionDays`, through the same deletion as an
 * administrator's; returns how many went. Pre-registered clients never go.
 */
export async function deleteStaleClients(store: Store, access: Access, retentionDays: number, by: { actor: string; ip?: string }, batch = 500): Promise<number> {
  if (retentionDays <= 0) return 0;
  const cutoff = Date.now() - retentionDays * 86_400_000;
  let deleted = 0;
  for (;;) {
    const ids = await staleClientIds(store, cutoff, batch);
    for (const id of ids) await access.deleteClient(id, by);
    deleted += ids.length;
    if (ids.length < batch) return deleted;
  }
}
