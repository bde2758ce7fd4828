import test from 'ava';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { connectV1, connectV2, tokensFor, toolText } from '../helpers/mcp.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

test('the v1 SDK client lists and calls tools with a token from the OAuth flow', async (t) => {
  const tokens = await tokensFor(gh, ALICE);
  const { client } = await connectV1(gh, tokens.accessToken);
  t.teardown(() => client.close());
  const { tools } = await client.listTools();
  t.deepEqual(tools.map((tool) => tool.name).sort(), ['notes_add', 'notes_delete', 'notes_list', 'notes_search', 'whoami']);
  const who = JSON.parse(toolText(await client.callTool({ name: 'whoami', arguments: {} })));
  t.is(who.user.email, ALICE.email);
  t.is(who.client.id, tokens.clientId);
  t.is(who.era, 'legacy');
  t.is(who.session, 'legacy session');
  t.deepEqual(who.scopes, ['mcp:tools', 'mcp:write']);
});

test('the v2 SDK client lists and calls tools (default negotiation: initialize)', async (t) => {
  const tokens = await tokensFor(gh, ALICE);
  const { client } = await connectV2(gh, tokens.accessToken);
  t.teardown(() => client.close());
  const { tools } = await client.listTools();
  t.true(tools.some((tool) => tool.name === 'whoami'));
  const who = JSON.parse(toolText(await client.callTool({ name: 'whoami', arguments: {} })));
  t.is(who.user.email, ALICE.email);
});

test('the v2 SDK client with versionNegotiation auto speaks 2026-07-28 statelessly', async (t) => {
  const tokens = await tokensFor(gh, ALICE);
  const { client } = await connectV2(gh, tokens.accessToken, { negotiate: true });
  t.teardown(() => client.close());
  const { tools } = await client.listTools();
  t.true(tools.some((tool) => tool.name === 'notes_add'));
  const who = JSON.parse(toolText(await client.callTool({ name: 'whoami', arguments: {} })));
  t.is(who.era, 'modern');
  t.is(who.protocolVersion, '2026-07-28');
  t.is(who.session, 'none (stateless request)');
  const added = JSON.parse(toolText(await client.callTool({ name: 'notes_add', arguments: { text: 'modern note' } })));
  t.is(added.text, 'modern note');
});
