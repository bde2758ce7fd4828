/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`, a
 * devDependency pinned to SUITE_VERSION), run as its own process on the same
 * Node as the tests, against a real Gatehouse. It needs Node 22 or newer,
 * which Gatehouse needs too.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const SUITE_PACKAGE = '@modelcontextprotocol/conformance';
export const SUITE_VERSION = '0.2.0-alpha.12';

export interface Suite {
  node: string;
  cli: string;
}

/** The suite from node_modules (`npm ci` installs it), checked to be the version the baselines were written for. */
export async function ensureSuite(log: (line: string) => void = () => {}): Promise<Suite> {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve(`${SUITE_PACKAGE}/package.json`);
  } catch {
    throw new Error(`${SUITE_PACKAGE} is not installed: run npm ci (it is a devDependency)`);
  }
  const { version, bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string; bin: Record<string, string> };
  if (version !== SUITE_VERSION) throw new Error(`${SUITE_PACKAGE} ${version} is installed, the baselines are for ${SUITE_VERSION}: run npm ci`);
  const cli = join(dirname(manifest), bin.conformance ?? 'dist/index.js');
  log(`${SUITE_PACKAGE}@${version} on Node ${process.versions.node}`);
  return { node: process.execPath, cli };
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
