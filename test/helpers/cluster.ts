import { createUser } from '../../src/domain/accounts.ts';
import { openStore } from '../../src/data/engines/open.ts';
import type { Store } from '../../src/data/engines/store.ts';
import { startBalancer, type Balancer } from './balancer.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { ALICE, BOB, freePort, spawnGatehouse, type GatehouseProcess } from './server.ts';

/**
 * Two Gatehouse processes, A and B, on one fresh PostgreSQL database behind a
 * loopback balancer whose URL is both instances' PUBLIC_URL (so one issuer
 * and one resource), with alice and bob registered. Requests to `a.url` or
 * `b.url` go straight to one instance; `balancer.url` goes to either.
 */
export interface Pair {
  a: GatehouseProcess;
  b: GatehouseProcess;
  balancer: Balancer;
  database: TestDatabase;
  /** The shared database, for looking at rows from the test. */
  store: Store;
  issuer: string;
  url: string;
  resource: string;
  /** Direct /mcp URLs of each instance. */
  mcpA: string;
  mcpB: string;
  close(): Promise<void>;
}

export async function startPair(env: Record<string, string> = {}): Promise<Pair> {
  const database = await createTestDatabase('postgres');
  const balancer = await startBalancer();
  const shared = { PUBLIC_URL: balancer.url, DATABASE_URL: database.url, TOOLS_MODULES: 'test/fixtures/test-tools.ts', LOG_LEVEL: 'warn', ...env };
  // Started together: migrations, keys and the first administrator must come out once.
  const [a, b] = await Promise.all([spawnGatehouse({ port: await freePort(), env: shared }), spawnGatehouse({ port: await freePort(), env: shared })]);
  balancer.targets.push(a.url, b.url);
  const store = openStore(database.url, { poolSize: 3 });
  for (const person of [ALICE, BOB]) await createUser(store, person);
  const pair: Pair = {
    a,
    b,
    balancer,
    database,
    store,
    issuer: balancer.url,
    url: balancer.url,
    resource: `${balancer.url}/mcp`,
    mcpA: `${a.url}/mcp`,
    mcpB: `${b.url}/mcp`,
    async close() {
      // Read through `pair`: a test may have replaced an instance (a restart).
      await Promise.all([pair.a.stop(), pair.b.stop()]);
      await balancer.close();
      await store.close();
      await database.drop();
    },
  };
  return pair;
}
