import { Client, type ClientCapabilities, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { ProtocolError } from '@modelcontextprotocol/server';
import type { Principal } from '../domain/principal.ts';
import type { UpstreamDefinition } from './definition.ts';
import { ANY_RESULT, type Params } from './passthrough.ts';

/** Where an upstream's notifications and server-to-client requests go: the caller's MCP session. */
export interface CallerSink {
  notify(notification: { method: string; params?: Params }): Promise<void>;
  request(request: { method: string; params?: Params }): Promise<Params>;
}

/** One caller of one upstream: a Gatehouse session (or, on the stateless era, a person and client). */
export interface Caller {
  key: string;
  principal: Principal;
  /** What the caller's client can answer (sampling, elicitation, roots); declared upstream as ours. */
  capabilities: ClientCapabilities;
  sink?: CallerSink;
}

export interface CallOptions {
  signal?: AbortSignal;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
}


/**
 * One caller's session with one upstream: its own MCP client, its own child
 * process for a stdio server, so nothing one person does there reaches
 * another. Notifications and server-to-client requests from the upstream go
 * to the caller's session (`sink`).
 */
export class UpstreamConnection {
  closed = false;
  lastUsed = Date.now();
  principal: Principal;
  sink: CallerSink | undefined;
  private listed: { name: string }[] | undefined;
  private names: ReadonlySet<string> | undefined;
  readonly client: Client;
  transport: Transport | undefined;
  readonly progressRelays = new Map<string | number, NonNullable<CallOptions['onprogress']>>();
  private progressSeq = 0;

  /** The upstream's tools, as last listed (invalidated by list_changed). */
  get tools(): { name: string }[] | undefined {
    return this.listed;
  }

  set tools(tools: { name: string }[] | undefined) {
    this.listed = tools;
    this.names = undefined;
  }

  /** The listed tools' names, made into a set once per listing: every tools/call asks it. */
  toolNames(): ReadonlySet<string> {
    return (this.names ??= new Set((this.listed ?? []).map((tool) => tool.name)));
  }

  /** Sends a request upstream; progress it reports goes to `onprogress`. */
  async request(method: string, params: Params | undefined, options: { timeout: number; signal?: AbortSignal; onprogress?: CallOptions['onprogress'] }): Promise<Params> {
    let token: string | undefined;
    if (options.onprogress) {
      token = `gatehouse-${++this.progressSeq}`;
      this.progressRelays.set(token, options.onprogress);
      params = { ...(params ?? {}), _meta: { ...((params?._meta as Params | undefined) ?? {}), progressToken: token } };
    }
    try {
      return await this.client.request({ method, ...(params ? { params } : {}) } as never, ANY_RESULT, {
        timeout: options.timeout,
        maxTotalTimeout: options.timeout,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } finally {
      if (token) this.progressRelays.delete(token);
    }
  }

  constructor(
    readonly definition: UpstreamDefinition,
    caller: Caller,
    private readonly onClosed: (connection: UpstreamConnection, expected: boolean) => void,
  ) {
    this.principal = caller.principal;
    this.sink = caller.sink;
    const capabilities: ClientCapabilities = {};
    if (caller.capabilities.sampling) capabilities.sampling = caller.capabilities.sampling;
    if (caller.capabilities.elicitation) capabilities.elicitation = caller.capabilities.elicitation;
    if (caller.capabilities.roots) capabilities.roots = caller.capabilities.roots;
    this.client = new Client({ name: 'gatehouse-gateway', version: '1.0.0' }, { capabilities });
    this.client.fallbackNotificationHandler = async (notification) => {
      if (notification.method === 'notifications/tools/list_changed') this.tools = undefined;
      await this.sink?.notify(notification as never).catch(() => {});
    };
    // Progress is relayed by our own token: the SDK's own progress tracking drops an update that
    // arrives just before the result, and the caller must see every one.
    this.client.setNotificationHandler('notifications/progress', (notification) => {
      const { progressToken, ...progress } = notification.params;
      this.progressRelays.get(progressToken)?.(progress);
    });
    this.client.fallbackRequestHandler = async (request) => {
      if (!this.sink) throw new ProtocolError(-32601, `${request.method} cannot reach the client on this connection`);
      return (await this.sink.request({ method: request.method, ...(request.params ? { params: request.params as Params } : {}) })) as never;
    };
    this.client.onclose = () => {
      const expected = this.closed;
      this.closed = true;
      this.onClosed(this, expected);
    };
  }

  get pid(): number | null {
    return this.transport instanceof StdioClientTransport ? this.transport.pid : null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close().catch(() => {});
  }
}
