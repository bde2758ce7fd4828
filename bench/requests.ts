/**
 * The requests every bench measures, written once: a tools/call of the echo
 * tool as a 2025-11-25 session sends it and as a 2026-07-28 client sends it
 * (its headers and its per-request envelope). `"[<id>]"` in a body becomes a
 * fresh JSON-RPC id on every request (see load.ts).
 */
export const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
export const LEGACY = { ...JSON_HEADERS, 'mcp-protocol-version': '2025-11-25' };
export const MODERN = { ...JSON_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' };

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

export const CALL = JSON.stringify({ jsonrpc: '2.0', id: '[<id>]', method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } });
export const MODERN_CALL = JSON.stringify({ jsonrpc: '2.0', id: '[<id>]', method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' }, _meta: MODERN_META } });

/** A body with its id filled in, parsed: what a server has in hand once it has read the request. */
export const parsedWithId = (template: string, id: number): { jsonrpc: '2.0'; id: number; method: string; params: { name: string; arguments: { text: string } } } =>
  JSON.parse(template.replace('"[<id>]"', String(id)));

export const initialize = (name: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name, version: '1' } } });
