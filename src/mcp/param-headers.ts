import type { JSONRPCMessage, Tool } from '@modelcontextprotocol/server';

/** JSON-RPC's HeaderMismatch (SEP-2243): a request header disagrees with the body it mirrors. */
export const HEADER_MISMATCH = -32020;

const BASE64_WRAPPED = /^=\?base64\?(.*)\?=$/s;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A header's value as the client meant it: `=?base64?…?=` is Base64 (strictly), anything else literal. */
function decoded(header: string): string | undefined {
  const wrapped = BASE64_WRAPPED.exec(header);
  if (!wrapped) return header;
  return BASE64.test(wrapped[1]!) ? Buffer.from(wrapped[1]!, 'base64').toString('utf8') : undefined;
}

/**
 * Checks the `Mcp-Param-<Name>` headers of a 2026-07-28 `tools/call`
 * against the arguments they mirror: a tool's input schema names them with
 * `x-mcp-header`, so intermediaries can route on them without reading the
 * body. A mirrored argument without its header, a header without its
 * argument, bad Base64 or a different value is refused. Returns the reason,
 * or undefined when every header agrees.
 */
export function paramHeaderMismatch(
  messages: readonly JSONRPCMessage[],
  header: (name: string) => string | undefined,
  listingOf: (tool: string) => Tool | undefined,
): { id: string | number | null; reason: string } | undefined {
  for (const message of messages) {
    if (!('method' in message) || message.method !== 'tools/call' || !('id' in message)) continue;
    const params = (message.params ?? {}) as { name?: unknown; arguments?: Record<string, unknown> };
    const tool = typeof params.name === 'string' ? listingOf(params.name) : undefined;
    const properties = (tool?.inputSchema.properties ?? {}) as Record<string, { 'x-mcp-header'?: unknown }>;
    for (const [argument, schema] of Object.entries(properties)) {
      const name = schema['x-mcp-header'];
      if (typeof name !== 'string') continue;
      const value = params.arguments?.[argument];
      const sent = header(`mcp-param-${name.toLowerCase()}`);
      const present = value !== undefined && value !== null;
      const fail = (reason: string) => ({ id: message.id as string | number, reason: `Header mismatch: ${reason}` });
      if (sent === undefined) {
        if (present) return fail(`argument "${argument}" must also be sent in the Mcp-Param-${name} header`);
        continue;
      }
      const headerValue = decoded(sent);
      if (headerValue === undefined) return fail(`Mcp-Param-${name} is not valid Base64`);
      if (!present) return fail(`Mcp-Param-${name} was sent without the argument "${argument}"`);
      if (headerValue !== String(value)) return fail(`Mcp-Param-${name} does not match the argument "${argument}"`);
    }
  }
  return undefined;
}
