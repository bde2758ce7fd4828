/**
 * Finding 10: every tool module received the raw Store in its context, so any
 * tool (an operator's, or one copied from somewhere) could read the signing
 * keys, every token hash and every person's notes. A tool gets what it needs
 * about the call, not the database.
 */
import test from 'ava';
import { gatehouseCli } from '../helpers/cli.ts';
import { connectV1, connectV2, tokensFor, toolText } from '../helpers/mcp.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse({ env: { TOOLS_MODULES: 'test/fixtures/store-probe-tools.ts' } });
});
test.after.always(async () => gh?.close());

interface Probe {
  ways: string[];
  answers: unknown[];
  refusals: string[];
}

function assertNoDatabase(t: import('ava').ExecutionContext, text: string, what: string) {
  const probe = JSON.parse(text) as Probe;
  t.log(`${what}: ways ${JSON.stringify(probe.ways)}, refusals ${JSON.stringify(probe.refusals)}`);
  t.false(/\\?"d\\?"\s*:/.test(text), `${what}: the tool read private key material`);
  t.false(/private_jwk/.test(JSON.stringify(probe.answers)), `${what}: the tool read the signing_keys table`);
  t.deepEqual(probe.ways, [], `${what}: the tool context offers a way to run SQL`);
}

test('a tool module finds no way to run SQL through its context and reads no signing key (modern request)', async (t) => {
  const { accessToken } = await tokensFor(gh, ALICE);
  const { client } = await connectV2(gh, accessToken, { negotiate: true });
  t.teardown(() => client.close());
  const result = await client.callTool({ name: 'probe_store', arguments: {} });
  t.falsy(result.isError, toolText(result));
  assertNoDatabase(t, toolText(result), '2026-07-28');
});

test('a tool module finds no way to run SQL through its context and reads no signing key (legacy session)', async (t) => {
  const { accessToken } = await tokensFor(gh, ALICE);
  const { client } = await connectV1(gh, accessToken);
  t.teardown(() => client.close());
  const result = await client.callTool({ name: 'probe_store', arguments: {} });
  t.falsy(result.isError, toolText(result as never));
  assertNoDatabase(t, toolText(result as never), 'legacy session');
});

test('whoami still names the client: the OAuth client’s name, and the personal access token’s name', async (t) => {
  const { accessToken } = await tokensFor(gh, ALICE, { clientName: 'Named Probe Client' });
  const oauth = await connectV2(gh, accessToken, { negotiate: true });
  t.teardown(() => oauth.client.close());
  const viaOauth = JSON.parse(toolText(await oauth.client.callTool({ name: 'whoami', arguments: {} })));
  t.is(viaOauth.client.name, 'Named Probe Client');

  const created = await gatehouseCli(gh.databaseUrl, ['token', 'create', '--user', ALICE.email, '--scope', 'mcp:tools', '--name', 'probe-pat']);
  const pat = /gatehouse_pat_[A-Za-z0-9_-]+/.exec(created.stdout)?.[0];
  t.truthy(pat, created.stderr);
  const viaPat = await connectV2(gh, pat!, { negotiate: true });
  t.teardown(() => viaPat.client.close());
  const who = JSON.parse(toolText(await viaPat.client.callTool({ name: 'whoami', arguments: {} })));
  t.regex(String(who.client.name), /probe-pat/);
  t.is(who.user.email, ALICE.email);
});
