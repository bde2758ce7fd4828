import test from 'ava';
import { messageLabels } from '../../../src/mcp/message-labels.ts';

const served = new Set(['whoami', 'notes_add']);
const isTool = (name: string) => served.has(name);

test('known methods and served tools become labels; everything a client makes up is folded', (t) => {
  const labels = messageLabels(
    [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami' } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'made-up-tool-123' } },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: { toString: 1 } } },
      { jsonrpc: '2.0', id: 4, method: 'x/anything-at-all' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 5, result: {} },
    ] as never,
    isTool,
  );
  t.deepEqual(labels, [
    { method: 'tools/call', tool: 'whoami' },
    { method: 'tools/call', tool: 'unknown' },
    { method: 'tools/call', tool: 'unknown' },
    { method: 'other', tool: '' },
    { method: 'notifications/initialized', tool: '' },
  ]);
});
