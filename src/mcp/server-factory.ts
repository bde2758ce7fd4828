import { McpServer, type Server, type ServerContext } from '@modelcontextprotocol/server';
import { principalOf } from './auth-info.ts';
import { installTaskMethods } from './tasks/methods.ts';
import { TASKS_EXTENSION } from './tasks/wire.ts';
import type { ToolRegistry, ToolServices } from './tools/registry.ts';

export interface ServerInstanceOptions {
  era: 'legacy' | 'modern';
  protocolVersion?: string;
  inSession: boolean;
  /** At /mcp/<name>: the upstream the server proxies to (see src/gateway); null or absent at /mcp. */
  upstream?: string | null;
  /** The stored hash of the legacy session served, so what it holds upstream ends with it. */
  sessionKey?: string;
}

export type ServerFactory = (options: ServerInstanceOptions) => McpServer | Server;

const INSTRUCTIONS =
  'Gatehouse serves tools on behalf of one signed-in person. Use whoami to see who that is and what this connection may do; ' +
  'notes_add, notes_list, notes_search and notes_delete keep that person\'s private notes.';

/**
 * Builds MCP servers: at /mcp, McpServer instances with every registered
 * tool; at /mcp/<name>, the gateway's proxy to that upstream (`proxyTo`). One
 * per legacy session, one per modern request.
 */
export function createServerFactory(
  registry: ToolRegistry,
  services: ToolServices,
  version: string,
  proxyTo?: (options: ServerInstanceOptions & { upstream: string }) => Server,
): ServerFactory {
  const tasks = registry.offersTasks() ? services.tasks : undefined;
  const capabilities = tasks ? { ...registry.capabilities(), extensions: { ...registry.capabilities().extensions, [TASKS_EXTENSION]: {} } } : registry.capabilities();
  const requestState = registry.requestStateOption();
  return (options) => {
    if (options.upstream) {
      if (!proxyTo) throw new Error('no gateway configured');
      return proxyTo({ ...options, upstream: options.upstream });
    }
    const server = new McpServer({ name: 'gatehouse', title: 'Gatehouse', version }, { capabilities, instructions: INSTRUCTIONS, ...requestState });
    const principalOfRequest = (ctx: ServerContext) => principalOf(ctx.http?.authInfo);
    registry.install(server, { ...options, services, principalOf: principalOfRequest });
    if (tasks) installTaskMethods(server, tasks, principalOfRequest);
    return server;
  };
}
