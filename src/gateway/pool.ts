import { SdkError, SdkErrorCode, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { ProtocolError } from '@modelcontextprotocol/server';
import type { Principal } from '../domain/principal.ts';
import type { Logger } from '../ops/logging.ts';
import { isStdio, type HttpUpstream, type StdioUpstream, type UpstreamDefinition } from './definition.ts';
import { IDENTITY_META_KEY, type IdentitySigner } from './identity.ts';
import { UpstreamConnection, type CallOptions, type Caller } from './connection.ts';
import { Limiter } from './limiter.ts';
import { UpstreamFetch } from './upstream-fetch.ts';
import type { Params } from './passthrough.ts';

/** The JSON-RPC error code of a call the gateway could not complete (upstream down, timed out, busy). */
export const UPSTREAM_ERROR = -32000;

export interface UpstreamHealth {
  state: 'unknown' | 'up' | 'down';
  lastError?: string;
  lastErrorAt?: number;
  lastOkAt?: number;
  connections: number;
  inFlight: number;
  /** The tool names the upstream offered last time anyone listed them (before policy). */
  tools?: string[];
}

/** Crash back-off for stdio servers: 250 ms, doubling, at most 30 s. */
function backoffMs(failures: number): number {
  return Math.min(30_000, 250 * 2 ** Math.max(0, failures - 1));
}

interface UpstreamState {
  limiter: Limiter;
  failures: number;
  retryAt: number;
  health: UpstreamHealth;
  connections: Map<string, Promise<UpstreamConnection>>;
}

/**
 * Every upstream session this process holds, per upstream and caller. A
 * stdio server starts on first use and, after a crash, the next call starts
 * it again (after a back-off that grows with repeated failures). Calls to one
 * upstream are bounded in number and in time; a call that cannot be
 * completed is a JSON-RPC error, never a hang.
 */
export class UpstreamPool {
  private readonly states = new Map<string, UpstreamState>();
  private readonly byCaller = new Map<string, Set<string>>();
  /** What each session's opening came to, once it did (so a call need not await it again). */
  private readonly opened = new WeakMap<Promise<UpstreamConnection>, UpstreamConnection>();
  /** Told of each call's upstream, outcome and duration (for /metrics). */
  private onDuration: (upstream: string, outcome: string, seconds: number) => void = () => {};

  private readonly sweeper: ReturnType<typeof setInterval>;
  /** Every HTTP upstream request goes out through here (kept-alive sockets, no web streams for JSON answers). */
  private readonly http = new UpstreamFetch();

  constructor(private readonly options: { signer: IdentitySigner; issuer: string; logger: Logger; idleMs: number }) {
    // Stateless (2026-07-28) callers never say they are done: their upstream sessions end when idle.
    this.sweeper = setInterval(() => void this.closeIdle(), Math.min(60_000, Math.max(1000, options.idleMs / 4)));
    this.sweeper.unref();
  }

  private async closeIdle(): Promise<void> {
    const cutoff = Date.now() - this.options.idleMs;
    for (const state of this.states.values()) {
      for (const [key, pending] of state.connections) {
        const connection = await pending.catch(() => undefined);
        if (connection && connection.lastUsed < cutoff && state.connections.get(key) === pending) {
          state.connections.delete(key);
          void connection.close();
        }
      }
    }
  }

  observe(listener: (upstream: string, outcome: string, seconds: number) => void): void {
    this.onDuration = listener;
  }

  health(name: string): UpstreamHealth {
    const state = this.states.get(name);
    if (!state) return { state: 'unknown', connections: 0, inFlight: 0 };
    return { ...state.health, connections: state.connections.size, inFlight: state.limiter.inFlight };
  }

  /** The child process ids of a stdio upstream (operations and tests). */
  async pids(name: string): Promise<number[]> {
    const state = this.states.get(name);
    if (!state) return [];
    const connections = await Promise.all([...state.connections.values()].map((pending) => pending.catch(() => undefined)));
    return connections.map((connection) => connection?.pid).filter((pid): pid is number => typeof pid === 'number');
  }

  /** An open session brought up to date with who calls through it now; undefined when it cannot serve this caller. */
  private reuse(existing: UpstreamConnection | undefined, definition: UpstreamDefinition, caller: Caller): UpstreamConnection | undefined {
    if (!existing || existing.closed || existing.definition !== definition) return undefined;
    existing.principal = caller.principal;
    existing.lastUsed = Date.now();
    if (caller.sink) existing.sink = caller.sink;
    return existing;
  }

  /** The caller's session with this upstream, opened (and the server started) if it has none. */
  async connectionFor(definition: UpstreamDefinition, caller: Caller): Promise<UpstreamConnection> {
    const state = this.stateOf(definition);
    const pending = state.connections.get(caller.key);
    // Every call after the first finds the opening settled: no promise to wait on.
    const open = this.reuse(pending && this.opened.get(pending), definition, caller);
    if (open) return open;
    if (pending) {
      const existing = await pending.catch(() => undefined);
      const reused = this.reuse(existing, definition, caller);
      if (reused) return reused;
      if (state.connections.get(caller.key) === pending) state.connections.delete(caller.key);
      if (existing && !existing.closed) void existing.close();
    }
    const opening = this.open(definition, caller, state);
    state.connections.set(caller.key, opening);
    void opening.then(
      (connection) => this.opened.set(opening, connection),
      () => {
        if (state.connections.get(caller.key) === opening) state.connections.delete(caller.key);
      },
    );
    let callers = this.byCaller.get(caller.key);
    if (!callers) this.byCaller.set(caller.key, (callers = new Set()));
    callers.add(definition.name);
    return opening;
  }

  /** Sends one request upstream for this caller, within the upstream's concurrency and time limits. */
  async call(definition: UpstreamDefinition, caller: Caller, method: string, params: Params | undefined, options: CallOptions = {}): Promise<Params> {
    const { settings, name } = definition;
    const state = this.stateOf(definition);
    const started = performance.now();
    let outcome = 'ok';
    try {
      return await state.limiter.run(
        async () => {
          const connection = await this.connectionFor(definition, caller);
          const forwarded = isStdio(settings) ? await this.withIdentity(definition, caller.principal, params) : params;
          return await connection.request(method, forwarded, {
            timeout: settings.timeoutMs,
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.onprogress ? { onprogress: options.onprogress } : {}),
          });
        },
        settings.timeoutMs,
        options.signal,
      );
    } catch (error) {
      if (error instanceof ProtocolError && !(error instanceof SdkError)) {
        // The upstream answered with an error of its own: it is up, and its answer goes back as it is.
        outcome = 'error';
        throw error;
      }
      // However the SDK words it, a call whose caller went away or cancelled was cancelled.
      outcome = options.signal?.aborted ? 'cancelled' : this.classify(error);
      const detail = String((error as Error)?.message ?? error).slice(0, 300);
      if (outcome !== 'cancelled') {
        this.markDown(state, `${outcome}: ${detail}`);
        this.options.logger.warn({ upstream: name, method, outcome, err: detail }, 'upstream call failed');
      }
      // The caller learns what happened, not the upstream's address or its internals.
      throw new ProtocolError(UPSTREAM_ERROR, this.describe(name, outcome));
    } finally {
      if (outcome === 'ok' || outcome === 'error') this.markUp(state);
      this.onDuration(name, outcome, (performance.now() - started) / 1000);
    }
  }

  /** A tools/list answer went by: remember it for the "is there such a tool" check and the admin page. */
  sawTools(name: string, callerKey: string, tools: { name: string }[], complete: boolean): void {
    const state = this.states.get(name);
    if (!state) return;
    state.health.tools = tools.map((tool) => tool.name);
    if (!complete) return;
    void state.connections.get(callerKey)?.then((connection) => {
      connection.tools = tools;
    }, () => {});
  }

  /** The names of the tools the upstream offers this caller (listed once per session, again after list_changed). */
  async toolNames(definition: UpstreamDefinition, caller: Caller): Promise<ReadonlySet<string>> {
    const connection = await this.connectionFor(definition, caller).catch(() => undefined);
    if (connection?.tools) return connection.toolNames();
    const tools: { name: string }[] = [];
    let cursor: unknown;
    for (let page = 0; page < 20; page++) {
      const result = await this.call(definition, caller, 'tools/list', cursor === undefined ? undefined : { cursor });
      tools.push(...((result.tools as { name: string }[] | undefined) ?? []));
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    const held = await this.connectionFor(definition, caller);
    held.tools = tools;
    const state = this.states.get(definition.name);
    if (state) state.health.tools = tools.map((tool) => tool.name);
    return held.toolNames();
  }

  /** A notification from the caller (roots changed) for its session with this upstream, if it has one. */
  async notify(definition: UpstreamDefinition, callerKey: string, notification: { method: string; params?: Params }): Promise<void> {
    const pending = this.states.get(definition.name)?.connections.get(callerKey);
    const connection = await pending?.catch(() => undefined);
    if (connection && !connection.closed) await connection.client.notification(notification as never).catch(() => {});
  }

  /** The caller's session ended (DELETE, idle, shutdown): its upstream sessions end and stdio children exit. */
  async release(callerKey: string): Promise<void> {
    const names = this.byCaller.get(callerKey);
    if (!names) return;
    this.byCaller.delete(callerKey);
    await Promise.all(
      [...names].map(async (name) => {
        const state = this.states.get(name);
        const pending = state?.connections.get(callerKey);
        if (!state || !pending) return;
        state.connections.delete(callerKey);
        await (await pending.catch(() => undefined))?.close();
      }),
    );
  }

  /** An upstream was changed or disabled: its sessions end; the next call opens them with the new definition. */
  async closeUpstream(name: string): Promise<void> {
    const state = this.states.get(name);
    if (!state) return;
    this.states.delete(name);
    await Promise.all([...state.connections.values()].map(async (pending) => (await pending.catch(() => undefined))?.close()));
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.states.keys()].map((name) => this.closeUpstream(name)));
    this.byCaller.clear();
    this.http.close();
  }

  private stateOf(definition: UpstreamDefinition): UpstreamState {
    let state = this.states.get(definition.name);
    if (!state) {
      state = { limiter: new Limiter(definition.settings.concurrency), failures: 0, retryAt: 0, health: { state: 'unknown', connections: 0, inFlight: 0 }, connections: new Map() };
      this.states.set(definition.name, state);
    }
    return state;
  }

  private async open(definition: UpstreamDefinition, caller: Caller, state: UpstreamState): Promise<UpstreamConnection> {
    const { settings } = definition;
    const wait = state.retryAt - Date.now();
    if (wait > 0) {
      // Restarting after a crash: wait out the back-off if the call's time allows, else say so.
      if (wait >= settings.timeoutMs) throw new Error(`restarting after a failure; retry in ${Math.ceil(wait / 1000)} s`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const onClosed = (connection: UpstreamConnection, expected: boolean) => {
      if (!expected && isStdio(settings)) {
        state.failures++;
        state.retryAt = Date.now() + backoffMs(state.failures);
        this.markDown(state, 'the server process exited');
        this.options.logger.warn({ upstream: definition.name, failures: state.failures }, 'stdio upstream exited; it restarts on the next call');
      }
      for (const [key, pending] of state.connections) {
        void pending.then((held) => {
          if (held === connection && state.connections.get(key) === pending) state.connections.delete(key);
        }, () => {});
      }
    };
    if (isStdio(settings)) return this.connectStdio(definition, settings, caller, onClosed);
    return this.connectHttp(definition, settings, caller, onClosed);
  }

  private async connectStdio(definition: UpstreamDefinition, settings: StdioUpstream, caller: Caller, onClosed: (c: UpstreamConnection, expected: boolean) => void) {
    const connection = new UpstreamConnection(definition, caller, onClosed);
    // `{user}` in args or env gives each person a place of their own (a data file, a profile).
    const personal = (value: string) => value.replaceAll('{user}', caller.principal.userId);
    const transport = new StdioClientTransport({
      command: settings.command,
      args: settings.args.map(personal),
      env: { ...getDefaultEnvironment(), ...Object.fromEntries(Object.entries(settings.env).map(([key, value]) => [key, personal(value)])) },
      ...(settings.cwd ? { cwd: settings.cwd } : {}),
      stderr: 'pipe',
    });
    connection.transport = transport;
    transport.stderr?.on('data', (chunk: Buffer) => this.options.logger.debug({ upstream: definition.name, stderr: chunk.toString().slice(0, 500) }, 'upstream stderr'));
    await connection.client.connect(transport, { timeout: settings.timeoutMs });
    return connection;
  }

  private async connectHttp(definition: UpstreamDefinition, settings: HttpUpstream, caller: Caller, onClosed: (c: UpstreamConnection, expected: boolean) => void) {
    const audience = settings.url;
    const url = new URL(settings.url);
    const attempt = async (kind: 'streamable' | 'sse') => {
      const connection = new UpstreamConnection(definition, caller, onClosed);
      // Each request carries a fresh identity for whoever the session acts for now; never the caller's token.
      const fetchWithIdentity = async (input: string | URL, init?: RequestInit) => {
        const identity = await this.options.signer.identityFor(connection.principal, audience);
        return this.http.fetch(input, init, { authorization: `Bearer ${identity.token}` });
      };
      const options = { fetch: fetchWithIdentity, requestInit: { headers: settings.headers } };
      const transport = kind === 'streamable' ? new StreamableHTTPClientTransport(url, options) : new SSEClientTransport(url, options);
      connection.transport = transport;
      await connection.client.connect(transport, { timeout: settings.timeoutMs });
      return connection;
    };
    if (settings.transport === 'sse') return attempt('sse');
    try {
      return await attempt('streamable');
    } catch (error) {
      // A server of the old HTTP+SSE era answers a POST with 4xx: try its transport before giving up.
      const status = (error as { data?: { status?: unknown } }).data?.status ?? Number(/\(HTTP (\d{3})\)/.exec(String((error as Error).message))?.[1]);
      if (settings.transport === undefined && [400, 404, 405].includes(Number(status))) return attempt('sse');
      throw error;
    }
  }

  /** A stdio upstream learns who is calling from each request's `_meta`. */
  private async withIdentity(definition: UpstreamDefinition, principal: Principal, params: Params | undefined): Promise<Params> {
    const identity = await this.options.signer.identityFor(principal, `${this.options.issuer}/mcp/${definition.name}`);
    const meta = { ...((params?._meta as Params | undefined) ?? {}), [IDENTITY_META_KEY]: { token: identity.token, sub: identity.sub, email: identity.email, client_id: identity.client_id, scope: identity.scope } };
    return { ...(params ?? {}), _meta: meta };
  }

  private classify(error: unknown): string {
    const message = String((error as Error)?.message ?? error);
    if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) return 'timeout';
    return message === 'busy' ? 'busy' : 'unavailable';
  }

  private describe(name: string, outcome: string): string {
    switch (outcome) {
      case 'timeout':
        return `upstream "${name}" did not answer in time`;
      case 'busy':
        return `upstream "${name}" is busy; try again`;
      case 'cancelled':
        return 'cancelled';
      default:
        return `upstream "${name}" is unavailable; try again later`;
    }
  }

  private markUp(state: UpstreamState): void {
    state.failures = 0;
    state.retryAt = 0;
    state.health.state = 'up';
    state.health.lastOkAt = Date.now();
  }

  private markDown(state: UpstreamState, message: string): void {
    state.health.state = 'down';
    state.health.lastError = message;
    state.health.lastErrorAt = Date.now();
  }
}
