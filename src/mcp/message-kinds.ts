import {
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type JSONRPCResponse,
} from '@modelcontextprotocol/server';

/**
 * What kind of JSON-RPC message this is, with the SDK's own answers but not
 * its cost: the SDK's guards run a strict zod parse every time, and a failed
 * one (every `isInitializeRequest` of a tools/call) builds an error with a
 * stack trace. In the profile of a tools/call these guards, asked of the
 * same message by the endpoint, the scope check and the transport, cost more
 * than the call itself.
 */

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const known = new WeakMap<object, boolean>();

const isRequestId = (id: unknown) => typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
export const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A JSON-RPC 2.0 request's outline: a method, an id, and no member a request does not have (its params unchecked). */
export function hasRequestOutline(message: Record<string, unknown>): boolean {
  return message.jsonrpc === '2.0' && typeof message.method === 'string' && isRequestId(message.id) && Object.keys(message).every((key) => REQUEST_KEYS.has(key));
}

/** The SDK's `isJSONRPCRequest`, decided without zod for the common shape and asked of zod once per message otherwise. */
export function isRequest(message: unknown): message is JSONRPCRequest {
  if (!isPlainObject(message)) return false;
  const cached = known.get(message);
  if (cached !== undefined) return cached;
  let request: boolean;
  const { params } = message;
  if (!hasRequestOutline(message)) request = false;
  else if (params === undefined) request = true;
  else if (!isPlainObject(params)) request = false;
  // `_meta` has a schema of its own (progress tokens, the 2026-07-28 envelope): the SDK decides.
  else request = params._meta === undefined ? true : isJSONRPCRequest(message);
  known.set(message, request);
  return request;
}

/** The SDK's `isInitializeRequest`, asked only of messages whose method is `initialize` (no other can be one). */
export function isInitialize(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && message.method === 'initialize' && isInitializeRequest(message);
}

/**
 * A response the server itself sends (its result or error for a request):
 * the SDK built it, so its shape is checked, not its whole result re-parsed.
 * Anything else falls back to the SDK's guards.
 */
export function isResponse(message: JSONRPCMessage): message is JSONRPCResponse {
  if ('method' in message) return false;
  const { id } = message as { id?: unknown };
  if ('result' in message && isRequestId(id) && isPlainObject(message.result)) return true;
  if ('error' in message && (id === undefined || isRequestId(id)) && isPlainObject(message.error)) return true;
  return isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message);
}
