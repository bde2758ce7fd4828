import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Context } from 'koa';
import type { Config } from '../config/config.ts';
import { toAuthInfo } from '../mcp/auth-info.ts';
import type { McpAuth } from '../mcp/auth.ts';
import type { SessionRegistry } from '../mcp/sessions/registry.ts';
import { SSE_HEADERS } from '../mcp/sessions/sse-stream.ts';
import type { Handlers } from './handlers.ts';
import { readMessages, writeRefusal } from './mcp-messages.ts';
import { writeAnswer } from './web-response.ts';

/**
 * The HTTP+SSE transport of protocol 2024-11-05, for clients that never moved
 * to Streamable HTTP: `GET /sse` opens the stream and names the message
 * endpoint; `POST /messages?sessionId=…` carries each client message. The
 * same authorization decision and the same session registry as /mcp; a
 * session lives exactly as long as its stream, on the instance that holds it.
 */
export function sseHandlers({
  config,
  auth,
  sessions,
  onMessages,
}: {
  config: Config;
  auth: McpAuth;
  sessions: SessionRegistry;
  /** Told of each JSON-RPC message accepted for dispatch, for metrics. */
  onMessages?: (messages: readonly JSONRPCMessage[], era: 'legacy') => void;
}): Handlers {
  async function open(ctx: Context): Promise<void> {
    const bearer = await auth.bearer(ctx.get('authorization') || undefined);
    if (!bearer.ok) return writeRefusal(ctx, bearer.refusal);
    const refusal = await auth.admit(bearer.value, []);
    if (refusal) return writeRefusal(ctx, refusal);
    const session = await sessions.openSse(bearer.value);
    session.transport.stream.event('endpoint', `/messages?sessionId=${encodeURIComponent(session.id)}`);
    await writeAnswer(ctx, { status: 200, headers: SSE_HEADERS, stream: session.transport.stream.readable });
  }

  async function post(ctx: Context): Promise<void> {
    const authorization = ctx.get('authorization') || undefined;
    let presented;
    if (authorization) {
      const bearer = await auth.bearer(authorization);
      if (!bearer.ok) return writeRefusal(ctx, bearer.refusal, { bodyUnread: true });
      presented = bearer.value;
    }
    const id = typeof ctx.query.sessionId === 'string' ? ctx.query.sessionId : '';
    const bound = await auth.onSession(id ? await sessions.findSse(id) : undefined, presented);
    if (!bound.ok) return writeRefusal(ctx, bound.refusal, { bodyUnread: true });
    const read = await readMessages(ctx, config.mcp.maxBodyBytes);
    if (!read) return;
    const { session, principal } = bound.value;
    const refusal = await auth.admit(principal, read.messages);
    if (refusal) return writeRefusal(ctx, refusal);
    onMessages?.(read.messages, 'legacy');
    session.transport.deliver(read.messages, toAuthInfo(principal, config.resource));
    ctx.status = 202;
    ctx.body = 'Accepted';
  }

  return { 'sse.open': { GET: open }, 'sse.message': { POST: post } };
}
