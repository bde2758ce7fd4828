import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type Engine = 'sqlite' | 'postgres';

/** The engine this run tests: `TEST_DATABASE=postgres`, otherwise SQLite. */
export function testEngine(): Engine {
  const engine = process.env.TEST_DATABASE || 'sqlite';
  if (engine !== 'sqlite' && engine !== 'postgres') throw new Error(`TEST_DATABASE must be sqlite or postgres, not "${engine}"`);
  return engine;
}

/** A PostgreSQL role allowed to create databases; `.ci/run` makes sure it exists. */
export const POSTGRES_URL = process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  engine: Engine;
  url: string;
  /** Removes the database (PostgreSQL: even while something is still connected). Safe to call twice. */
  drop(): Promise<void>;
}

/** A fresh, empty database on the engine under test (or the one asked for). */
export async function createTestDatabase(engine: Engine = testEngine()): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
    return { engine, url: `sqlite:${join(dir, 'gatehouse.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  // Unique per process and call: test files run in parallel, and so may other checkouts on the same server.
  const name = `gatehouse_test_${process.pid}_${randomBytes(5).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return { engine, url: url.toString(), drop: () => (dropped ??= onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
}

async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`cannot reach PostgreSQL at ${POSTGRES_URL.replace(/:[^:@/]*@/, ':…@')} (${(error as Error).message}); start it or run .ci/run, or set TEST_POSTGRES_URL`);
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
