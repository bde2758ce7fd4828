import test from 'ava';
import { requireUserByEmail } from '../../src/domain/accounts.ts';
import { issuePersonalToken } from '../../src/domain/personal-tokens.ts';
import { discover, obtainCode, register } from '../helpers/oauth.ts';
import { mcpPost, openSession, tokensFor, toolText, connectV2 } from '../helpers/mcp.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { everythingOverStdio, upstreamsFile } from './upstreams.ts';

// Each upstream is its own protected resource: its own metadata, challenge, audience, scopes, sessions and consent.
let gh: RunningGatehouse;
let upstreamUrl: string;
test.before(async () => {
  gh = await startGatehouse({
    env: {
      UPSTREAMS: upstreamsFile({
        everything: everythingOverStdio({ deny: ['get-env'], toolScopes: { 'get-sum': ['mcp:write'] } }),
        narrow: everythingOverStdio({ allow: ['echo'] }),
      }),
    },
  });
  upstreamUrl = `${gh.resource}/everything`;
});
test.after.always(async () => gh?.close());

const listTools = { jsonrpc: '2.0', id: 2, method: 'tools/list' };

test('each upstream has its own protected resource metadata and 401 challenge; an unknown one is 404', async (t) => {
  const metadata = (await (await fetch(`${gh.url}/.well-known/oauth-protected-resource/mcp/everything`)).json()) as { resource: string; authorization_servers: string[] };
  t.is(metadata.resource, upstreamUrl);
  t.deepEqual(metadata.authorization_servers, [gh.issuer]);
  const challenge = await mcpPost(upstreamUrl, listTools);
  t.is(challenge.status, 401);
  t.regex(challenge.headers.get('www-authenticate')!, new RegExp(`resource_metadata="${gh.url}/.well-known/oauth-protected-resource/mcp/everything"`));
  t.regex(challenge.headers.get('www-authenticate')!, /scope="mcp:tools mcp:write"/, 'the challenge names every scope a tool there needs');
  t.is((await fetch(`${gh.url}/.well-known/oauth-protected-resource/mcp/nope`)).status, 404);
  const unknown = await mcpPost(`${gh.resource}/nope`, listTools);
  t.is(unknown.status, 404);
  t.is(unknown.json.jsonrpc, '2.0');
});

test('audiences are separated: a /mcp token is refused at /mcp/<name> and the other way round; personal tokens work only at /mcp', async (t) => {
  const forMcp = await tokensFor(gh, ALICE);
  const forUpstream = await tokensFor({ ...gh, resource: upstreamUrl }, ALICE);
  const [mainAtUpstream, upstreamAtMain] = await Promise.all([
    mcpPost(upstreamUrl, listTools, { authorization: `Bearer ${forMcp.accessToken}` }),
    mcpPost(gh.resource, listTools, { authorization: `Bearer ${forUpstream.accessToken}` }),
  ]);
  for (const refused of [mainAtUpstream, upstreamAtMain]) {
    t.is(refused.status, 401);
    t.regex(refused.headers.get('www-authenticate')!, /error="invalid_token"/);
  }
  t.is((await openSession(upstreamUrl, forUpstream.accessToken)).length > 0, true, 'the right token works');

  const owner = await requireUserByEmail(gh.gatehouse.store, ALICE.email);
  const { token: pat } = await issuePersonalToken(gh.gatehouse.store, { ownerId: owner.id, name: 'n8n', scopes: ['mcp:tools'], expiresAt: null }, { actor: 'system' });
  const patAtUpstream = await mcpPost(upstreamUrl, listTools, { authorization: `Bearer ${pat}` });
  t.is(patAtUpstream.status, 401);
  t.regex(patAtUpstream.headers.get('www-authenticate')!, /only at \/mcp/);

  const unknownResource = await discover(gh.issuer).then(async (as) => {
    const client = await register(as, { redirect_uris: ['http://127.0.0.1:49720/cb'], token_endpoint_auth_method: 'none' });
    return obtainCode(as, client, new UserAgent(), ALICE, 'http://127.0.0.1:49720/cb', { resource: `${gh.resource}/nope` }).catch((error: Error) => error);
  });
  t.true(unknownResource instanceof Error, 'an upstream that does not exist is no resource to ask for');
});

test('a session belongs to its resource: an upstream session id is unknown at /mcp', async (t) => {
  const tokens = await tokensFor({ ...gh, resource: upstreamUrl }, ALICE);
  const sessionId = await openSession(upstreamUrl, tokens.accessToken);
  const elsewhere = await mcpPost(gh.resource, listTools, { 'mcp-session-id': sessionId });
  t.is(elsewhere.status, 404);
  const here = await mcpPost(upstreamUrl, listTools, { 'mcp-session-id': sessionId });
  t.is(here.status, 200, 'the session-bound fallback works at the upstream too');
});

test('the person consents per client and per upstream; a remembered consent for /mcp does not cover an upstream', async (t) => {
  const as = await discover(gh.issuer);
  const redirect = 'http://127.0.0.1:49721/cb';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'consent per upstream' });
  const agent = new UserAgent();
  const person = { ...ALICE, remember: true };
  const consentPages = () => agent.pages.filter((page) => page.html.includes('/consent"')).length;
  await obtainCode(as, client, agent, person, redirect, { resource: gh.resource, scope: 'mcp:tools' });
  t.is(consentPages(), 1);
  await obtainCode(as, client, agent, person, redirect, { resource: gh.resource, scope: 'mcp:tools' });
  t.is(consentPages(), 1, 'remembered for /mcp');
  await obtainCode(as, client, agent, person, redirect, { resource: upstreamUrl, scope: 'mcp:tools' });
  t.is(consentPages(), 2, 'asked again for the upstream');
  t.true(agent.lastPage.includes(upstreamUrl), 'the consent page names the upstream');
  await obtainCode(as, client, agent, person, redirect, { resource: upstreamUrl, scope: 'mcp:tools' });
  t.is(consentPages(), 2, 'remembered for the upstream too');
});

test('a denied tool is invisible and gets the same error as a tool that does not exist; a tool needing a scope the token lacks is 403', async (t) => {
  const tokens = await tokensFor({ ...gh, resource: upstreamUrl }, ALICE, { scope: 'mcp:tools' });
  const { client } = await connectV2({ resource: upstreamUrl }, tokens.accessToken);
  t.teardown(() => client.close());
  const names = (await client.listTools()).tools.map((tool) => tool.name);
  t.false(names.includes('get-env'));
  t.true(names.includes('echo'));
  const denied = await t.throwsAsync(client.callTool({ name: 'get-env', arguments: {} }));
  const unknown = await t.throwsAsync(client.callTool({ name: 'no-such-tool', arguments: {} }));
  t.is(denied!.message, unknown!.message.replace('no-such-tool', 'get-env'));
  t.is((denied as { code?: number }).code, -32602);

  const sessionId = await openSession(upstreamUrl, tokens.accessToken);
  const needsWrite = await mcpPost(upstreamUrl, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'get-sum', arguments: { a: 1, b: 2 } } }, {
    authorization: `Bearer ${tokens.accessToken}`,
    'mcp-session-id': sessionId,
  });
  t.is(needsWrite.status, 403);
  t.regex(needsWrite.headers.get('www-authenticate')!, /error="insufficient_scope", .*scope="mcp:tools mcp:write"/);
  t.regex(needsWrite.headers.get('www-authenticate')!, /oauth-protected-resource\/mcp\/everything/);

  const writer = await tokensFor({ ...gh, resource: upstreamUrl }, ALICE, { scope: 'mcp:tools mcp:write' });
  const { client: allowed } = await connectV2({ resource: upstreamUrl }, writer.accessToken);
  t.teardown(() => allowed.close());
  t.is(toolText(await allowed.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } })), 'The sum of 1 and 2 is 3.');
});

test('an allow list shows only those tools', async (t) => {
  const tokens = await tokensFor({ ...gh, resource: `${gh.resource}/narrow` }, ALICE);
  const { client } = await connectV2({ resource: `${gh.resource}/narrow` }, tokens.accessToken);
  t.teardown(() => client.close());
  t.deepEqual((await client.listTools()).tools.map((tool) => tool.name), ['echo']);
});

test('the 2026-07-28 era works at an upstream too (stateless, one upstream session per person and client)', async (t) => {
  const tokens = await tokensFor({ ...gh, resource: upstreamUrl }, ALICE);
  const { client } = await connectV2({ resource: upstreamUrl }, tokens.accessToken, { negotiate: true });
  t.teardown(() => client.close());
  t.is(toolText(await client.callTool({ name: 'echo', arguments: { message: 'modern' } })), 'Echo: modern');
});
