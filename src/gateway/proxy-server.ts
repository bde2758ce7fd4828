import { ProtocolError, Server, type ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { principalOf } from '../mcp/auth-info.ts';
import type { UpstreamCatalog } from './catalog.ts';
import type { UpstreamDefinition } from './definition.ts';
import { toolVisible } from './policy.ts';
import type { Caller, CallerSink } from './connection.ts';
import type { UpstreamPool } from './pool.ts';
import { ANY_RESULT, type Params } from './passthrough.ts';


export interface ProxyServerOptions {
  upstream: string;
  era: 'legacy' | 'modern';
  /** The Gatehouse session this server serves (legacy era); its upstream sessions end with it. */
  sessionKey?: string;
}

/** Requests that go upstream as they are (after the policy, for tools). */
const FORWARDED = [
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
] as const;

/**
 * An upstream's own tasks (the 2025-11-25 task surface, which server-everything
 * offers) pass through as they are: they live in the caller's own upstream
 * session, so nobody else can reach them.
 */
const TASK_METHODS = ['tasks/get', 'tasks/result', 'tasks/list', 'tasks/cancel'] as const;
const ANY_PARAMS = z.looseObject({});


function notFound(tool: string): ProtocolError {
  // Exactly what an MCP server answers for a tool it does not have, so a hidden tool cannot be told apart.
  return new ProtocolError(-32602, `Tool ${tool} not found`);
}

/**
 * The MCP server a caller talks to at /mcp/<name>: every request goes to the
 * caller's own session with the upstream, through the policy; what the
 * upstream sends back (notifications, progress, sampling, elicitation, roots)
 * comes to the caller. One per legacy session, one per modern request.
 */
export function createProxyServer(deps: { catalog: UpstreamCatalog; pool: UpstreamPool; version: string }, options: ProxyServerOptions): Server {
  const server = new Server(
    { name: `gatehouse/${options.upstream}`, title: `Gatehouse: ${options.upstream}`, version: deps.version },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {},
        tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
      },
    },
  );
  const inFlight: ServerContext[] = [];

  // Server-to-client requests ride on the caller's request in flight when there is one (its response stream).
  const sink: CallerSink | undefined =
    options.era === 'legacy'
      ? {
          notify: (notification) => server.notification(notification as never),
          request: async (request) => {
            const related = inFlight.at(-1);
            return related ? related.mcpReq.send(request as never, ANY_RESULT) : server.request(request as never, ANY_RESULT);
          },
        }
      : undefined;

  function definition(): UpstreamDefinition {
    const found = deps.catalog.get(options.upstream);
    if (!found) throw new ProtocolError(-32000, `upstream "${options.upstream}" is not available`);
    return found;
  }

  function callerOf(ctx: ServerContext): Caller {
    const principal = principalOf(ctx.http?.authInfo);
    if (!principal) throw new ProtocolError(-32000, 'no caller');
    return {
      key: options.sessionKey ? `s:${options.sessionKey}` : `p:${principal.userId}:${principal.clientId}`,
      principal,
      capabilities: options.era === 'legacy' ? (server.getClientCapabilities() ?? {}) : {},
      ...(sink ? { sink } : {}),
    };
  }

  /** Sends one request upstream for this caller; progress comes back under the caller's own token. */
  async function forward(method: string, params: Params | undefined, ctx: ServerContext, caller = callerOf(ctx)): Promise<Params> {
    const upstream = definition();
    const { _meta, ...rest } = params ?? {};
    const { progressToken, ...meta } = (_meta as Params | undefined) ?? {};
    const forwarded = Object.keys(meta).length ? { ...rest, _meta: meta } : rest;
    // Progress relayed before the result is answered, so the last update is not lost behind it.
    const relayed: Promise<void>[] = [];
    const onprogress =
      progressToken === undefined
        ? undefined
        : (progress: { progress: number; total?: number; message?: string }) =>
            void relayed.push(ctx.mcpReq.notify({ method: 'notifications/progress', params: { ...progress, progressToken } } as never).catch(() => {}));
    inFlight.push(ctx);
    try {
      const result = await deps.pool.call(upstream, caller, method, forwarded, { signal: ctx.mcpReq.signal, ...(onprogress ? { onprogress } : {}) });
      await Promise.all(relayed);
      return result;
    } finally {
      inFlight.splice(inFlight.indexOf(ctx), 1);
    }
  }

  server.setRequestHandler('tools/list', async (request, ctx) => {
    const upstream = definition();
    const result = await forward('tools/list', request.params as Params | undefined, ctx);
    const tools = (result.tools as { name: string }[] | undefined) ?? [];
    deps.pool.sawTools(upstream.name, callerOf(ctx).key, tools, request.params?.cursor === undefined && result.nextCursor === undefined);
    return { ...result, tools: tools.filter((tool) => toolVisible(upstream.settings, tool.name)) } as never;
  });

  server.setRequestHandler('tools/call', async (request, ctx) => {
    const upstream = definition();
    const name = request.params.name;
    if (!toolVisible(upstream.settings, name)) throw notFound(name);
    const caller = callerOf(ctx);
    const known = await deps.pool.toolNames(upstream, caller);
    if (!known.has(name)) throw notFound(name);
    const result = await forward('tools/call', request.params as Params, ctx, caller);
    // An upstream task's handle carries no content; the SDK refuses a tools/call answer without it.
    return ('task' in result && !('content' in result) ? { ...result, content: [] } : result) as never;
  });

  for (const method of FORWARDED) {
    server.setRequestHandler(method, async (request: { params?: unknown }, ctx: ServerContext) => (await forward(method, request.params as Params | undefined, ctx)) as never);
  }

  for (const method of TASK_METHODS) {
    server.setRequestHandler(method, { params: ANY_PARAMS }, async (params, ctx) => (await forward(method, params as Params, ctx)) as never);
  }

  server.setNotificationHandler('notifications/roots/list_changed', async () => {
    const upstream = deps.catalog.get(options.upstream);
    if (upstream && options.sessionKey) await deps.pool.notify(upstream, `s:${options.sessionKey}`, { method: 'notifications/roots/list_changed' });
  });

  // The caller cancelled a request: the SDK aborts its signal, and the upstream client sends its own notifications/cancelled.
  server.onclose = () => {
    if (options.sessionKey) void deps.pool.release(`s:${options.sessionKey}`);
  };
  return server;
}
