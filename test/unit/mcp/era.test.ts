/**
 * Gatehouse's era decision for a POST gives the SDK's own answer: each body
 * here, under each protocol version header, is asked of both.
 */
import test from 'ava';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import { isLegacyPost } from '../../../src/mcp/era.ts';

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'c', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

const BODIES: unknown[] = [
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
  { jsonrpc: '2.0', id: 'a', method: 'tools/list' },
  { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { progressToken: 7 } } },
  { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: 'not an object' } },
  { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: null } },
  { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: {}, _meta: ENVELOPE } },
  { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', _meta: { 'io.modelcontextprotocol/protocolVersion': 7 } } },
  { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', _meta: { 'io.modelcontextprotocol/protocolVersion': '2025-11-25' } } },
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } } },
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', _meta: ENVELOPE } },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: ENVELOPE } },
  { jsonrpc: '2.0', id: 1, result: {} },
  { jsonrpc: '2.0', id: 1, error: { code: -1, message: 'no' } },
  [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }],
  [],
  { jsonrpc: '2.0', id: 1, method: 'tools/list', extra: true },
  { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: {}, _meta: ENVELOPE }, extra: true },
  { jsonrpc: '2.0', id: 2, method: 'tools/call', result: {}, params: { _meta: ENVELOPE } },
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { _meta: ENVELOPE } },
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': 7 } } },
  { jsonrpc: '2.0', id: 1.5, method: 'tools/list', params: { _meta: ENVELOPE } },
  { jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } },
  { jsonrpc: '2.0', id: 3, method: 'tools/list', params: 'not an object' },
  { jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: { progressToken: {} } } },
  { jsonrpc: '2.0', id: null, method: 'tools/list' },
  { jsonrpc: '1.0', id: 1, method: 'tools/list' },
  'a string',
  null,
];

const HEADERS = [undefined, '2025-11-25', '2025-06-18', '2024-11-05', '2026-07-28', ' 2026-07-28\t', '2027-01-01', 'garbage', ''];

test('isLegacyPost answers as the SDK classifier does, for every body under every version header', (t) => {
  for (const body of BODIES) {
    for (const protocolVersion of HEADERS) {
      const sdk = classifyInboundRequest({ httpMethod: 'POST', protocolVersionHeader: protocolVersion, body }).kind === 'legacy';
      t.is(isLegacyPost(body, { protocolVersion }), sdk, `${JSON.stringify(body)} under ${JSON.stringify(protocolVersion)}`);
    }
  }
});

test('a method header that disagrees with the body still goes to the SDK, which refuses it', (t) => {
  const body = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: {}, _meta: ENVELOPE } };
  t.false(isLegacyPost(body, { protocolVersion: '2026-07-28', method: 'tools/list', name: 'echo' }));
  t.is(classifyInboundRequest({ httpMethod: 'POST', protocolVersionHeader: '2026-07-28', mcpMethodHeader: 'tools/list', body }).kind, 'reject');
});
