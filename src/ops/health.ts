import { pendingMigrations } from '../data/migrate.ts';
import type { Store } from '../data/engines/store.ts';

export type Readiness = { ready: true } | { ready: false; problems: string[] };

/** Ready means: not stopping, the Store answers, and every migration is applied. */
export async function readiness(store: Store, isShuttingDown: () => boolean): Promise<Readiness> {
  const problems: string[] = [];
  if (isShuttingDown()) problems.push('shutting down');
  try {
    await store.ping();
    const pending = await pendingMigrations(store);
    if (pending.length) problems.push(`migrations not applied: ${pending.join(', ')}`);
  } catch {
    problems.push('store unreachable');
  }
  return problems.length ? { ready: false, problems } : { ready: true };
}
