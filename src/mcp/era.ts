import { classifyInboundRequest } from '@modelcontextprotocol/server';
import { hasRequestOutline, isPlainObject, isRequest } from './message-kinds.ts';

/** The `_meta` key by which a 2026-07-28 (or later) message claims its era. */
const ENVELOPE_CLAIM = 'io.modelcontextprotocol/protocolVersion';
/** Versions compare as dates: this one and every later one are the modern era. */
const FIRST_MODERN_VERSION = '2026-07-28';

export interface McpHeaders {
  protocolVersion?: string | undefined;
  method?: string | undefined;
  name?: string | undefined;
}

const withoutOws = (value: string) => value.replace(/^[\t ]+|[\t ]+$/g, '');

/**
 * A request of the 2025 era beyond doubt: a JSON-RPC request whose `_meta`
 * makes no era claim, under no modern MCP-Protocol-Version header. Every
 * session's tools/call has this shape, and the SDK classifies it as legacy.
 */
function plainLegacyRequest(body: unknown, headerVersion: string | undefined): boolean {
  // The cheap tests first: a modern request (or a refused one) goes to the SDK without being parsed twice.
  if (headerVersion !== undefined && withoutOws(headerVersion) >= FIRST_MODERN_VERSION) return false;
  if (!isPlainObject(body)) return false;
  const meta = isPlainObject(body.params) ? body.params._meta : undefined;
  if (meta !== undefined && (!isPlainObject(meta) || ENVELOPE_CLAIM in meta)) return false;
  return isRequest(body);
}

/**
 * A request that is not of the 2025 era beyond doubt: a JSON-RPC request
 * other than `initialize` that claims the modern era in its `_meta` or comes
 * under a modern MCP-Protocol-Version header. The SDK classifies such a
 * request as modern or refuses it, never as legacy; the modern handler
 * classifies it again itself, so asking here would only do that twice.
 */
function plainModernRequest(body: unknown, headerVersion: string | undefined): boolean {
  if (!isPlainObject(body) || body.method === 'initialize' || !hasRequestOutline(body)) return false;
  if (headerVersion !== undefined && withoutOws(headerVersion) >= FIRST_MODERN_VERSION) return true;
  const meta = isPlainObject(body.params) ? body.params._meta : undefined;
  return isPlainObject(meta) && ENVELOPE_CLAIM in meta;
}

/**
 * Whether a POSTed body is 2025-era traffic (served by sessions) rather than
 * modern traffic or something the modern handler refuses in its own words.
 * The SDK's `classifyInboundRequest` decides, except for the common legacy
 * and modern requests, which are decided without its zod guards: in the
 * profile of a session's tools/call they cost more than Gatehouse's own
 * checks, and in a stateless one the SDK's handler runs them again.
 */
export function isLegacyPost(body: unknown, headers: McpHeaders): boolean {
  if (plainLegacyRequest(body, headers.protocolVersion)) return true;
  if (plainModernRequest(body, headers.protocolVersion)) return false;
  const classification = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: headers.protocolVersion,
    mcpMethodHeader: headers.method,
    mcpNameHeader: headers.name,
    body,
  });
  return classification.kind === 'legacy';
}
