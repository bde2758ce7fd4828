import { McpServer, type ServerContext } from '@modelcontextprotocol/server';
import { principalOf } from './auth-info.ts';
import type { ToolRegistry, ToolServices } from './tools/registry.ts';

export interface ServerInstanceOptions {
  era: 'legacy' | 'modern';
  protocolVersion?: string;
  inSession: boolean;
}

export type ServerFactory = (options: ServerInstanceOptions) => McpServer;

const INSTRUCTIONS =
  'Gatehouse serves tools on behalf of one signed-in person. Use whoami to see who that is and what this connection may do; ' +
  'notes_add, notes_list, notes_search and notes_delete keep that person\'s private notes.';

/** Builds McpServer instances with every registered tool: one per legacy session, one per modern request. */
export function createServerFactory(registry: ToolRegistry, services: ToolServices, version: string): ServerFactory {
  const capabilities = registry.capabilities();
  const requestState = registry.requestStateOption();
  return (options) => {
    const server = new McpServer({ name: 'gatehouse', title: 'Gatehouse', version }, { capabilities, instructions: INSTRUCTIONS, ...requestState });
    registry.install(server, {
      ...options,
      services,
      principalOf: (ctx: ServerContext) => principalOf(ctx.http?.authInfo),
    });
    return server;
  };
}
