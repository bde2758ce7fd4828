import test from 'ava';
import { initializeRequest, mcpPost } from '../helpers/mcp.ts';
import { ALICE, startGatehouse } from '../helpers/server.ts';
import { tokensFor } from '../helpers/mcp.ts';

test('200 rounds of a slow call racing a DELETE of its session: every call ends cleanly, the server stays up', async (t) => {
  const gh = await startGatehouse({ env: { TOOLS_MODULES: 'test/fixtures/test-tools.ts' } });
  t.teardown(() => gh.close());
  const tokens = await tokensFor(gh, ALICE);
  const bearer = { authorization: `Bearer ${tokens.accessToken}` };
  const outcomes = { delivered: 0, refused: 0 };

  async function round(index: number) {
    const init = await mcpPost(gh.resource, initializeRequest(), bearer);
    const sessionId = init.headers.get('mcp-session-id')!;
    const text = `round-${index}`;
    const ms = index % 7 === 0 ? 0 : (index * 13) % 60;
    const call = mcpPost(
      gh.resource,
      { jsonrpc: '2.0', id: index, method: 'tools/call', params: { name: 'slow_echo', arguments: { text, ms } } },
      { 'mcp-session-id': sessionId, accept: index % 2 ? 'application/json, text/event-stream' : 'text/event-stream' },
    );
    await new Promise((resolve) => setTimeout(resolve, (index * 7) % 40));
    const deletion = fetch(gh.resource, { method: 'DELETE', headers: { 'mcp-session-id': sessionId }, signal: AbortSignal.timeout(10_000) });
    const [answer, deleted] = await Promise.all([call, deletion]);

    t.true([200, 404].includes(deleted.status), `DELETE ${deleted.status}`);
    if (answer.status === 200) {
      t.true(answer.text.length > 0, 'never an empty 200');
      const result = answer.messages.find((message) => message.id === index);
      t.truthy(result, `round ${index}: a 200 carries the answer: ${answer.text}`);
      t.is(result.result?.content?.[0]?.text, text, `round ${index}`);
      outcomes.delivered++;
    } else {
      t.is(answer.status, 404, `round ${index}: ${answer.status} ${answer.text}`);
      t.is(answer.json?.error?.code, -32001);
      outcomes.refused++;
    }
  }

  for (let batch = 0; batch < 10; batch++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => round(batch * 20 + i)));
  }
  t.is(outcomes.delivered + outcomes.refused, 200);
  t.true(outcomes.delivered > 0, 'calls already in flight were delivered');
  t.log(`delivered ${outcomes.delivered}, refused after DELETE ${outcomes.refused}`);
  const health = await fetch(`${gh.url}/healthz`);
  t.is(health.status, 200);
});
