import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import {
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
  type ClientCapabilities,
  type InputRequiredResult,
  type Implementation,
  type McpServer,
  type McpServerOptions,
  type ServerCapabilities,
  type ServerContext,
  type Tool as ListedTool,
  type ToolAnnotations,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Tasks, TaskHandle } from '../tasks/tasks.ts';
import { notifyStatusChanges } from '../tasks/status-notifications.ts';
import { createTaskResult, extensionRequired, optedIn } from '../tasks/wire.ts';
import { compileJsonSchema, type JsonSchemaValidator } from './json-schema.ts';
import type { Described } from '../../domain/directory.ts';
import type { PersonalNotes } from '../../domain/notes.ts';
import type { Principal } from '../../domain/principal.ts';
import { BASE_SCOPE } from '../../domain/scopes.ts';
import type { Logger } from '../../ops/logging.ts';

/** Tool names every client accepts: one name outside this pattern breaks a whole Claude.ai connector. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * What a tool knows about the call it is serving, and all it can reach: the
 * person and client it acts for, that person's notes, a logger, and the
 * SDK's request context. Never the Store: a tool module cannot read other
 * people's data or the server's keys.
 */
export interface ToolContext {
  principal: Principal;
  era: 'legacy' | 'modern';
  /** The negotiated protocol version of a legacy session. */
  protocolVersion?: string;
  /** True when the call arrived on a legacy session. */
  inSession: boolean;
  /** What the client declared: at initialize (legacy) or in the request envelope (modern). */
  client: { capabilities: ClientCapabilities | undefined; info: Implementation | undefined };
  /** The person and client app this call acts for, in words (looked up when asked). */
  who(): Promise<Described>;
  /** The person's own notes. */
  notes: PersonalNotes;
  /** Lines written here carry the request id, like every other log line of the request. */
  logger: Logger;
  /** Aborted when the client goes away or, for a task, when the task is cancelled (from any instance). */
  signal: AbortSignal;
  /** The SDK's own request context: progress, logging, sampling, elicitation. For a task it is the request that started it. */
  sdk: ServerContext;
  /** Present when the call runs as a durable task: its id, and how to ask the client for input. */
  task?: TaskHandle;
}

/** What the server gives tools, per principal; see ToolContext. */
export interface ToolServices {
  describe(principal: Principal): Promise<Described>;
  notesOf(userId: string): PersonalNotes;
  logger: Logger;
  /** Durable tasks; without them every tool answers in the request. */
  tasks?: Tasks;
}

export type ToolAnswer = CallToolResult | InputRequiredResult;

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
  /**
   * A hand-written JSON Schema (2020-12 unless it names another `$schema`)
   * instead of `inputSchema`: listed exactly as written (so `$defs`,
   * `$anchor`, `allOf`, `if`/`then`/`else`, `x-mcp-header` reach clients),
   * and arguments are validated against it with Ajv before `run`.
   */
  jsonSchema?: Record<string, unknown>;
  /**
   * Whether a call may be answered with a durable task (the
   * io.modelcontextprotocol/tasks extension): `never` (the default),
   * `optional` (a task when the client opted in, else in the request) or
   * `required` (a client that did not opt in gets the extension's error).
   * A task's `run` sees `context.task` and its `signal` follows tasks/cancel.
   */
  task?: 'never' | 'optional' | 'required';
  /**
   * For a task tool: runs in the request before the task is created. Answer
   * `inputRequired(...)` to gather input through the multi-round-trip loop
   * first (the client calls again with the responses), or undefined to go on.
   */
  beforeTask?(args: z.infer<Input>, context: ToolContext): InputRequiredResult | undefined | Promise<InputRequiredResult | undefined>;
  annotations?: ToolAnnotations;
  scopes?: string[];
  /**
   * The tool's answer: a result, or (2026-07-28 multi-round-trip) an
   * `inputRequired(...)` asking the client for input first. An error it
   * throws becomes a result with `isError`.
   */
  run(args: z.infer<Input>, context: ToolContext): ToolAnswer | Promise<ToolAnswer>;
}

/**
 * What a module named in TOOLS_MODULES exports. Tools go in `tools`; `setup`
 * is for everything else the SDK can serve (resources, prompts, completions),
 * registered on each server instance with the SDK's own API.
 */
export interface ToolModule {
  tools?: Tool[];
  /** Capabilities beyond tools that `setup` serves (resources, prompts, logging…). */
  capabilities?: ServerCapabilities;
  /**
   * Checks the multi-round-trip `requestState` (2026-07-28) a client echoes
   * back, before any handler runs: it comes from the client, so a module that
   * lets it steer anything seals it when minting (`createRequestStateCodec`)
   * and verifies it here. Throw to refuse: the client gets JSON-RPC -32602
   * "Invalid or expired requestState". What it resolves with is what handlers
   * read from `ctx.mcpReq.requestState()`.
   */
  verifyRequestState?(state: string, ctx: ServerContext): unknown;
  setup?(server: McpServer, context: { era: 'legacy' | 'modern' }): void;
}

export interface InstanceContext {
  era: 'legacy' | 'modern';
  protocolVersion?: string;
  inSession: boolean;
  services: ToolServices;
  principalOf(ctx: ServerContext): Principal | undefined;
}

export function defineTool<Input extends z.ZodObject>(tool: Tool<Input>): Tool {
  return tool as unknown as Tool;
}

let typeScriptEnabled = false;

async function enableTypeScript(): Promise<void> {
  // Under `npm start` the service runs as built JavaScript; tool modules an
  // operator wrote in TypeScript still load.
  if (typeScriptEnabled || process.execArgv.some((arg) => arg.includes('tsx'))) return;
  const { register } = await import('tsx/esm/api');
  register();
  typeScriptEnabled = true;
}

const EMPTY_INPUT = z.object({});

/** How a tool is listed: its JSON Schema is computed once, not per request or per session. */
function listing(tool: Tool): ListedTool {
  const { $schema: _dialect, ...fromZod } = tool.jsonSchema ? {} : (z.toJSONSchema(tool.inputSchema ?? EMPTY_INPUT, { io: 'input' }) as Record<string, unknown>);
  const inputSchema = tool.jsonSchema ?? fromZod;
  const taskSupport = tool.task && tool.task !== 'never' ? tool.task : undefined;
  return {
    name: tool.name,
    ...(tool.title ? { title: tool.title } : {}),
    description: tool.description,
    inputSchema: inputSchema as ListedTool['inputSchema'],
    ...(taskSupport ? { execution: { taskSupport } } : {}),
    ...(tool.annotations ? { annotations: tool.annotations } : {}),
  };
}

function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

/**
 * The tools served at /mcp. Every server instance (one per legacy session,
 * one per modern request) answers tools/list and tools/call from this one
 * registry through two handlers, so a session costs two closures rather than
 * a registered copy of every tool.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();
  private readonly validators = new Map<string, JsonSchemaValidator>();
  private readonly listed: ListedTool[] = [];
  private readonly listedByName = new Map<string, ListedTool>();
  private readonly modules: ToolModule[] = [];
  private readonly stateVerifiers: NonNullable<ToolModule['verifyRequestState']>[] = [];

  add(tool: Tool): this {
    if (!TOOL_NAME.test(tool.name)) throw new Error(`tool name "${tool.name}" must match ${TOOL_NAME}`);
    if (this.tools.has(tool.name)) throw new Error(`a tool named "${tool.name}" is already registered`);
    if (tool.jsonSchema && tool.inputSchema) throw new Error(`tool "${tool.name}" has both a zod inputSchema and a jsonSchema; give one`);
    if (tool.jsonSchema) this.validators.set(tool.name, compileJsonSchema(tool.jsonSchema));
    this.tools.set(tool.name, tool);
    const listed = listing(tool);
    this.listed.push(listed);
    this.listedByName.set(tool.name, listed);
    return this;
  }

  addModule(module: ToolModule): this {
    for (const tool of module.tools ?? []) this.add(tool);
    if (module.setup || module.capabilities) this.modules.push(module);
    if (module.verifyRequestState) this.stateVerifiers.push(module.verifyRequestState.bind(module));
    return this;
  }

  /**
   * Loads each module path (relative to the working directory) and registers
   * what it exports. TypeScript modules work too: tsx compiles them on load.
   */
  async loadModules(paths: string[]): Promise<void> {
    for (const path of paths) {
      const url = pathToFileURL(resolve(path)).href;
      if (/\.[mc]?ts$/.test(path)) await enableTypeScript();
      const loaded = (await import(url)) as ToolModule & { default?: ToolModule };
      this.addModule(loaded.default ?? loaded);
    }
  }

  /** The scopes a call to `name` needs, or undefined for a tool we do not have. */
  requiredScopes(name: string): string[] | undefined {
    const tool = this.tools.get(name);
    return tool ? (tool.scopes ?? [BASE_SCOPE]) : undefined;
  }

  /** Every scope some tool here needs: what a client asks for to use them all after one consent. */
  allScopes(): string[] {
    return [...new Set([BASE_SCOPE, ...[...this.tools.values()].flatMap((tool) => tool.scopes ?? [])])];
  }

  /** How a tool is listed (its input schema), for checking the request headers it names. */
  listingOf(name: string): ListedTool | undefined {
    return this.listedByName.get(name);
  }

  /** Whether a tool by this name is served (so only known names become metric labels). */
  has(name: string): boolean {
    return this.tools.has(name);
  }

  /**
   * The server's `requestState` hook: a state stands when one module's
   * verifier accepts it (each can only accept what it sealed itself). Without
   * verifiers the SDK hands handlers the raw string.
   */
  requestStateOption(): Pick<McpServerOptions, 'requestState'> {
    const verifiers = this.stateVerifiers;
    if (verifiers.length === 0) return {};
    return {
      requestState: {
        async verify(state, ctx) {
          let refusal: unknown;
          for (const verify of verifiers) {
            try {
              return await verify(state, ctx);
            } catch (error) {
              refusal = error;
            }
          }
          throw refusal;
        },
      },
    };
  }

  capabilities(): ServerCapabilities {
    return Object.assign({ tools: {} }, ...this.modules.map((module) => module.capabilities ?? {}));
  }

  /** Whether some tool may answer with a task (then the tasks extension is advertised). */
  offersTasks(): boolean {
    return [...this.tools.values()].some((tool) => tool.task === 'optional' || tool.task === 'required');
  }

  private validate(tool: Tool, args: Record<string, unknown>): { ok: true; data: unknown } | { ok: false; error: string } {
    const validator = this.validators.get(tool.name);
    if (validator) return validator(args);
    const parsed = (tool.inputSchema ?? EMPTY_INPUT).safeParse(args);
    return parsed.success ? { ok: true, data: parsed.data } : { ok: false, error: z.prettifyError(parsed.error) };
  }

  /** Answers tools/list and tools/call on a fresh server instance, and runs module setups. */
  install(mcp: McpServer, instance: InstanceContext): void {
    const { server } = mcp;
    server.setRequestHandler('tools/list', () => ({ tools: this.listed }));
    server.setRequestHandler('tools/call', async (request, sdk) => {
      const { name, arguments: args } = request.params;
      const tool = this.tools.get(name);
      if (!tool) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${name} not found`);
      const principal = instance.principalOf(sdk);
      const needed = tool.scopes ?? [BASE_SCOPE];
      // The HTTP layer already answered 403 to calls without these scopes; this is the net under it.
      if (!principal || !needed.every((scope) => principal.scopes.includes(scope))) return toolError(`this call needs the scopes: ${needed.join(' ')}`);
      const { services } = instance;
      const tasks = tool.task === 'optional' || tool.task === 'required' ? services.tasks : undefined;
      const asTask = tasks !== undefined && optedIn(request, server.getClientCapabilities());
      if (tool.task === 'required' && !asTask) throw extensionRequired(`Tool ${name}`);
      const input = this.validate(tool, args ?? {});
      if (!input.ok) return toolError(`Input validation error: Invalid arguments for tool ${name}: ${input.error}`);
      const context: ToolContext = {
        principal,
        era: instance.era,
        ...(instance.protocolVersion ? { protocolVersion: instance.protocolVersion } : {}),
        inSession: instance.inSession,
        client: { capabilities: server.getClientCapabilities(), info: server.getClientVersion() },
        who: () => services.describe(principal),
        notes: services.notesOf(principal.userId),
        logger: services.logger,
        signal: sdk.mcpReq.signal,
        sdk,
      };
      try {
        if (asTask) {
          const early = await tool.beforeTask?.(input.data as never, context);
          if (early) return early;
          const row = await tasks.create(principal, name, async (task, signal) => {
            const result = await tool.run(input.data as never, { ...context, signal, task });
            if (isInputRequiredResult(result)) throw new ProtocolError(ProtocolErrorCode.InternalError, 'a task asks for input with context.task.requestInput, not inputRequired');
            return result;
          });
          if (instance.inSession) notifyStatusChanges(server, tasks, row.id);
          return createTaskResult(row, tasks.settings.pollIntervalMs) as unknown as CallToolResult;
        }
        const result = await tool.run(input.data as never, context);
        return isInputRequiredResult(result) ? result : server.projectCallToolResult(result, undefined);
      } catch (error) {
        if (error instanceof ProtocolError && (error.code === ProtocolErrorCode.UrlElicitationRequired || asTask)) throw error;
        return toolError(error instanceof Error ? error.message : String(error));
      }
    });
    for (const module of this.modules) module.setup?.(mcp, { era: instance.era });
  }
}
