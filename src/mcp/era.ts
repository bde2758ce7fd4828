import { classifyInboundRequest } from '@modelcontextprotocol/server';
import { isPlainObject, isRequest } from './message-kinds.ts';

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
 * Whether a POSTed body is 2025-era traffic (served by sessions) rather than
 * modern traffic or something the modern handler refuses in its own words.
 * The SDK's `classifyInboundRequest` decides, except for the common legacy
 * request, which is decided without its zod guards: in the profile of a
 * session's tools/call they cost more than Gatehouse's own checks.
 */
export function isLegacyPost(body: unknown, headers: McpHeaders): boolean {
  if (plainLegacyRequest(body, headers.protocolVersion)) return true;
  const classification = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: headers.protocolVersion,
    mcpMethodHeader: headers.method,
    mcpNameHeader: headers.name,
    body,
  });
  return classification.kind === 'legacy';
}
