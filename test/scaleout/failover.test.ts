import test from 'ava';
import { startPair } from '../helpers/cluster.ts';
import { ClientV1, mcpPost, openSession, StreamableV1, tokensFor, toolText } from '../helpers/mcp.ts';
import { ALICE, BOB } from '../helpers/server.ts';

test('killing A mid-session leaves its clients working on B: the v1 SDK client and a bearer-less one', async (t) => {
  const pair = await startPair();
  t.teardown(() => pair.close());
  const alice = await tokensFor(pair, ALICE);
  const bob = await tokensFor(pair, BOB);

  // Both sessions start on A, which holds them live (the SDK client's GET stream included).
  pair.balancer.pin(pair.a.url);
  const transport = new StreamableV1(new URL(pair.resource), { requestInit: { headers: { Authorization: `Bearer ${alice.accessToken}` } } });
  const client = new ClientV1({ name: 'failover-client', version: '1.0' });
  await client.connect(transport);
  t.teardown(() => client.close());
  await client.callTool({ name: 'notes_add', arguments: { text: 'written on A' } });
  const sessionBefore = transport.sessionId;
  const bobSession = await openSession(pair.resource, bob.accessToken);
  t.is((await mcpPost(pair.resource, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': bobSession })).status, 200);
  const inFlight = client.callTool({ name: 'slow_echo', arguments: { text: 'never answered', ms: 5000 } });
  const inFlightOutcome = inFlight.then(
    () => 'answered',
    () => 'failed',
  );
  await new Promise((resolve) => setTimeout(resolve, 300));

  t.is(await pair.a.stop('SIGKILL'), null, 'killed, not shut down');
  // The balancer goes back to round-robin and, like a proxy, skips the instance that refuses connections.
  pair.balancer.pin(undefined);
  t.is(await inFlightOutcome, 'failed', 'a call in flight dies with its instance');

  const notes = JSON.parse(toolText(await client.callTool({ name: 'notes_list', arguments: {} })));
  t.is(notes.notes[0].text, 'written on A');
  await client.callTool({ name: 'notes_add', arguments: { text: 'written on B' } });
  t.is(transport.sessionId, sessionBefore, 'the same session, rebuilt on B');

  const bearerless = await mcpPost(pair.resource, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { 'mcp-session-id': bobSession });
  t.is(bearerless.status, 200, bearerless.text);
  t.is(JSON.parse(toolText(bearerless.messages[0].result)).user.email, BOB.email);
  t.true((pair.balancer.served.get(pair.b.url) ?? 0) >= 3, 'B answered after the kill');
});
