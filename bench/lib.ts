import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../src/data/engines/open.ts';
import { findUserByEmail } from '../src/domain/accounts.ts';
import { issuePersonalToken } from '../src/domain/personal-tokens.ts';
import { discover, obtainCode, postForm, register } from '../test/helpers/oauth.ts';
import { UserAgent } from '../test/helpers/user-agent.ts';

export const ADMIN = { email: 'bench-admin@example.test', password: 'bench-admin-password' };

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function tempDatabase(): string {
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-bench-')), 'gatehouse.db')}`;
}

/** A role that may create databases (the tests' TEST_POSTGRES_URL works too). */
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh PostgreSQL database, and how to drop it. */
export async function tempPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gatehouse_bench_${randomBytes(5).toString('hex')}`;
  const onServer = async (sql: string) => {
    const client = new pg.Client(POSTGRES_URL);
    await client.connect();
    await client.query(sql).finally(() => client.end());
  };
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export interface Running {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

let built = false;

/**
 * Starts Gatehouse as `npm start` does (the built bundle), waits until /readyz
 * answers. `bundle`: another build (an earlier commit's), to compare in one run.
 */
export async function startGatehouse(env: Record<string, string>, port?: number, bundle = 'dist/gatehouse.js'): Promise<Running> {
  if (!built) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
    built = true;
  }
  const listen = port ?? (await freePort());
  const child = spawn(process.execPath, [bundle, 'serve'], {
    env: {
      ...process.env,
      PORT: String(listen),
      PUBLIC_URL: `http://127.0.0.1:${listen}`,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${listen}`;
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** An access token through the real flow: registration, sign-in, consent, code exchange. */
export async function accessToken(base: string, resource?: string): Promise<{ accessToken: string; refreshToken: string; clientId: string }> {
  const redirect = 'http://127.0.0.1:49999/callback';
  const as = await discover(base);
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'bench' });
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), { ...ADMIN, remember: true }, redirect, resource ? { resource } : {});
  const tokens = await postForm(`${base}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: client.client_id });
  return { accessToken: String(tokens.json.access_token), refreshToken: String(tokens.json.refresh_token), clientId: client.client_id };
}

/** A personal access token of the bench administrator, written straight to the database. */
export async function personalToken(databaseUrl: string): Promise<string> {
  const store = openStore(databaseUrl);
  try {
    const admin = await findUserByEmail(store, ADMIN.email);
    return (await issuePersonalToken(store, { ownerId: admin!.id, name: 'bench', scopes: ['mcp:tools'], expiresAt: null }, { actor: 'test' })).token;
  } finally {
    await store.close();
  }
}

/** The MCP SDK's own server (bench/baseline-server.mjs), no auth, on a port of its own. */
export async function startBaseline(script = 'bench/baseline-server.mjs'): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { url: `http://127.0.0.1:${port}`, child, stop: async () => void (child.kill('SIGTERM'), await exited) };
}

/** Resident memory of a process, from /proc (Linux). */
export function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

/** CPU time a process has used so far, user and system, in seconds (Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs `work` for each index with at most `concurrency` at once. */
export async function pool(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

export function table(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '';
  const headers = Object.keys(rows[0]!);
  const widths = headers.map((header) => Math.max(header.length, ...rows.map((row) => String(row[header] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map((row) => line(headers.map((h) => String(row[h] ?? ''))))].join('\n');
}
