import test from 'ava';
import { ClientV1, initializeRequest, mcpPost, StreamableV1, tokensFor, toolText } from '../helpers/mcp.ts';
import { ADMIN, ALICE, createTestDatabase, freePort, spawnGatehouse, startGatehouse } from '../helpers/server.ts';

const CAPABILITIES = { sampling: {}, roots: { listChanged: true }, elicitation: { form: {} } };
const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

test('a session survives a restart of the process: the old id works with and without bearer, with its capabilities', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const port = await freePort();
  const env = { DATABASE_URL: database.url, TOOLS_MODULES: 'test/fixtures/test-tools.ts' };
  const first = await spawnGatehouse({ port, env });
  // A spawned Gatehouse has just its administrator.
  const tokens = await tokensFor({ issuer: first.url, url: first.url, resource: `${first.url}/mcp` }, ADMIN);
  const mcp = `${first.url}/mcp`;

  const init = await mcpPost(mcp, { ...initializeRequest('2025-06-18', 1, CAPABILITIES), params: { protocolVersion: '2025-06-18', capabilities: CAPABILITIES, clientInfo: { name: 'durable-client', version: '4.2' } } }, {
    authorization: `Bearer ${tokens.accessToken}`,
  });
  const sessionId = init.headers.get('mcp-session-id')!;
  await mcpPost(mcp, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sessionId });
  const before = JSON.parse(toolText((await mcpPost(mcp, call(2, 'client_profile'), { 'mcp-session-id': sessionId })).messages[0].result));

  t.is(await first.stop('SIGKILL'), null, 'killed, not shut down');
  const second = await spawnGatehouse({ port, env });
  t.teardown(() => second.stop());

  const withoutBearer = await mcpPost(mcp, call(3, 'client_profile'), { 'mcp-session-id': sessionId });
  t.is(withoutBearer.status, 200, withoutBearer.text);
  const after = JSON.parse(toolText(withoutBearer.messages[0].result));
  t.deepEqual(after, before);
  t.deepEqual(after.capabilities, CAPABILITIES);
  t.is(after.clientInfo.name, 'durable-client');

  const withBearer = await mcpPost(mcp, call(4, 'whoami'), { authorization: `Bearer ${tokens.accessToken}`, 'mcp-session-id': sessionId });
  t.is(withBearer.status, 200);
  const who = JSON.parse(toolText(withBearer.messages[0].result));
  t.is(who.user.email, ADMIN.email);
  t.is(who.protocolVersion, '2025-06-18');
});

test('the v1 SDK client keeps working on its session across a restart', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const port = await freePort();
  const env = { DATABASE_URL: database.url };
  const first = await spawnGatehouse({ port, env });
  const tokens = await tokensFor({ issuer: first.url, url: first.url, resource: `${first.url}/mcp` }, ADMIN);
  const transport = new StreamableV1(new URL(`${first.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${tokens.accessToken}` } } });
  const client = new ClientV1({ name: 'v1', version: '1' });
  await client.connect(transport);
  const sessionBefore = transport.sessionId;
  await client.callTool({ name: 'notes_add', arguments: { text: 'before restart' } });

  await first.stop('SIGTERM');
  const second = await spawnGatehouse({ port, env });
  t.teardown(async () => {
    await client.close();
    await second.stop();
  });
  const notes = JSON.parse(toolText(await client.callTool({ name: 'notes_list', arguments: {} })));
  t.is(notes.notes[0].text, 'before restart');
  t.is(transport.sessionId, sessionBefore, 'the same session, not a new one');
});

test('an evicted session comes back on its next request; the cache stays bounded', async (t) => {
  const gh = await startGatehouse({ env: { MCP_SESSION_CACHE_SIZE: '2', TOOLS_MODULES: 'test/fixtures/test-tools.ts' } });
  t.teardown(() => gh.close());
  const tokens = await tokensFor(gh, ALICE);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const init = await mcpPost(gh.resource, { ...initializeRequest('2025-11-25', 1), params: { protocolVersion: '2025-11-25', capabilities: { sampling: {} }, clientInfo: { name: `client-${i}`, version: '1' } } }, {
      authorization: `Bearer ${tokens.accessToken}`,
    });
    ids.push(init.headers.get('mcp-session-id')!);
  }
  t.true(gh.gatehouse.sessions.liveCount <= 2);
  t.is(await gh.gatehouse.sessions.storedCount(), 5);
  const evicted = gh.gatehouse.sessions.stats.evicted;
  t.true(evicted >= 3);

  const first = await mcpPost(gh.resource, call(2, 'client_profile'), { 'mcp-session-id': ids[0]! });
  t.is(first.status, 200);
  t.is(JSON.parse(toolText(first.messages[0].result)).clientInfo.name, 'client-0');
  t.true(gh.gatehouse.sessions.stats.rebuilt >= 1);
  t.true(gh.gatehouse.sessions.liveCount <= 2);
});

test('concurrent first requests for one unloaded session rebuild it once', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const gh = await startGatehouse({ database, env: { TOOLS_MODULES: 'test/fixtures/test-tools.ts' } });
  const tokens = await tokensFor(gh, ALICE);
  const init = await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${tokens.accessToken}` });
  const sessionId = init.headers.get('mcp-session-id')!;
  const port = Number(new URL(gh.url).port);
  await gh.close();
  await new Promise((resolve) => setTimeout(resolve, 100));

  const again = await startGatehouse({ database, port, env: { TOOLS_MODULES: 'test/fixtures/test-tools.ts' } });
  t.teardown(() => again.close());
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => mcpPost(again.resource, call(10 + i, 'whoami'), { 'mcp-session-id': sessionId })));
  t.deepEqual(answers.map((answer) => answer.status), Array(10).fill(200));
  t.is(again.gatehouse.sessions.stats.rebuilt, 1);
});

test('an idle session keeps only its record: its server leaves memory after MCP_SESSION_WARM and is rebuilt by its next call', async (t) => {
  const gh = await startGatehouse({ env: { MCP_SESSION_WARM: '1s', TOOLS_MODULES: 'test/fixtures/test-tools.ts' } });
  t.teardown(() => gh.close());
  const tokens = await tokensFor(gh, ALICE);
  const init = await mcpPost(gh.resource, { ...initializeRequest('2025-06-18', 1, CAPABILITIES), params: { protocolVersion: '2025-06-18', capabilities: CAPABILITIES, clientInfo: { name: 'idle-client', version: '1' } } }, {
    authorization: `Bearer ${tokens.accessToken}`,
  });
  const sessionId = init.headers.get('mcp-session-id')!;
  t.is(gh.gatehouse.sessions.liveCount, 1);

  await new Promise((resolve) => setTimeout(resolve, 2000));
  t.is(gh.gatehouse.sessions.liveCount, 0, 'no server or transport is held for an idle session');
  t.is(await gh.gatehouse.sessions.storedCount(), 1, 'its record stays');

  const answer = await mcpPost(gh.resource, call(2, 'client_profile'), { 'mcp-session-id': sessionId });
  t.is(answer.status, 200, answer.text);
  const profile = JSON.parse(toolText(answer.messages[0].result));
  t.deepEqual(profile.capabilities, CAPABILITIES);
  t.is(profile.clientInfo.name, 'idle-client');
  t.is(gh.gatehouse.sessions.stats.rebuilt, 1);
  t.is(gh.gatehouse.sessions.liveCount, 1, 'held again while it is in use');
});
