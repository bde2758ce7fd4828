import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as StreamableV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MemoryOAuthProvider } from '../helpers/sdk-oauth.ts';
import { freePort } from '../helpers/server.ts';
import { UserAgent, type SignIn } from '../helpers/user-agent.ts';

/** The official MCP servers from node_modules, as upstreams: real servers nobody here wrote. */
export const EVERYTHING = resolve('node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const MEMORY = resolve('node_modules/@modelcontextprotocol/server-memory/dist/index.js');

export const everythingOverStdio = (extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [EVERYTHING, 'stdio'], ...extra });

/** server-memory keeps its graph in a file: `{user}` gives each person their own. */
export const memoryOverStdio = (dir: string) => ({ command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: join(dir, 'memory-{user}.jsonl') } });

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-gateway-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes an UPSTREAMS file and returns its path. */
export function upstreamsFile(upstreams: Record<string, unknown>): string {
  const path = join(tempDir(), 'upstreams.json');
  writeFileSync(path, JSON.stringify(upstreams, null, 2));
  return path;
}

export interface RunningUpstream {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** server-everything in its Streamable HTTP mode (or the old HTTP+SSE one) on a free loopback port. */
export async function startEverythingHttp(mode: 'streamableHttp' | 'sse' = 'streamableHttp'): Promise<RunningUpstream> {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, mode], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const guard = () => child.kill('SIGKILL');
  process.once('exit', guard);
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`;
  for (let attempt = 0; ; attempt++) {
    if (/listening|running on/i.test(output.join(''))) break;
    if (child.exitCode !== null || attempt > 200) throw new Error(`server-everything did not start:\n${output.join('')}`);
    await new Promise((done) => setTimeout(done, 50));
  }
  return {
    url,
    child,
    stop: async () => {
      process.removeListener('exit', guard);
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * An MCP SDK client (v1 or v2) that meets the 401 at `url`, runs the whole
 * OAuth flow on its own (discovery from the challenge, registration, sign-in
 * and consent as `person`, code exchange), then connects.
 */
export async function signedInClient(generation: 'v1' | 'v2', url: string, person: SignIn, options: { agent?: UserAgent; capabilities?: Record<string, unknown> } = {}) {
  const provider = new MemoryOAuthProvider(`http://127.0.0.1:${generation === 'v1' ? 49610 : 49611}/callback`, { client_name: `${generation} gateway test` });
  const agent = options.agent ?? new UserAgent();
  const capabilities = options.capabilities ?? {};
  if (generation === 'v1') {
    const first = new StreamableV1(new URL(url), { authProvider: provider as never });
    await new ClientV1({ name: 'v1-gateway', version: '1' }).connect(first).catch(() => {});
    if (!provider.authorizationUrl) throw new Error('the SDK was not sent to sign in');
    const callback = await agent.authorize(provider.authorizationUrl, person);
    await first.finishAuth(callback.searchParams.get('code')!);
    const client = new ClientV1({ name: 'v1-gateway', version: '1' }, { capabilities: capabilities as never });
    const transport = new StreamableV1(new URL(url), { authProvider: provider as never });
    await client.connect(transport);
    return { client, provider, transport, agent };
  }
  const first = new StreamableV2(new URL(url), { authProvider: provider as never });
  await new ClientV2({ name: 'v2-gateway', version: '2' }).connect(first).catch(() => {});
  if (!provider.authorizationUrl) throw new Error('the SDK was not sent to sign in');
  const callback = await agent.authorize(provider.authorizationUrl, person);
  await first.finishAuth(callback.searchParams);
  const client = new ClientV2({ name: 'v2-gateway', version: '2' }, { capabilities: capabilities as never });
  const transport = new StreamableV2(new URL(url), { authProvider: provider as never });
  await client.connect(transport);
  return { client, provider, transport, agent };
}
