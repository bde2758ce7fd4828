/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`),
 * installed on demand and run against a real Gatehouse.
 *
 * The suite needs Node 22 or newer while Gatehouse supports Node 20, so both
 * the suite and a Node 22 binary come from the npm registry into `.tools/`
 * (gitignored); the suite runs as its own process on that Node, Gatehouse on
 * whatever Node runs the tests.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const SUITE_PACKAGE = '@modelcontextprotocol/conformance';
export const SUITE_VERSION = '0.2.0-alpha.12';
const NODE_MAJOR = 22;

const TOOLS_DIR = resolve('.tools/conformance');
const nodePackage = `node-${process.platform}-${process.arch}`;

export interface Suite {
  node: string;
  cli: string;
}

function installed(): Suite | undefined {
  const node = join(TOOLS_DIR, 'node_modules', nodePackage, 'bin', 'node');
  const cli = join(TOOLS_DIR, 'node_modules', SUITE_PACKAGE, 'dist', 'index.js');
  const manifest = join(TOOLS_DIR, 'node_modules', SUITE_PACKAGE, 'package.json');
  if (!existsSync(node) || !existsSync(cli)) return undefined;
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return version === SUITE_VERSION ? { node, cli } : undefined;
}

/** The suite and a Node to run it on, installed from the npm registry the first time. */
export async function ensureSuite(log: (line: string) => void = () => {}): Promise<Suite> {
  const ready = installed();
  if (ready) return ready;
  log(`installing ${SUITE_PACKAGE}@${SUITE_VERSION} and ${nodePackage}@${NODE_MAJOR} into ${TOOLS_DIR}`);
  mkdirSync(TOOLS_DIR, { recursive: true });
  writeFileSync(
    join(TOOLS_DIR, 'package.json'),
    `${JSON.stringify({ name: 'gatehouse-conformance-tools', private: true, dependencies: { [SUITE_PACKAGE]: SUITE_VERSION, [nodePackage]: `^${NODE_MAJOR}` } }, null, 2)}\n`,
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await promisify(execFile)(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: TOOLS_DIR, maxBuffer: 16 * 1024 * 1024 });
  const suite = installed();
  if (!suite) throw new Error(`installing the conformance suite into ${TOOLS_DIR} did not produce ${nodePackage}/bin/node and ${SUITE_PACKAGE}`);
  return suite;
}

export interface SuiteRun {
  code: number | null;
  output: string;
}

/**
 * Runs the suite's CLI with `args`. `onLine` sees each line of its output as
 * it comes (the authorization scenarios print a URL a person must visit);
 * `signal` stops it early.
 */
export function runSuite(suite: Suite, args: string[], onLine: (line: string) => void = () => {}, signal?: AbortSignal): Promise<SuiteRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(suite.node, [suite.cli, ...args], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    let output = '';
    let partial = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', reject);
    child.once('close', (code) => {
      if (partial) onLine(partial);
      resolvePromise({ code, output });
    });
  });
}
