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

export type ParsedMessages = { body: unknown; messages: JSONRPCMessage[] };

/** Why a body is not JSON-RPC messages: the status, code and message of the JSON-RPC error. */
type Unreadable = { status: number; code: number; message: string };

async function parseMessages(ctx: Context, limit: number, options: { deadlineMs?: number }): Promise<ParsedMessages | Unreadable> {
  let raw: string;
  try {
    raw = (await readRawBody(ctx, limit, options)).toString('utf8');
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    return { status: error.status, code: -32600, message: error.message };
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { status: 400, code: -32700, message: 'Parse error: the body is not valid JSON' };
  }
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0 || !messages.every(isJsonRpcMessage)) {
    return { status: 400, code: -32600, message: 'Invalid Request: expected a JSON-RPC 2.0 message or batch' };
  }
  return { body, messages };
}

/**
 * Reads and parses a POST of JSON-RPC messages (one, or a batch) of at most
 * `limit` bytes, or answers the JSON-RPC error (413, -32700, -32600) itself.
 */
export async function readMessages(ctx: Context, limit: number): Promise<ParsedMessages | undefined> {
  const parsed = await parseMessages(ctx, limit, {});
  if ('messages' in parsed) return parsed;
  jsonRpcError(ctx, parsed.status, parsed.code, parsed.message);
  return undefined;
}

/**
 * The body of a request that proved nothing (no bearer, no session): read
 * only as far as a notification needs, small and at once. Anything else,
 * including a body too large, too slow or not JSON-RPC, is undefined: the
 * caller answers the challenge, and has buffered at most `limit` bytes for
 * at most `deadlineMs`.
 */
export async function readAnonymousMessages(ctx: Context, limit: number, deadlineMs: number): Promise<ParsedMessages | undefined> {
  const parsed = await parseMessages(ctx, limit, { deadlineMs });
  return 'messages' in parsed ? parsed : undefined;
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
