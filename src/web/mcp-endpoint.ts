import {
  createMcpHandler,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type McpHttpHandler,
  type Tool,
} from '@modelcontextprotocol/server';
import type { Context } from 'koa';
import type { Config } from '../config/config.ts';
import type { Principal } from '../domain/principal.ts';
import { toAuthInfo } from '../mcp/auth-info.ts';
import type { McpAuth } from '../mcp/auth.ts';
import { isLegacyPost } from '../mcp/era.ts';
import { HEADER_MISMATCH, paramHeaderMismatch } from '../mcp/param-headers.ts';
import { isInitialize, isRequest } from '../mcp/message-kinds.ts';
import type { ServerFactory } from '../mcp/server-factory.ts';
import type { SessionRegistry, StreamableSession } from '../mcp/sessions/registry.ts';
import type { ResponseMode } from '../mcp/sessions/streamable-transport.ts';
import { readAnonymousMessages, readMessages, writeRefusal } from './mcp-messages.ts';
import type { Handlers } from './handlers.ts';
import { sendError } from './middleware/errors.ts';
import { toWebRequest, whenClientLeaves, writeAnswer, writeWebResponse } from './web-response.ts';

/**
 * One protected resource served by this endpoint: `/mcp` itself, or an
 * upstream at `/mcp/<name>`. The same machinery serves both; what differs is
 * the audience its tokens carry, its challenge, its scopes (all in `auth`)
 * and the MCP server behind it.
 */
export interface McpResourceServer {
  /** The upstream's name at /mcp/<name>; null at /mcp. */
  upstream: string | null;
  /** The resource URL (the tokens' audience). */
  url: string;
  auth: McpAuth;
  /** Tells whether a tool is one this resource has (for the metric labels). */
  hasTool(name: string): boolean;
  /** How a tool is listed here, for the `Mcp-Param-*` headers its schema names; absent where tools are not ours. */
  toolListing?(name: string): Tool | undefined;
}

export interface McpEndpointDeps {
  config: Config;
  /** `/mcp`. */
  main: McpResourceServer;
  /** The enabled upstream of this name, or undefined (then /mcp/<name> is 404). */
  upstream?: (name: string) => McpResourceServer | undefined;
  sessions: SessionRegistry;
  buildServer: ServerFactory;
  /** Told of each JSON-RPC message accepted for dispatch, for metrics. */
  onMessages?: (messages: readonly JSONRPCMessage[], era: 'legacy' | 'modern', resource: McpResourceServer) => void;
}

function jsonRpcError(ctx: Context, status: number, code: number, message: string): void {
  ctx.status = status;
  ctx.body = { jsonrpc: '2.0', id: null, error: { code, message } };
}

/**
 * Which answer types a client takes, from its Accept header. Clients send
 * `*\/*`, only JSON, only `text/event-stream`, both, or nothing; each gets an
 * answer it can read, never 406.
 */
export function responseModeFor(accept: string | undefined): ResponseMode {
  if (!accept) return 'auto';
  const types = accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  const json = types.some((type) => type === 'application/json' || type === 'application/*' || type === '*/*');
  const sse = types.some((type) => type === 'text/event-stream' || type === 'text/*' || type === '*/*');
  if (sse && !json) return 'sse';
  if (json && !sse) return 'json';
  return 'auto';
}

/**
 * A request with no credential is only read this far: enough for a
 * notification (which needs no session and changes nothing), never a whole
 * body someone who proved nothing wants us to buffer.
 */
const ANONYMOUS_BODY_BYTES = 16 * 1024;
const ANONYMOUS_BODY_DEADLINE_MS = 1000;

/**
 * `/mcp`: both protocol eras on one URL. Modern (2026-07-28) requests carry
 * their own version and are served statelessly by the SDK with the bearer of
 * that request. Legacy requests (2024-11-05 … 2025-11-25) get real sessions,
 * created only by an authenticated `initialize`, durable across restarts,
 * with the session-bound fallback. The decisions are McpAuth's; this adapter
 * reads the body only after the caller is known, and writes the answers.
 */
export function mcpHandlers(deps: McpEndpointDeps): Handlers {
  const { config, sessions } = deps;
  // Legacy traffic never reaches these: this endpoint routes that to sessions itself.
  const modernHandlers = new Map<string | null, McpHttpHandler>();
  const modernHandlerOf = (upstream: string | null) => {
    let handler = modernHandlers.get(upstream);
    if (!handler) {
      handler = createMcpHandler(() => deps.buildServer({ era: 'modern', inSession: false, upstream }), {
        legacy: 'reject',
        keepAliveMs: config.mcp.keepAliveMs,
      });
      modernHandlers.set(upstream, handler);
    }
    return handler;
  };

  /** The caller, from the bearer or (without one) the session's binding, before any body is read. */
  async function caller(ctx: Context, r: McpResourceServer): Promise<{ bearer?: Principal; session?: StreamableSession; principal?: Principal } | undefined> {
    const { auth } = r;
    const authorization = ctx.get('authorization') || undefined;
    const sessionId = ctx.get('mcp-session-id') || undefined;
    if (authorization) {
      const bearer = await auth.bearer(authorization);
      if (!bearer.ok) return void writeRefusal(ctx, bearer.refusal, { bodyUnread: true });
      return { bearer: bearer.value, principal: bearer.value };
    }
    if (!sessionId) return {};
    const bound = await auth.onSession(await sessions.find(sessionId, r.upstream), undefined);
    if (!bound.ok) return void writeRefusal(ctx, bound.refusal, { bodyUnread: true });
    return { session: bound.value.session, principal: bound.value.principal };
  }

  async function post(ctx: Context, r: McpResourceServer): Promise<void> {
    const { auth } = r;
    const known = await caller(ctx, r);
    if (!known) return;
    if (!known.principal) {
      // A notification or response with no credential and no session (Claude.ai
      // sends notifications/initialized from elsewhere) changes nothing: acknowledge it.
      // Anything else is the challenge, with as little of the body read as that takes.
      const anonymous = await readAnonymousMessages(ctx, ANONYMOUS_BODY_BYTES, ANONYMOUS_BODY_DEADLINE_MS);
      if (anonymous && !anonymous.messages.some(isRequest)) {
        ctx.status = 202;
        ctx.body = '';
        return;
      }
      return writeRefusal(ctx, auth.unauthenticated(), { bodyUnread: !anonymous });
    }
    const read = await readMessages(ctx, config.mcp.maxBodyBytes);
    if (!read) return;
    const { messages, body } = read;

    const legacy = isLegacyPost(body, {
      protocolVersion: ctx.get('mcp-protocol-version') || undefined,
      method: ctx.get('mcp-method') || undefined,
      name: ctx.get('mcp-name') || undefined,
    });
    if (!legacy) return modern(ctx, r, known.bearer, messages, body);

    const initialize = messages.find(isInitialize);
    if (initialize) return open(ctx, r, known.bearer, initialize, messages);

    const sessionId = ctx.get('mcp-session-id');
    if (!sessionId) {
      if (!messages.some(isRequest)) {
        ctx.status = 202;
        ctx.body = '';
        return;
      }
      return jsonRpcError(ctx, 400, -32000, 'Bad Request: Mcp-Session-Id header is required; send initialize first');
    }
    let session = known.session;
    let principal = known.principal;
    if (!session) {
      // A bearer was presented: it must speak for the principal the session is bound to.
      const bound = await auth.onSession(await sessions.find(sessionId, r.upstream), known.bearer);
      if (!bound.ok) return writeRefusal(ctx, bound.refusal);
      ({ session, principal } = bound.value);
    }
    const refusal = await auth.admit(principal, messages);
    if (refusal) return writeRefusal(ctx, refusal);
    deps.onMessages?.(messages, 'legacy', r);
    return deliver(ctx, r, session, principal, messages);
  }

  /**
   * Hands a legacy session the messages and writes its answer. No web Request
   * is built for the session path: tools get the principal from authInfo, and
   * building one costs more than the rest of the call.
   */
  async function deliver(ctx: Context, r: McpResourceServer, session: StreamableSession, principal: Principal, messages: JSONRPCMessage[]): Promise<void> {
    const answer = await session.transport.handlePost({
      messages,
      authInfo: toAuthInfo(principal, r.url),
      mode: responseModeFor(ctx.get('accept') || undefined),
      whenClientLeaves: (abandon) => whenClientLeaves(ctx, abandon),
    });
    return writeAnswer(ctx, answer);
  }

  /** Modern traffic (or a modern request the SDK will refuse with its own precise error): its own bearer, no sessions. */
  async function modern(ctx: Context, r: McpResourceServer, bearer: Principal | undefined, messages: JSONRPCMessage[], body: unknown): Promise<void> {
    const { auth } = r;
    if (!bearer) return writeRefusal(ctx, auth.unauthenticated('a 2026-07-28 request carries its access token'));
    const refusal = await auth.admit(bearer, messages);
    if (refusal) return writeRefusal(ctx, refusal);
    const mismatch = r.toolListing && paramHeaderMismatch(messages, (name) => ctx.get(name) || undefined, r.toolListing);
    if (mismatch) {
      ctx.status = 400;
      ctx.body = { jsonrpc: '2.0', id: mismatch.id, error: { code: HEADER_MISMATCH, message: mismatch.reason } };
      return;
    }
    deps.onMessages?.(messages, 'modern', r);
    if (!ctx.get('content-type')) ctx.request.headers['content-type'] = 'application/json';
    // The body goes as parsed: the SDK reads a request's body only when none is given.
    const response = await modernHandlerOf(r.upstream).fetch(toWebRequest(ctx, config.issuer), {
      authInfo: toAuthInfo(bearer, r.url),
      parsedBody: body,
    });
    return writeWebResponse(ctx, response);
  }

  /** Every initialize opens a new session, even if the client sent an old session id along (Claude.ai re-initializes before tool calls). */
  async function open(ctx: Context, r: McpResourceServer, bearer: Principal | undefined, initialize: JSONRPCRequest, messages: JSONRPCMessage[]): Promise<void> {
    const { auth } = r;
    if (messages.length > 1) return jsonRpcError(ctx, 400, -32600, 'Invalid Request: initialize must be sent alone');
    // No lazy authentication: a session is only ever opened by a bearer, never by another session's binding.
    if (!bearer) return writeRefusal(ctx, auth.unauthenticated('initialize needs an access token'));
    const refusal = await auth.admit(bearer, messages);
    if (refusal) return writeRefusal(ctx, refusal);
    deps.onMessages?.(messages, 'legacy', r);
    return deliver(ctx, r, await sessions.create(initialize, bearer, r.upstream), bearer, messages);
  }

  /** The session a GET or DELETE names, for the principal of its bearer or binding; or the refusal, written. */
  async function namedSession(ctx: Context, r: McpResourceServer, known: { bearer?: Principal; session?: StreamableSession; principal?: Principal }) {
    if (known.session && known.principal) return { session: known.session, principal: known.principal };
    const bound = await r.auth.onSession(await sessions.find(ctx.get('mcp-session-id'), r.upstream), known.bearer);
    if (!bound.ok) return void writeRefusal(ctx, bound.refusal);
    return bound.value;
  }

  async function get(ctx: Context, r: McpResourceServer): Promise<void> {
    const { auth } = r;
    const known = await caller(ctx, r);
    if (!known) return;
    if (!ctx.get('mcp-session-id')) {
      if (!known.principal) return writeRefusal(ctx, auth.unauthenticated());
      ctx.set('Allow', 'POST, DELETE, OPTIONS');
      return jsonRpcError(ctx, 405, -32000, 'Method not allowed: a server-sent event stream needs a session (send initialize first)');
    }
    const named = await namedSession(ctx, r, known);
    if (!named) return;
    const refusal = await auth.admission(named.principal);
    if (refusal) return writeRefusal(ctx, refusal);
    return writeAnswer(ctx, named.session.transport.openStandaloneStream());
  }

  async function del(ctx: Context, r: McpResourceServer): Promise<void> {
    const { auth } = r;
    const known = await caller(ctx, r);
    if (!known) return;
    if (!ctx.get('mcp-session-id')) {
      if (!known.principal) return writeRefusal(ctx, auth.unauthenticated());
      return jsonRpcError(ctx, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    }
    const named = await namedSession(ctx, r, known);
    if (!named) return;
    await sessions.end(named.session);
    ctx.status = 200;
    ctx.body = '';
  }

  type Serve = (ctx: Context, r: McpResourceServer) => Promise<void>;
  const atMain = (serve: Serve) => (ctx: Context) => serve(ctx, deps.main);
  /** /mcp/<name> for an upstream that does not exist, or is disabled, is simply not there. */
  const atUpstream = (serve: Serve) => (ctx: Context, params: Record<string, string>) => {
    const resource = deps.upstream?.(params.name ?? '');
    if (!resource) return sendError(ctx, 404, 'Not Found: no such MCP server here');
    return serve(ctx, resource);
  };
  return {
    mcp: { POST: atMain(post), GET: atMain(get), DELETE: atMain(del) },
    'mcp.upstream': { POST: atUpstream(post), GET: atUpstream(get), DELETE: atUpstream(del) },
  };
}
