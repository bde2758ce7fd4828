import { resolve } from 'node:path';
import { PostgresStore, type PostgresOptions } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

/** `sqlite:/path`, `sqlite::memory:`, a bare path, or `postgres://…`. */
export function openStore(databaseUrl: string, options: PostgresOptions = {}): Store {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return new PostgresStore(databaseUrl, options);
  const path = databaseUrl.replace(/^sqlite:(\/\/)?/, '');
  return new SqliteStore(path === ':memory:' ? path : resolve(path));
}
