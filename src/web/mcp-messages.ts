import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Context } from 'koa';
import type { Refusal } from '../mcp/auth.ts';
import { BodyError, readRawBody } from './body.ts';

function jsonRpcError(ctx: Context, status: number, code: number, message: string): void {
  ctx.status = status;
  ctx.body = { jsonrpc: '2.0', id: null, error: { code, message } };
}

function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { jsonrpc?: unknown }).jsonrpc === '2.0';
}

/**
 * Reads and parses a POST of JSON-RPC messages (one, or a batch) of at most
 * `limit` bytes, or answers the JSON-RPC error (413, -32700, -32600) itself.
 */
export async function readMessages(ctx: Context, limit: number): Promise<{ raw: string; body: unknown; messages: JSONRPCMessage[] } | undefined> {
  let raw: string;
  try {
    raw = (await readRawBody(ctx, limit)).toString('utf8');
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    jsonRpcError(ctx, error.status, -32600, error.message);
    return undefined;
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    jsonRpcError(ctx, 400, -32700, 'Parse error: the body is not valid JSON');
    return undefined;
  }
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0 || !messages.every(isJsonRpcMessage)) {
    jsonRpcError(ctx, 400, -32600, 'Invalid Request: expected a JSON-RPC 2.0 message or batch');
    return undefined;
  }
  return { raw, body, messages };
}

/**
 * Writes McpAuth's refusal. Refused before its body was read, the connection
 * closes after the answer, so a client that declared a large body is not
 * waited for (nor its body read) for nothing.
 */
export function writeRefusal(ctx: Context, refusal: Refusal, options: { bodyUnread?: boolean } = {}): void {
  ctx.status = refusal.status;
  for (const [name, value] of Object.entries(refusal.headers)) ctx.set(name, value);
  if (options.bodyUnread && (ctx.req.headers['content-length'] || ctx.req.headers['transfer-encoding'])) ctx.set('Connection', 'close');
  ctx.body = refusal.body;
}
