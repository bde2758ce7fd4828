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

test('the v1 SDK client signs in on its own when /mcp answers 401, asking for the scope the challenge names', async (t) => {
  const { MemoryOAuthProvider } = await import('../helpers/sdk-oauth.ts');
  const { UserAgent } = await import('../helpers/user-agent.ts');
  const { UnauthorizedError } = await import('@modelcontextprotocol/sdk/client/auth.js');
  const { StreamableV1, ClientV1 } = await import('../helpers/mcp.ts');
  const provider = new MemoryOAuthProvider('http://127.0.0.1:49600/callback');
  const first = new StreamableV1(new URL(gh.resource), { authProvider: provider as never });
  const client = new ClientV1({ name: 'v1-oauth', version: '1' });
  const error = await t.throwsAsync(client.connect(first));
  t.true(error instanceof UnauthorizedError);
  t.is(provider.authorizationUrl!.searchParams.get('scope'), 'mcp:tools mcp:write', 'the scope came from the 401 challenge, which names every tool');
  const callback = await new UserAgent().authorize(provider.authorizationUrl!, ALICE);
  await first.finishAuth(callback.searchParams.get('code')!);

  const second = new StreamableV1(new URL(gh.resource), { authProvider: provider as never });
  const connected = new ClientV1({ name: 'v1-oauth', version: '1' });
  await connected.connect(second);
  t.teardown(() => connected.close());
  t.true((await connected.listTools()).tools.length > 0);
  const who = JSON.parse(toolText(await connected.callTool({ name: 'whoami', arguments: {} })));
  t.deepEqual(who.scopes, ['mcp:tools', 'mcp:write'], 'it asked for what the challenge named, and got exactly that');
  const added = JSON.parse(toolText(await connected.callTool({ name: 'notes_add', arguments: { text: 'one consent' } })));
  t.is(added.text, 'one consent', 'a writing tool works after that one consent');
});

test('the v2 SDK client signs in on its own when /mcp answers 401 (iss checked on the way back)', async (t) => {
  const { MemoryOAuthProvider } = await import('../helpers/sdk-oauth.ts');
  const { UserAgent } = await import('../helpers/user-agent.ts');
  const { UnauthorizedError } = await import('@modelcontextprotocol/client');
  const { StreamableV2, ClientV2 } = await import('../helpers/mcp.ts');
  const provider = new MemoryOAuthProvider('http://127.0.0.1:49601/callback');
  const first = new StreamableV2(new URL(gh.resource), { authProvider: provider as never });
  const client = new ClientV2({ name: 'v2-oauth', version: '2' });
  const error = await t.throwsAsync(client.connect(first));
  t.true(error instanceof UnauthorizedError, String(error));
  const callback = await new UserAgent().authorize(provider.authorizationUrl!, ALICE);
  await first.finishAuth(callback.searchParams);
  const connected = new ClientV2({ name: 'v2-oauth', version: '2' });
  await connected.connect(new StreamableV2(new URL(gh.resource), { authProvider: provider as never }));
  t.teardown(() => connected.close());
  const who = JSON.parse(toolText(await connected.callTool({ name: 'whoami', arguments: {} })));
  t.is(who.user.email, ALICE.email);
});

test('the v2 SDK client holding a narrower token steps up on 403 insufficient_scope and then writes', async (t) => {
  const { MemoryOAuthProvider } = await import('../helpers/sdk-oauth.ts');
  const { UserAgent } = await import('../helpers/user-agent.ts');
  const { StreamableV2, ClientV2 } = await import('../helpers/mcp.ts');
  const provider = new MemoryOAuthProvider('http://127.0.0.1:49602/callback');
  const agent = new UserAgent();
  const connect = async () => {
    const client = new ClientV2({ name: 'v2-stepup', version: '2' });
    const transport = new StreamableV2(new URL(gh.resource), { authProvider: provider as never });
    try {
      await client.connect(transport);
      return { client, transport };
    } catch {
      // The person's first consent covered less than the tools need (a client
      // that asked for only the base scope).
      const narrower = new URL(provider.authorizationUrl!);
      narrower.searchParams.set('scope', 'mcp:tools');
      const callback = await agent.authorize(narrower, ALICE);
      await transport.finishAuth(callback.searchParams);
      const retry = new ClientV2({ name: 'v2-stepup', version: '2' });
      const retryTransport = new StreamableV2(new URL(gh.resource), { authProvider: provider as never });
      await retry.connect(retryTransport);
      return { client: retry, transport: retryTransport };
    }
  };
  const first = await connect();
  const refused = await first.client.callTool({ name: 'notes_add', arguments: { text: 'step up' } }).then(
    () => undefined,
    (error: unknown) => error,
  );
  t.truthy(refused, 'the write was refused');
  t.regex(provider.authorizationUrl!.searchParams.get('scope') ?? '', /mcp:write/, 'the client asked for the scope the 403 named');
  await first.client.close();
  const callback = await agent.authorize(provider.authorizationUrl!, ALICE);
  await first.transport.finishAuth(callback.searchParams);
  const stepped = new ClientV2({ name: 'v2-stepup', version: '2' });
  await stepped.connect(new StreamableV2(new URL(gh.resource), { authProvider: provider as never }));
  t.teardown(() => stepped.close());
  const added = JSON.parse(toolText(await stepped.callTool({ name: 'notes_add', arguments: { text: 'step up' } })));
  t.is(added.text, 'step up');
});
