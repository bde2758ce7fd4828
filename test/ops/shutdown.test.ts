import test from 'ava';
import { initializeRequest, mcpPost, tokensFor } from '../helpers/mcp.ts';
import { ADMIN, createTestDatabase, freePort, spawnGatehouse } from '../helpers/server.ts';

test('SIGTERM during a slow tool call delivers its result before the process exits; the session resumes after a restart', async (t) => {
  const port = await freePort();
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const env = { DATABASE_URL: database.url, TOOLS_MODULES: 'test/fixtures/test-tools.ts' };
  const server = await spawnGatehouse({ port, env });
  const tokens = await tokensFor({ issuer: server.url, url: server.url, resource: `${server.url}/mcp` }, ADMIN);
  const init = await mcpPost(`${server.url}/mcp`, initializeRequest(), { authorization: `Bearer ${tokens.accessToken}` });
  const sessionId = init.headers.get('mcp-session-id')!;

  // Its event stream, which must end cleanly rather than hang the shutdown.
  const stream = await fetch(`${server.url}/mcp`, { headers: { 'mcp-session-id': sessionId, accept: 'text/event-stream' } });
  const streamEnded = stream.text().then(() => true, () => true);

  const slowCall = mcpPost(
    `${server.url}/mcp`,
    { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'slow_echo', arguments: { text: 'finished anyway', ms: 1500 } } },
    { 'mcp-session-id': sessionId, accept: 'text/event-stream' },
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const exit = server.stop('SIGTERM');

  const answer = await slowCall;
  t.is(answer.status, 200);
  t.is(answer.messages.find((message) => message.id === 7)?.result?.content?.[0]?.text, 'finished anyway');
  t.true(await streamEnded, 'the GET stream was closed, not left hanging');
  t.is(await exit, 0, 'a clean exit');
  t.regex(server.output.join(''), /shutting down/);
  await t.throwsAsync(fetch(`${server.url}/healthz`), undefined, 'nothing listens any more');

  const again = await spawnGatehouse({ port, env });
  t.teardown(() => again.stop());
  const resumed = await mcpPost(`${server.url}/mcp`, { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { 'mcp-session-id': sessionId });
  t.is(resumed.status, 200);
});
