import { randomBytes } from 'node:crypto';
import type { JSONRPCMessage, McpServer, MessageExtraInfo, Transport } from '@modelcontextprotocol/server';
import type { Context } from 'koa';
import type { Config } from '../config/config.ts';
import { BodyError, readRawBody } from './body.ts';
import type { Handlers } from './handlers.ts';
import { writeAnswer } from './web-response.ts';
import type { Store } from '../data/engines/store.ts';
import type { McpAuth } from '../mcp/auth.ts';
import { toAuthInfo, type Principal } from '../mcp/principal.ts';
import type { ServerFactory } from '../mcp/server-factory.ts';
import { hashSessionId } from '../mcp/sessions/registry.ts';
import { SSE_HEADERS, SseStream } from '../mcp/sessions/sse-stream.ts';

/** One old-style session: everything the server says travels on the stream the client opened with GET /sse. */
class SseSession implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  readonly stream: SseStream;
  server!: McpServer;

  constructor(
    readonly sessionId: string,
    public binding: Principal,
    keepAliveMs: number,
  ) {
    this.stream = new SseStream(keepAliveMs);
  }

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    this.stream.write(message);
  }

  async close(): Promise<void> {
    this.stream.close();
    this.onclose?.();
  }

  deliver(message: JSONRPCMessage, principal: Principal, resource: string): void {
    this.onmessage?.(message, { authInfo: toAuthInfo(principal, resource) });
  }

  async rebind(principal: Principal): Promise<void> {
    this.binding = principal;
  }
}

export interface LegacySseDeps {
  config: Config;
  store: Store;
  auth: McpAuth;
  buildServer: ServerFactory;
}

/**
 * The HTTP+SSE transport of protocol 2024-11-05, for clients that never moved
 * to Streamable HTTP: `GET /sse` opens the stream and names the message
 * endpoint; `POST /messages?sessionId=…` carries each client message. Same
 * authentication as /mcp. A session lives exactly as long as its stream, on
 * the instance that holds it, so it is not rebuilt elsewhere.
 */
export function legacySseEndpoints({ config, store, auth, buildServer }: LegacySseDeps): { handlers: Handlers; closeAll(): void } {
  const sessions = new Map<string, SseSession>();

  async function open(ctx: Context): Promise<void> {
    const principal = await auth.bearer(ctx);
    if (!principal || !(await auth.admit(ctx, principal))) return;
    const missing = auth.missingScopes(principal, []);
    if (missing) return auth.insufficientScope(ctx, missing);

    const id = randomBytes(32).toString('base64url');
    const session = new SseSession(id, principal, config.mcp.keepAliveMs);
    session.server = buildServer({ era: 'legacy', protocolVersion: '2024-11-05', inSession: true });
    await session.server.connect(session);
    sessions.set(id, session);
    const now = Date.now();
    await store.run(
      `INSERT INTO mcp_sessions (id_hash, user_id, client_id, principal_kind, grant_id, pat_id, scopes, token_expires_at,
         protocol_version, transport, initialize_request, created_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, '2024-11-05', 'sse', '{}', ?, ?)`,
      [hashSessionId(id), principal.userId, principal.clientId, principal.kind, principal.grantId ?? null, principal.patId ?? null, principal.scopes.join(' '), principal.expiresAt, now, now],
    );
    session.stream.onClose(() => {
      sessions.delete(id);
      void session.server.close().catch(() => {});
      void store.run('DELETE FROM mcp_sessions WHERE id_hash = ?', [hashSessionId(id)]).catch(() => {});
    });
    session.stream.event('endpoint', `/messages?sessionId=${encodeURIComponent(id)}`);
    await writeAnswer(ctx, { status: 200, headers: SSE_HEADERS, stream: session.stream.readable });
  }

  async function post(ctx: Context): Promise<void> {
    const id = typeof ctx.query.sessionId === 'string' ? ctx.query.sessionId : '';
    const result = await auth.onSession(ctx, async () => {
      const session = sessions.get(id);
      if (!session) return undefined;
      // Ended elsewhere (an administrator, a revoked client)?
      const row = await store.get('SELECT 1 AS live FROM mcp_sessions WHERE id_hash = ?', [hashSessionId(id)]);
      if (!row) {
        void session.close();
        return undefined;
      }
      return session;
    });
    if (!result.ok) {
      if (result.status === 404) {
        ctx.status = 404;
        ctx.body = { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } };
      }
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse((await readRawBody(ctx, config.mcp.maxBodyBytes)).toString('utf8'));
    } catch (error) {
      ctx.status = error instanceof BodyError ? error.status : 400;
      ctx.body = { jsonrpc: '2.0', id: null, error: { code: error instanceof BodyError ? -32600 : -32700, message: error instanceof BodyError ? error.message : 'Parse error' } };
      return;
    }
    if (!(await auth.admit(ctx, result.principal))) return;
    const messages = (Array.isArray(body) ? body : [body]) as JSONRPCMessage[];
    const missing = auth.missingScopes(result.principal, messages);
    if (missing) return auth.insufficientScope(ctx, missing);
    for (const message of messages) result.session.deliver(message, result.principal, config.resource);
    ctx.status = 202;
    ctx.body = 'Accepted';
  }

  return {
    handlers: { 'sse.open': { GET: open }, 'sse.message': { POST: post } },
    /** Ends every stream; these sessions cannot outlive them. */
    closeAll: () => {
      for (const session of sessions.values()) void session.close();
    },
  };
}
