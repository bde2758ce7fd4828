import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createGatehouse, type Gatehouse } from '../../src/server.ts';
import { createUser } from '../../src/domain/accounts.ts';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createLogger } from '../../src/ops/logging.ts';
import { createTestDatabase, testEngine, type TestDatabase } from './database.ts';

export { createTestDatabase, testEngine, type TestDatabase } from './database.ts';

export const ADMIN = { email: 'admin@example.test', password: 'correct horse battery staple' };
export const ALICE = { email: 'alice@example.test', password: 'alice-password-123' };
export const BOB = { email: 'bob@example.test', password: 'bob-password-12345' };

export interface RunningGatehouse {
  url: string;
  issuer: string;
  resource: string;
  /** The database this Gatehouse runs on (for the CLI and for SQL a test runs on its own database). */
  databaseUrl: string;
  config: Config;
  gatehouse: Gatehouse;
  /** Everything the server logged, one JSON line each. */
  logs: string[];
  close(): Promise<void>;
}

/** A path for an SQLite file of the test's own; `createTestDatabase()` follows the engine under test instead. */
export function tempDbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  // The test that asked for it owns the file; the folder goes when the test process ends.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'gatehouse.db');
}

/** An SQLite URL for that path (kept for tests written before the engine was a parameter). */
export function testDatabaseUrl(dbPath = tempDbPath()): string {
  return `sqlite:${dbPath}`;
}

/**
 * The database a Gatehouse started by these helpers runs on: `DATABASE_URL`,
 * `database` or `dbPath` (an SQLite file) when the test brings its own (to
 * restart on it, or to share it between instances), otherwise a fresh one on
 * the engine under test (TEST_DATABASE), dropped when that Gatehouse stops
 * (on PostgreSQL it already holds the migrations; tests of migrating itself
 * use `createTestDatabase()`, which is empty).
 */
async function databaseFor(options: { env?: Record<string, string>; database?: TestDatabase; dbPath?: string }): Promise<{ url: string; drop(): Promise<void> }> {
  if (options.env?.DATABASE_URL) return { url: options.env.DATABASE_URL, drop: async () => {} };
  if (options.database) return { url: options.database.url, drop: async () => {} };
  if (options.dbPath) return { url: testDatabaseUrl(options.dbPath), drop: async () => {} };
  // Gatehouse migrates at start either way. On PostgreSQL a copy of a migrated
  // template is quicker than creating and migrating a database each time; on
  // SQLite the Gatehouse migrates its new file itself, as before.
  return createTestDatabase(testEngine(), { migrated: testEngine() === 'postgres' });
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * A real Gatehouse on a loopback port, in this process, on its own database
 * (see `databaseFor`), with alice, bob and an administrator already registered.
 */
export async function startGatehouse(
  options: { env?: Record<string, string>; database?: TestDatabase; dbPath?: string; port?: number; users?: boolean } = {},
): Promise<RunningGatehouse> {
  const database = await databaseFor(options);
  const server = createServer();
  const port = await listen(server, options.port);
  const config = loadConfig({
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: database.url,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'info',
    ...options.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const gatehouse = await createGatehouse(config, { logger: createLogger(config.logLevel, sink) });
  if (options.users !== false) {
    for (const person of [ALICE, BOB]) {
      await createUser(gatehouse.store, person).catch(() => {});
    }
  }
  gatehouse.attach(server);
  return {
    url: config.issuer,
    issuer: config.issuer,
    resource: config.resource,
    databaseUrl: database.url,
    config,
    gatehouse,
    logs,
    close: () => gatehouse.close().finally(() => database.drop()),
  };
}

export interface GatehouseProcess {
  url: string;
  child: ChildProcess;
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Gatehouse as its own process, `serve` on its own database (see
 * `databaseFor`). `node`: what runs before `serve`, the sources by default;
 * `['dist/gatehouse.js']` is the bundle `npm start` runs (build it first).
 */
export async function spawnGatehouse(options: { port: number; env?: Record<string, string>; database?: TestDatabase; node?: string[] }): Promise<GatehouseProcess> {
  const database = await databaseFor(options);
  const child = spawn(process.execPath, [...(options.node ?? ['--import', 'tsx', 'src/main.ts']), 'serve'], {
    env: {
      ...process.env,
      PORT: String(options.port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${options.port}`,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ...options.env,
      DATABASE_URL: database.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Never outlive the test process, even when it ends without stopping us (a timeout).
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  child.once('exit', () => process.removeListener('exit', orphanGuard));
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))).then(async (code) => {
    // A database this helper created goes with the process; failing to drop one must not fail the test.
    await database.drop().catch(() => {});
    return code;
  });
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await exited;
      throw new Error(`Gatehouse exited with ${child.exitCode}:\n${output.join('')}`);
    }
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`Gatehouse did not start:\n${output.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A free loopback port (for processes that must keep a port across restarts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
