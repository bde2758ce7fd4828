import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR } from '../../src/paths.ts';
import { migrate } from '../../src/data/migrate.ts';
import { openStore } from '../../src/data/engines/open.ts';
import type { Store } from '../../src/data/engines/store.ts';

export type Engine = 'sqlite' | 'postgres';

/** The engine this run tests: `TEST_DATABASE=postgres`, otherwise SQLite. */
export function testEngine(): Engine {
  const engine = process.env.TEST_DATABASE || 'sqlite';
  if (engine !== 'sqlite' && engine !== 'postgres') throw new Error(`TEST_DATABASE must be sqlite or postgres, not "${engine}"`);
  return engine;
}

/**
 * A PostgreSQL role allowed to create databases: the server `npm test`
 * started for this run (scripts/test.ts), or the one TEST_POSTGRES_URL names.
 * A test process started without either (`npx ava --config
 * ava.postgres.config.mjs test/x.test.ts`, or a PostgreSQL test in the SQLite
 * half) starts a private server of its own the first time it needs one, and
 * it goes with the process.
 */
export async function postgresUrl(): Promise<string> {
  if (process.env.TEST_POSTGRES_URL) return process.env.TEST_POSTGRES_URL;
  privateServer ??= import('./postgres-server.ts').then(async ({ startPostgresServer }) => {
    const server = await startPostgresServer();
    process.env.TEST_POSTGRES_URL ??= server.url;
    return server.url;
  });
  privateServer.catch(() => (privateServer = undefined));
  return privateServer;
}
let privateServer: Promise<string> | undefined;

export interface TestDatabase {
  engine: Engine;
  url: string;
  /** Removes the database (PostgreSQL: even while something is still connected). Safe to call twice. */
  drop(): Promise<void>;
}

/**
 * A fresh database on the engine under test (or the one asked for), empty
 * unless `migrated` is asked for: then it already holds every migration in
 * migrations/ and nothing else (PostgreSQL copies it from a template database
 * migrated once per server, see `prepareTemplate`).
 */
export async function createTestDatabase(engine: Engine = testEngine(), options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
    const url = `sqlite:${join(dir, 'gatehouse.db')}`;
    if (options.migrated) {
      const store = openStore(url);
      await migrate(store).finally(() => store.close());
    }
    return { engine, url, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  // Unique per process and call: test files run in parallel, and so may other checkouts on the same server.
  const name = `gatehouse_test_${process.pid}_${randomBytes(5).toString('hex')}`;
  await onServer(options.migrated ? `CREATE DATABASE ${name} TEMPLATE ${await prepareTemplate()}` : `CREATE DATABASE ${name}`);
  const url = new URL(await postgresUrl());
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return { engine, url: url.toString(), drop: () => (dropped ??= onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
}

/** A migrated Store on a fresh database of the engine under test, for a test file's tests to share; `close` also drops the database. */
export async function openTestStore(): Promise<{ store: Store; close(): Promise<void> }> {
  const database = await createTestDatabase();
  const store = openStore(database.url);
  const close = async () => {
    await store.close();
    await database.drop();
  };
  await migrate(store).catch(async (error: unknown) => {
    await close();
    throw error;
  });
  return { store, close };
}

/** The template's name changes with the migrations, so a server shared by checkouts of different versions keeps one per version. */
export function templateName(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(MIGRATIONS_DIR).sort()) hash.update(name).update('\0').update(readFileSync(join(MIGRATIONS_DIR, name))).update('\0');
  return `gatehouse_template_${hash.digest('hex').slice(0, 12)}`;
}

let templateReady: Promise<string> | undefined;

/**
 * Makes sure the server at TEST_POSTGRES_URL (or `serverUrl`) has a database
 * with every migration applied, to copy test databases from; returns its
 * name. Built once per server and set of migrations, under an advisory lock
 * (test processes ask at the same moment), under another name first and
 * renamed when complete.
 */
export function prepareTemplate(serverUrl?: string): Promise<string> {
  templateReady ??= (async () => {
    const server = serverUrl ?? (await postgresUrl());
    const name = templateName();
    const client = new pg.Client({ connectionString: server, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      const exists = async () => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
      if (await exists()) return name;
      await client.query("SELECT pg_advisory_lock(hashtext('gatehouse test template'))");
      try {
        if (await exists()) return name;
        const building = `${name}_building`;
        await client.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
        await client.query(`CREATE DATABASE ${building}`);
        const url = new URL(server);
        url.pathname = `/${building}`;
        // migrate() holds one connection for its lock and works on another.
        const store = openStore(url.toString(), { poolSize: 2 });
        await migrate(store).finally(() => store.close());
        await client.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
        await client.query(`ALTER DATABASE ${name} WITH IS_TEMPLATE true`);
        return name;
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext('gatehouse test template'))");
      }
    } finally {
      await client.end();
    }
  })();
  templateReady.catch(() => (templateReady = undefined));
  return templateReady;
}

async function onServer(sql: string): Promise<void> {
  const server = await postgresUrl();
  const client = new pg.Client({ connectionString: server, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`cannot reach PostgreSQL at TEST_POSTGRES_URL=${server.replace(/:[^:@/]*@/, ':…@')} (${(error as Error).message})`);
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
