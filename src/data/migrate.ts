import { readdirSync, readFileSync } from 'node:fs';
import { MIGRATIONS_DIR } from '../paths.ts';
import type { Store } from './engines/store.ts';


interface Migration {
  version: string;
  statements: string[];
}

function loadMigrations(dir: string): Migration[] {
  return readdirSync(dir)
    .filter((name) => /^\d+_.+\.sql$/.test(name))
    .sort()
    .map((name) => ({
      version: name.replace(/\.sql$/, ''),
      // Our migration files end each statement with `;` at a line end and never
      // put a semicolon inside a literal, so a plain split is exact.
      statements: readFileSync(`${dir}/${name}`, 'utf8')
        .replace(/^\s*--.*$/gm, '')
        .split(/;\s*(?:\n|$)/)
        .map((statement) => statement.trim())
        .filter(Boolean),
    }));
}

/**
 * Applies every migration the Store has not seen, each in its own transaction,
 * under a Store-wide lock so instances starting together migrate once.
 * Returns the versions applied.
 */
export async function migrate(store: Store, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = loadMigrations(dir);
  return store.exclusive('gatehouse:migrate', async () => {
    await store.run('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const applied = new Set((await store.all<{ version: string }>('SELECT version FROM schema_migrations')).map((row) => row.version));
    const done: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await store.transaction(async (tx) => {
        for (const statement of migration.statements) await tx.run(statement);
        await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [migration.version, Date.now()]);
      });
      done.push(migration.version);
    }
    return done;
  });
}

/** Migrations on disk that the Store has not applied (readiness reports these). */
export async function pendingMigrations(store: Store, dir = MIGRATIONS_DIR): Promise<string[]> {
  const rows = await store
    .all<{ version: string }>('SELECT version FROM schema_migrations')
    .catch(() => [] as { version: string }[]);
  const applied = new Set(rows.map((row) => row.version));
  return loadMigrations(dir)
    .map((migration) => migration.version)
    .filter((version) => !applied.has(version));
}
