/**
 * Gatehouse's message guards give the SDK's own answers: every shape here,
 * ordinary and odd, is asked of both, and they must agree.
 */
import test from 'ava';
import { isInitializeRequest, isJSONRPCErrorResponse, isJSONRPCRequest, isJSONRPCResultResponse, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { isInitialize, isRequest, isResponse } from '../../../src/mcp/message-kinds.ts';

const INBOUND: unknown[] = [
  { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
  { jsonrpc: '2.0', id: 'a', method: 'tools/list' },
  { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { progressToken: 7 } } },
  { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { progressToken: { no: 1 } } } },
  {
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'echo', _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } },
  },
  { jsonrpc: '2.0', id: 1.5, method: 'tools/list' },
  { jsonrpc: '2.0', id: null, method: 'tools/list' },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', id: 1, method: 'tools/list', extra: true },
  { jsonrpc: '2.0', id: 1, method: 'tools/list', params: [] },
  { jsonrpc: '2.0', id: 1, method: 'tools/list', params: null },
  { jsonrpc: '1.0', id: 1, method: 'tools/list' },
  { jsonrpc: '2.0', id: 1, method: 7 },
  { jsonrpc: '2.0', id: 1, result: {} },
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } } },
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25' } },
  { jsonrpc: '2.0', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } } },
];

const OUTBOUND: unknown[] = [
  { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hi' }] } },
  { jsonrpc: '2.0', id: 'x', result: {} },
  { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad' } },
  { jsonrpc: '2.0', error: { code: -32700, message: 'parse error' } },
  { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
  { jsonrpc: '2.0', id: 3, method: 'sampling/createMessage', params: {} },
];

test('isRequest answers as the SDK does, for ordinary and odd messages', (t) => {
  for (const message of INBOUND) {
    t.is(isRequest(message), isJSONRPCRequest(message), JSON.stringify(message));
    t.is(isRequest(message), isJSONRPCRequest(message), `asked again: ${JSON.stringify(message)}`);
  }
});

test('isInitialize answers as the SDK does', (t) => {
  for (const message of INBOUND) t.is(isInitialize(message as JSONRPCMessage), isInitializeRequest(message), JSON.stringify(message));
});

test('isResponse tells the server’s results and errors from its requests and notifications, as the SDK does', (t) => {
  for (const message of OUTBOUND) {
    const sdk = isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message);
    t.is(isResponse(message as JSONRPCMessage), sdk, JSON.stringify(message));
  }
});
