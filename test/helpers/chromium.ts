/**
 * Which Chromium the browser tests drive. `npm test` (scripts/test.ts) asks
 * once and hands the answer to every test process as CHROMIUM_PATH (and
 * LD_LIBRARY_PATH when the browser needs libraries of its own); a test run
 * straight through ava without it asks here itself.
 *
 * In this order:
 * 1. CHROMIUM_PATH, when set (it must name an executable file);
 * 2. on Linux x64, the Chromium inside the `@sparticuz/chromium` devDependency,
 *    unpacked once per version into `<temp folder>/gatehouse-chromium-<version>`;
 * 3. Playwright's own Chromium, if `npx playwright install chromium` put one there;
 * 4. a Chromium or Chrome on PATH (chromium, chromium-browser, google-chrome, …)
 *    or in its usual place on macOS.
 * None of these: `findChromium()` throws NO_CHROMIUM_MESSAGE.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export interface FoundChromium {
  path: string;
  /** Where it came from, in words. */
  source: string;
  /** Environment the browser needs (libraries shipped with it), to pass on to whatever launches it. */
  env: Record<string, string>;
}

export const NO_CHROMIUM_MESSAGE = [
  'The browser tests need Chromium and none was found.',
  'Gatehouse looked, in this order, for:',
  '  - CHROMIUM_PATH (the path of a Chromium or Chrome executable);',
  '  - the Chromium in the @sparticuz/chromium devDependency (Linux x64 only; `npm ci` installs it);',
  "  - Playwright's own Chromium (`npx playwright install chromium`);",
  '  - chromium, chromium-browser, google-chrome or google-chrome-stable on PATH (or Google Chrome / Chromium in /Applications on macOS).',
  'Install one of these (for example `npx playwright install chromium`, or your system\'s chromium package), or set CHROMIUM_PATH, then run the tests again.',
].join('\n');

const require = createRequire(import.meta.url);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Runs `<chromium> --version`; the error text when it cannot even start (missing libraries). */
function probe(path: string, env: Record<string, string> = {}): string | undefined {
  const run = spawnSync(path, ['--version'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  if (run.status === 0) return undefined;
  return (run.stderr || run.stdout || run.error?.message || `exit ${String(run.status)}`).trim();
}

function sparticuzRoot(): string {
  return dirname(dirname(require.resolve('@sparticuz/chromium')));
}

/** Unpacks @sparticuz/chromium's brotli files into `dir` (through a private temp folder, renamed when complete). */
async function unpackSparticuz(dir: string, files: string[]): Promise<void> {
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const { inflate } = (await import('@sparticuz/chromium')) as { inflate(file: string): Promise<string> };
  const binDir = join(sparticuzRoot(), 'bin');
  // The package inflates into os.tmpdir(), which follows TMPDIR.
  const savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  try {
    for (const file of files) await inflate(join(binDir, file));
  } finally {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
  }
  writeFileSync(join(staging, '.complete'), `${files.join('\n')}\n`);
  try {
    renameSync(staging, dir);
  } catch {
    // Another test run unpacked it at the same moment: use theirs.
    rmSync(staging, { recursive: true, force: true });
  }
}

async function fromSparticuz(): Promise<FoundChromium | undefined> {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  let version: string;
  try {
    // Its `exports` hide package.json: go up from build/index.js.
    const manifest = join(sparticuzRoot(), 'package.json');
    version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
  const dir = join(tmpdir(), `gatehouse-chromium-${version}-${process.arch}`);
  const path = join(dir, 'chromium');
  if (!existsSync(join(dir, '.complete'))) {
    rmSync(dir, { recursive: true, force: true });
    await unpackSparticuz(dir, ['chromium.br', 'fonts.tar.br', 'swiftshader.tar.br']);
  }
  const source = `@sparticuz/chromium ${version}, unpacked in ${dir}`;
  if (probe(path) === undefined) return { path, source, env: {} };
  // No system libraries it needs (NSS, expat): the package carries its own, built for Amazon Linux 2023.
  const libs = join(dir, 'al2023', 'lib');
  if (!existsSync(libs)) {
    const extra = `${dir}.al2023`;
    await unpackSparticuz(extra, ['al2023.tar.br']);
    if (existsSync(join(extra, 'al2023'))) renameSync(join(extra, 'al2023'), join(dir, 'al2023'));
    rmSync(extra, { recursive: true, force: true });
  }
  const env = { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  const failure = probe(path, env);
  if (failure === undefined) return { path, source: `${source}, with its own libraries`, env };
  throw new Error(`${source} does not start here:\n${failure}\n\n${NO_CHROMIUM_MESSAGE}`);
}

async function fromPlaywright(): Promise<FoundChromium | undefined> {
  try {
    const { chromium } = await import('playwright-core');
    const path = chromium.executablePath();
    if (path && isExecutable(path)) return { path, source: "Playwright's own Chromium", env: {} };
  } catch {
    // No browser registry entry for this platform.
  }
  return undefined;
}

function fromSystem(): FoundChromium | undefined {
  const names = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of names) {
      const path = join(dir, name);
      if (isExecutable(path)) return { path, source: `${path} (on PATH)`, env: {} };
    }
  }
  if (process.platform === 'darwin') {
    for (const path of ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium']) {
      if (isExecutable(path)) return { path, source: path, env: {} };
    }
  }
  return undefined;
}

/** The Chromium the browser tests use (see the order above); throws NO_CHROMIUM_MESSAGE when there is none. */
export async function findChromium(): Promise<FoundChromium> {
  const named = process.env.CHROMIUM_PATH;
  if (named) {
    if (!isExecutable(named)) throw new Error(`CHROMIUM_PATH is ${named}, which is not an executable file.\n\n${NO_CHROMIUM_MESSAGE}`);
    return { path: named, source: 'CHROMIUM_PATH', env: {} };
  }
  const found = (await fromSparticuz()) ?? (await fromPlaywright()) ?? fromSystem();
  if (!found) throw new Error(NO_CHROMIUM_MESSAGE);
  return found;
}

/**
 * The flags every browser test starts Chromium with: headless, no sandbox
 * (the tests run as root on CI), no GPU, and none of the background
 * connections to Google's services that a closed network refuses.
 */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
