import test from 'ava';
import { ClientV1, StreamableV1, tokensFor, toolText } from '../helpers/mcp.ts';
import { ADMIN, createTestDatabase, freePort, spawnGatehouse } from '../helpers/server.ts';
import { memoryOverStdio, tempDir, upstreamsFile } from './upstreams.ts';

test('a session to an upstream survives a Gatehouse restart: the same session id works, a new upstream session is opened behind it', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const port = await freePort();
  // server-memory keeps its graph in a file, so what was stored before the restart is still there after it.
  const env = { DATABASE_URL: database.url, UPSTREAMS: upstreamsFile({ memory: memoryOverStdio(tempDir()) }) };
  const first = await spawnGatehouse({ port, env });
  const url = `${first.url}/mcp/memory`;
  const tokens = await tokensFor({ issuer: first.url, url: first.url, resource: url }, ADMIN);

  const transport = new StreamableV1(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${tokens.accessToken}` } } });
  const client = new ClientV1({ name: 'durable', version: '1' });
  await client.connect(transport);
  t.teardown(() => client.close());
  const sessionId = transport.sessionId;
  t.truthy(sessionId);
  await client.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'before-restart', entityType: 'note', observations: ['kept'] }] } });

  t.is(await first.stop('SIGTERM'), 0);
  const second = await spawnGatehouse({ port, env });
  t.teardown(() => second.stop());

  const graph = toolText(await client.callTool({ name: 'read_graph', arguments: {} }));
  t.true(graph.includes('before-restart'), graph);
  t.is(transport.sessionId, sessionId, 'the client kept its session: nothing to re-initialize');
  t.true((await client.listTools()).tools.some((tool) => tool.name === 'open_nodes'));
});
