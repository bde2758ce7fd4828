import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { CallToolResult, McpServer, ServerCapabilities, ServerContext, ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { BASE_SCOPE } from '../../authorization/scopes.ts';
import type { Store } from '../../store/store.ts';
import type { Principal } from '../principal.ts';

/** Tool names every client accepts: one name outside this pattern breaks a whole Claude.ai connector. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** What a tool knows about the call it is serving. */
export interface ToolContext {
  principal: Principal;
  era: 'legacy' | 'modern';
  /** The negotiated protocol version of a legacy session. */
  protocolVersion?: string;
  /** True when the call arrived on a legacy session. */
  inSession: boolean;
  store: Store;
  signal: AbortSignal;
  /** The SDK's own request context: progress, logging, sampling, elicitation. */
  sdk: ServerContext;
}

/**
 * A tool served at /mcp. `scopes` are what a token needs to call it; a token
 * without them gets HTTP 403 `insufficient_scope` naming them, so the client
 * can ask the person for more.
 */
export interface Tool<Input extends z.ZodObject = z.ZodObject> {
  name: string;
  title?: string;
  description: string;
  inputSchema?: Input;
  annotations?: ToolAnnotations;
  scopes?: string[];
  run(args: z.infer<Input>, context: ToolContext): CallToolResult | Promise<CallToolResult>;
}

/** What a module named in TOOLS_MODULES exports. */
export interface ToolModule {
  tools?: Tool[];
  /** Capabilities beyond tools that `setup` serves (resources, prompts, logging…). */
  capabilities?: ServerCapabilities;
  /** Registers anything else on each server instance with the SDK's own API. */
  setup?(server: McpServer, context: { era: 'legacy' | 'modern' }): void;
}

export interface InstanceContext {
  era: 'legacy' | 'modern';
  protocolVersion?: string;
  inSession: boolean;
  store: Store;
  principalOf(ctx: ServerContext): Principal | undefined;
}

export function defineTool<Input extends z.ZodObject>(tool: Tool<Input>): Tool {
  return tool as unknown as Tool;
}

export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();
  private readonly modules: ToolModule[] = [];

  add(tool: Tool): this {
    if (!TOOL_NAME.test(tool.name)) throw new Error(`tool name "${tool.name}" must match ${TOOL_NAME}`);
    if (this.tools.has(tool.name)) throw new Error(`a tool named "${tool.name}" is already registered`);
    this.tools.set(tool.name, tool);
    return this;
  }

  addModule(module: ToolModule): this {
    for (const tool of module.tools ?? []) this.add(tool);
    if (module.setup || module.capabilities) this.modules.push(module);
    return this;
  }

  /** Loads each module path (relative to the working directory) and registers what it exports. */
  async loadModules(paths: string[]): Promise<void> {
    for (const path of paths) {
      const loaded = (await import(pathToFileURL(resolve(path)).href)) as ToolModule & { default?: ToolModule };
      this.addModule(loaded.default ?? loaded);
    }
  }

  /** The scopes a call to `name` needs, or undefined for a tool we do not have. */
  requiredScopes(name: string): string[] | undefined {
    const tool = this.tools.get(name);
    return tool ? (tool.scopes ?? [BASE_SCOPE]) : undefined;
  }

  capabilities(): ServerCapabilities {
    return Object.assign({ tools: {} }, ...this.modules.map((module) => module.capabilities ?? {}));
  }

  /** Registers every tool and module on a fresh server instance. */
  install(server: McpServer, instance: InstanceContext): void {
    for (const tool of this.tools.values()) {
      server.registerTool(
        tool.name,
        {
          ...(tool.title ? { title: tool.title } : {}),
          description: tool.description,
          ...(tool.inputSchema ? { inputSchema: tool.inputSchema } : {}),
          ...(tool.annotations ? { annotations: tool.annotations } : {}),
        },
        (async (...params: unknown[]) => {
          const sdk = params.at(-1) as ServerContext;
          const args = (params.length > 1 ? params[0] : {}) as Record<string, unknown>;
          const principal = instance.principalOf(sdk);
          // The HTTP layer already refused calls without the scopes; this is the net under it.
          if (!principal || !(tool.scopes ?? [BASE_SCOPE]).every((scope) => principal.scopes.includes(scope))) {
            return { isError: true, content: [{ type: 'text', text: `this call needs the scopes: ${(tool.scopes ?? [BASE_SCOPE]).join(' ')}` }] };
          }
          return tool.run(args as never, {
            principal,
            era: instance.era,
            ...(instance.protocolVersion ? { protocolVersion: instance.protocolVersion } : {}),
            inSession: instance.inSession,
            store: instance.store,
            signal: sdk.mcpReq.signal,
            sdk,
          });
        }) as never,
      );
    }
    for (const module of this.modules) module.setup?.(server, { era: instance.era });
  }
}
