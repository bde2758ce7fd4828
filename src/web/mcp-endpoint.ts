import {
  classifyInboundRequest,
  createMcpHandler,
  isInitializeRequest,
  isJSONRPCRequest,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type McpHttpHandler,
} from '@modelcontextprotocol/server';
import type { Context } from 'koa';
import type { Config } from '../config/config.ts';
import { BodyError, readRawBody } from './body.ts';
import type { Handlers } from './handlers.ts';
import { toWebRequest, whenClientLeaves, writeAnswer, writeWebResponse } from './web-response.ts';
import type { McpAuth } from '../mcp/auth.ts';
import { toAuthInfo, type Principal } from '../mcp/principal.ts';
import type { ServerFactory } from '../mcp/server-factory.ts';
import type { LiveSession, SessionManager } from '../mcp/sessions/registry.ts';
import { sessionGone, type ResponseMode } from '../mcp/sessions/streamable-transport.ts';

export interface McpEndpointDeps {
  config: Config;
  auth: McpAuth;
  sessions: SessionManager;
  buildServer: ServerFactory;
  /** Told of each JSON-RPC message accepted for dispatch, for metrics. */
  onMessages?: (messages: readonly JSONRPCMessage[], era: 'legacy' | 'modern') => void;
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

function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { jsonrpc?: unknown }).jsonrpc === '2.0';
}

/**
 * `/mcp`: both protocol eras on one URL. Modern (2026-07-28) requests carry
 * their own version and are served statelessly by the SDK with the bearer of
 * that request. Legacy requests (2024-11-05 … 2025-11-25) get real sessions,
 * created only by an authenticated `initialize`, durable across restarts,
 * with the session-bound auth fallback.
 */
export function mcpHandlers(deps: McpEndpointDeps): Handlers {
  const { config, auth, sessions } = deps;
  // Legacy traffic never reaches it: this endpoint routes that to sessions itself.
  const modernHandler: McpHttpHandler = createMcpHandler(() => deps.buildServer({ era: 'modern', inSession: false }), {
    legacy: 'reject',
    keepAliveMs: config.mcp.keepAliveMs,
  });

  async function onSession(ctx: Context, sessionId: string): Promise<{ session: LiveSession; principal: Principal } | undefined> {
    const result = await auth.onSession(ctx, () => sessions.find(sessionId));
    if (result.ok) return result;
    if (result.status === 404) await writeAnswer(ctx, sessionGone());
    return undefined;
  }

  async function readMessages(ctx: Context): Promise<{ raw: string; body: unknown } | undefined> {
    let raw: string;
    try {
      raw = (await readRawBody(ctx, config.mcp.maxBodyBytes)).toString('utf8');
    } catch (error) {
      if (error instanceof BodyError) {
        jsonRpcError(ctx, error.status, -32600, error.message);
        return undefined;
      }
      throw error;
    }
    try {
      return { raw, body: JSON.parse(raw) };
    } catch {
      jsonRpcError(ctx, 400, -32700, 'Parse error: the body is not valid JSON');
      return undefined;
    }
  }

  async function post(ctx: Context): Promise<void> {
    const read = await readMessages(ctx);
    if (!read) return;
    const { body } = read;
    const messages = Array.isArray(body) ? body : [body];
    if (messages.length === 0 || !messages.every(isJsonRpcMessage)) {
      jsonRpcError(ctx, 400, -32600, 'Invalid Request: expected a JSON-RPC 2.0 message or batch');
      return;
    }

    const classification = classifyInboundRequest({
      httpMethod: 'POST',
      protocolVersionHeader: ctx.get('mcp-protocol-version') || undefined,
      mcpMethodHeader: ctx.get('mcp-method') || undefined,
      mcpNameHeader: ctx.get('mcp-name') || undefined,
      body,
    });

    if (classification.kind !== 'legacy') {
      // Modern traffic (or a modern request the SDK will refuse with its own
      // precise error): authenticated on every request, no sessions.
      const principal = await auth.bearer(ctx);
      if (!principal || !(await auth.admit(ctx, principal))) return;
      const missing = auth.missingScopes(principal, messages);
      if (missing) return auth.insufficientScope(ctx, missing);
      deps.onMessages?.(messages, 'modern');
      if (!ctx.get('content-type')) ctx.request.headers['content-type'] = 'application/json';
      const response = await modernHandler.fetch(toWebRequest(ctx, config.issuer, read.raw), {
        authInfo: toAuthInfo(principal, config.resource),
        parsedBody: body,
      });
      return writeWebResponse(ctx, response);
    }

    const sessionId = ctx.get('mcp-session-id');
    const initialize = messages.find((message) => isInitializeRequest(message)) as JSONRPCRequest | undefined;
    const mode = responseModeFor(ctx.get('accept') || undefined);

    if (initialize) {
      // Every initialize opens a new session, even if the client sent an old
      // session id along (Claude.ai re-initializes before tool calls).
      if (messages.length > 1) return jsonRpcError(ctx, 400, -32600, 'Invalid Request: initialize must be sent alone');
      const principal = await auth.bearer(ctx);
      if (!principal || !(await auth.admit(ctx, principal))) return;
      const missing = auth.missingScopes(principal, messages);
      if (missing) return auth.insufficientScope(ctx, missing);
      deps.onMessages?.(messages, 'legacy');
      const session = await sessions.create(initialize, principal);
      const answer = await session.transport.handlePost({
        messages,
        authInfo: toAuthInfo(principal, config.resource),
        mode,
        whenClientLeaves: (abandon) => whenClientLeaves(ctx, abandon),
      });
      return writeAnswer(ctx, answer);
    }

    if (!sessionId) {
      // A notification or response with no session (Claude.ai sends
      // notifications/initialized from elsewhere) changes nothing: acknowledge it.
      if (!messages.some(isJSONRPCRequest)) {
        ctx.status = 202;
        ctx.body = '';
        return;
      }
      const principal = await auth.bearer(ctx);
      if (!principal) return;
      return jsonRpcError(ctx, 400, -32000, 'Bad Request: Mcp-Session-Id header is required; send initialize first');
    }

    const resolved = await onSession(ctx, sessionId);
    if (!resolved || !(await auth.admit(ctx, resolved.principal))) return;
    const missing = auth.missingScopes(resolved.principal, messages);
    if (missing) return auth.insufficientScope(ctx, missing);
    deps.onMessages?.(messages, 'legacy');
    // No web Request is built for the session path: tools get the principal
    // from authInfo, and building one costs more than the rest of the call.
    const answer = await resolved.session.transport.handlePost({
      messages,
      authInfo: toAuthInfo(resolved.principal, config.resource),
      mode,
      whenClientLeaves: (abandon) => whenClientLeaves(ctx, abandon),
    });
    return writeAnswer(ctx, answer);
  }

  async function get(ctx: Context): Promise<void> {
    const sessionId = ctx.get('mcp-session-id');
    if (!sessionId) {
      if (!(await auth.bearer(ctx))) return;
      ctx.set('Allow', 'POST, DELETE, OPTIONS');
      return jsonRpcError(ctx, 405, -32000, 'Method not allowed: a server-sent event stream needs a session (send initialize first)');
    }
    const resolved = await onSession(ctx, sessionId);
    if (!resolved || !(await auth.admit(ctx, resolved.principal))) return;
    return writeAnswer(ctx, resolved.session.transport.openStandaloneStream());
  }

  async function del(ctx: Context): Promise<void> {
    const sessionId = ctx.get('mcp-session-id');
    if (!sessionId) {
      if (!(await auth.bearer(ctx))) return;
      return jsonRpcError(ctx, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    }
    const resolved = await onSession(ctx, sessionId);
    if (!resolved) return;
    await sessions.end(resolved.session);
    ctx.status = 200;
    ctx.body = '';
  }

  return { mcp: { POST: post, GET: get, DELETE: del } };
}
