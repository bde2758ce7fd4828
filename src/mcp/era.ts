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
 * The era of a request whose era is beyond doubt, or undefined (then the SDK
 * decides). A JSON-RPC request whose `_meta` makes no era claim, under no
 * modern MCP-Protocol-Version header, is of the 2025 era: every session's
 * tools/call has this shape. One other than `initialize` that makes the claim
 * or comes under such a header is modern, or one the modern handler refuses:
 * the SDK never classifies it as legacy, and its handler classifies it again
 * itself, so asking here would only do that twice.
 */
function plainRequestEra(body: unknown, headerVersion: string | undefined): 'legacy' | 'modern' | undefined {
  if (!isPlainObject(body)) return undefined;
  const modernHeader = headerVersion !== undefined && withoutOws(headerVersion) >= FIRST_MODERN_VERSION;
  const meta = isPlainObject(body.params) ? body.params._meta : undefined;
  const claim = isPlainObject(meta) && ENVELOPE_CLAIM in meta;
  if (modernHeader || claim) return body.method !== 'initialize' && hasRequestOutline(body) ? 'modern' : undefined;
  return isRequest(body) ? 'legacy' : undefined;
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
  const plain = plainRequestEra(body, headers.protocolVersion);
  if (plain) return plain === 'legacy';
  const classification = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: headers.protocolVersion,
    mcpMethodHeader: headers.method,
    mcpNameHeader: headers.name,
    body,
  });
  return classification.kind === 'legacy';
}
