/**
 * The client matrix of CLIENTS.md, replayed over real HTTP against one
 * Gatehouse: each client's registration body and redirect URIs, the scope and
 * resource it asks for, its header habits and its call sequence, from the
 * unauthenticated first call through sign-in and consent to a tool call.
 */
import test from 'ava';
import { findUserByEmail } from '../../src/domain/accounts.ts';
import { issuePersonalToken } from '../../src/domain/personal-tokens.ts';
import { CLIENT_PROFILES, type ClientProfile } from '../helpers/clients.ts';
import { connectLikeN8n, mcpPost, toolText } from '../helpers/mcp.ts';
import { ALICE, BOB, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { LegacyWire, modernRequest, MODERN, signInLike, whoamiOf } from './client-replay.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

const profile = (name: string): ClientProfile => CLIENT_PROFILES.find((candidate) => candidate.name === name)!;

// --- Claude.ai (and Claude Desktop's hosted connector) -----------------------------------

const CLAUDE_AI_HTTP = { accept: '*/*', userAgent: 'Claude-User', protocolVersionHeader: false };

async function claudeAiSignIn(scope: string | undefined) {
  return signInLike(gh, ALICE, {
    userAgent: 'python-httpx/0.28.1',
    firstCall: 'initialize',
    registration: profile('Claude.ai').registration,
    redirectUri: profile('Claude.ai').authorizeRedirect,
    scope: () => scope,
    resource: (prmResource) => prmResource,
  });
}

test('Claude.ai, bearer only on initialize: DCR with client_secret_post, no scope, */*, no MCP-Protocol-Version, session-bound calls', async (t) => {
  const signedIn = await claudeAiSignIn(undefined);
  t.is(signedIn.client.token_endpoint_auth_method, 'client_secret_post', 'it got the method it asked for, and used the secret');
  t.is(signedIn.callback.searchParams.get('iss'), gh.issuer, 'RFC 9207 iss on the redirect');
  t.deepEqual(signedIn.scope.split(' ').sort(), ['mcp:tools', 'mcp:write'], 'no scope asked: the default grant');

  const wire = new LegacyWire(gh.resource, signedIn.accessToken, CLAUDE_AI_HTTP);
  const init = await wire.initialize('2025-11-25', { name: 'claude-ai', version: '0.1.0' });
  t.is(init.status, 200, init.text);
  t.regex(init.headers.get('content-type') ?? '', /^application\/json/, 'Accept */* gets plain JSON');
  t.is(init.messages[0].result.protocolVersion, '2025-11-25');
  t.truthy(wire.sessionId);

  // notifications/initialized arrives without the session (from another machine of theirs).
  const initialized = await wire.notifyInitialized({ bearer: false, session: false });
  t.is(initialized.status, 202);
  t.is(initialized.text, '');

  const list = await wire.request('tools/list', {}, { bearer: false });
  t.is(list.status, 200, list.text);
  t.true(list.messages[0].result.tools.some((tool: { name: string }) => tool.name === 'whoami'));
  const who = whoamiOf(await wire.request('tools/call', { name: 'whoami', arguments: {} }, { bearer: false }));
  t.is(who.user.email, ALICE.email);
  t.is(who.client.id, signedIn.clientId);
  t.is(who.client.name, 'Claude');
  t.is(who.protocolVersion, '2025-11-25');
  t.is(who.session, 'legacy session');

  // The GET stream it opens after OAuth, without the bearer too.
  const stream = await wire.openStream({ bearer: false });
  t.is(stream.status, 200);
  t.is(stream.contentType, 'text/event-stream');

  // DELETE, then at once a new initialize: a new session that works.
  const ended = wire.sessionId;
  t.is(await wire.delete({ bearer: false }), 200);
  const again = await wire.initialize('2025-11-25', { name: 'claude-ai', version: '0.1.0' });
  t.is(again.status, 200, again.text);
  t.not(wire.sessionId, ended);
  const added = await wire.request('tools/call', { name: 'notes_add', arguments: { text: 'from Claude.ai' } }, { bearer: false });
  t.is(added.status, 200, added.text);
  t.falsy(added.messages[0].result.isError, added.text);
  const stale = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 99, method: 'tools/list', params: {} }, { ...wire.headers({ bearer: false }), 'mcp-session-id': ended! });
  t.is(stale.status, 404, 'the ended session stays ended');
});

test('Claude.ai, bearer on every request: scope "claudeai", a fresh initialize before a tool call, DELETE then a new initialize', async (t) => {
  const signedIn = await claudeAiSignIn('claudeai');
  t.deepEqual(signedIn.scope.split(' ').sort(), ['mcp:tools', 'mcp:write'], 'an unknown scope gets the default grant, not invalid_scope');
  const wire = new LegacyWire(gh.resource, signedIn.accessToken, CLAUDE_AI_HTTP);
  t.is((await wire.initialize('2025-11-25')).status, 200);
  t.is((await wire.notifyInitialized()).status, 202);
  t.is((await wire.request('tools/list')).status, 200);

  // It re-initializes before the tool call, sending the old session id along.
  const first = wire.sessionId;
  const fresh = await wire.initialize('2025-11-25', { name: 'claude-ai', version: '0.1.0' }, { sendStaleSession: true });
  t.is(fresh.status, 200, fresh.text);
  t.not(wire.sessionId, first, 'an initialize always opens a new session');
  const who = whoamiOf(await wire.request('tools/call', { name: 'whoami', arguments: {} }));
  t.is(who.user.email, ALICE.email);
  t.is(who.client.name, 'Claude');

  t.is(await wire.delete(), 200);
  t.is((await wire.initialize('2025-11-25')).status, 200);
  t.is(whoamiOf(await wire.request('tools/call', { name: 'whoami', arguments: {} })).user.email, ALICE.email);
});

// --- Claude Code -----------------------------------------------------------------------

const claudeCodeOAuth = (resource: (prm: string) => string) => ({
  firstCall: 'server/discover' as const,
  registration: profile('Claude Code').registration,
  redirectUri: profile('Claude Code').authorizeRedirect,
  // From the challenge or the PRM, plus offline_access.
  scope: ({ resourceScopes }: { resourceScopes: string[] }) => [...resourceScopes, 'offline_access'].join(' '),
  resource,
});

test('Claude Code: probes server/discover with the 2026-07-28 envelope, gets a modern answer, and calls tools without a session', async (t) => {
  const signedIn = await signInLike(gh, ALICE, claudeCodeOAuth((prm) => prm));
  t.is(signedIn.callback.searchParams.get('iss'), gh.issuer, 'Claude Code checks iss');
  t.is(signedIn.issuer, gh.issuer, 'and that the metadata issuer is the one it discovered');
  t.is(signedIn.client.application_type, 'native');
  t.truthy(signedIn.refreshToken, 'offline_access brought a refresh token');
  t.true(signedIn.scope.includes('mcp:write'));

  const auth = { authorization: `Bearer ${signedIn.accessToken}`, accept: 'application/json, text/event-stream' };
  const discover = modernRequest(1, 'server/discover', {}, 'claude-code');
  const discovered = await mcpPost(gh.resource, discover.body, { ...auth, ...discover.headers });
  t.is(discovered.status, 200, discovered.text);
  t.true(discovered.messages[0].result.supportedVersions.includes(MODERN));
  t.is(discovered.headers.get('mcp-session-id'), null, 'no session in the modern era');

  const listed = modernRequest(2, 'tools/list', {}, 'claude-code');
  const list = await mcpPost(gh.resource, listed.body, { ...auth, ...listed.headers });
  t.true(list.messages[0].result.tools.some((tool: { name: string }) => tool.name === 'notes_search'));
  const call = modernRequest(3, 'tools/call', { name: 'whoami', arguments: {} }, 'claude-code');
  const who = whoamiOf(await mcpPost(gh.resource, call.body, { ...auth, ...call.headers }));
  t.is(who.user.email, ALICE.email);
  t.is(who.client.name, 'Claude Code (gatehouse)');
  t.is(who.era, 'modern');
  t.is(who.session, 'none (stateless request)');
});

test('Claude Code, falling back: a probe Gatehouse cannot serve gets 400, then initialize 2025-11-25 with a trailing-slash resource works', async (t) => {
  // A Claude Code newer than this server probes with a revision Gatehouse does not know.
  const signedIn = await signInLike(gh, ALICE, claudeCodeOAuth((prm) => `${prm}/`));
  const auth = { authorization: `Bearer ${signedIn.accessToken}`, accept: 'application/json, text/event-stream' };
  const probe = modernRequest(1, 'server/discover', {}, 'claude-code', { version: '2099-01-01' });
  const refused = await mcpPost(gh.resource, probe.body, { ...auth, ...probe.headers });
  t.is(refused.status, 400, refused.text);
  t.is(refused.messages[0].error.code, -32022, 'unsupported protocol version');
  t.deepEqual(refused.messages[0].error.data.supported, [MODERN]);

  const wire = new LegacyWire(gh.resource, signedIn.accessToken, { accept: 'application/json, text/event-stream', protocolVersionHeader: true });
  const init = await wire.initialize('2025-11-25', { name: 'claude-code', version: '2.1.0' });
  t.is(init.status, 200, init.text);
  t.is((await wire.notifyInitialized()).status, 202);
  const stream = await wire.openStream();
  t.is(stream.status, 200, 'the GET stream it opens after initialized');
  const who = whoamiOf(await wire.request('tools/call', { name: 'whoami', arguments: {} }));
  t.is(who.user.email, ALICE.email);
  t.is(who.era, 'legacy');
  t.is(who.protocolVersion, '2025-11-25');
});

// --- n8n -------------------------------------------------------------------------------

/** n8n's MCP Client Tool: a v1 SDK client, a new one per agent run, the bearer on every request (GET included). */
async function n8nAgentRun(token: string) {
  const { client, seen, getStreamOpened } = await connectLikeN8n(gh, token);
  try {
    const { tools } = await client.listTools();
    const who = JSON.parse(toolText(await client.callTool({ name: 'whoami', arguments: {} })));
    await getStreamOpened();
    return { tools: tools.map((tool) => tool.name), who, seen };
  } finally {
    await client.close();
  }
}

test('n8n with OAuth2: asks for every scope the server lists, resource without a trailing slash, then two agent runs', async (t) => {
  const signedIn = await signInLike(gh, ALICE, {
    firstCall: 'initialize',
    registration: profile('n8n').registration,
    redirectUri: profile('n8n').authorizeRedirect,
    scope: ({ serverScopes }) => serverScopes.join(' '),
    resource: (prm) => prm.replace(/\/$/, ''),
  });
  t.true(signedIn.askedScope!.includes('openid'), `it asked for all of scopes_supported: ${signedIn.askedScope}`);
  t.true(signedIn.scope.includes('mcp:tools'));
  for (let run = 0; run < 2; run++) {
    const { tools, who, seen } = await n8nAgentRun(signedIn.accessToken);
    t.true(tools.includes('notes_add'));
    t.is(who.user.email, ALICE.email);
    t.is(who.client.name, 'n8n');
    t.true(seen.some((request) => request.method === 'GET'), 'it opened its GET stream');
    t.true(seen.every((request) => request.authorization === `Bearer ${signedIn.accessToken}`), 'the bearer on every request, GET included');
  }
});

test('n8n with a Bearer credential: a personal access token pasted in, on every request', async (t) => {
  const bob = await findUserByEmail(gh.gatehouse.store, BOB.email);
  const { token } = await issuePersonalToken(gh.gatehouse.store, { ownerId: bob!.id, name: 'n8n', scopes: ['mcp:tools', 'mcp:write'], expiresAt: Date.now() + 90 * 86_400_000 }, { actor: 'test' });
  const { who, seen } = await n8nAgentRun(token);
  t.is(who.user.email, BOB.email);
  t.is(who.credential, 'personal access token');
  t.true(seen.some((request) => request.method === 'GET'));
  t.true(seen.every((request) => request.authorization === `Bearer ${token}`));
});

// --- VS Code ---------------------------------------------------------------------------

test('VS Code: loopback redirect on a random port, no MCP-Protocol-Version on MCP calls, GET stream, DELETE on close, 404 then a new session', async (t) => {
  const signedIn = await signInLike(gh, ALICE, {
    firstCall: 'initialize',
    registration: profile('VS Code').registration,
    redirectUri: profile('VS Code').authorizeRedirect,
    scope: ({ challengeScope }) => challengeScope,
    resource: (prm) => prm,
  });
  t.is(signedIn.callback.origin, 'http://127.0.0.1:41877', 'a port it never registered, allowed for loopback (RFC 8252)');
  t.is(signedIn.scope, 'mcp:tools mcp:write', 'the scope from the challenge: every tool, after one consent');

  const wire = new LegacyWire(gh.resource, signedIn.accessToken, { accept: 'application/json, text/event-stream', protocolVersionHeader: false });
  t.is((await wire.initialize('2025-06-18', { name: 'Visual Studio Code', version: '1.106.0' })).status, 200);
  t.is((await wire.notifyInitialized()).status, 202);
  const stream = await wire.openStream();
  t.is(stream.status, 200, 'any status of 400 or more would disable the stream for good');
  t.regex(stream.firstBytes, /^:/, 'the first bytes (a comment) come at once');
  const who = whoamiOf(await wire.request('tools/call', { name: 'whoami', arguments: {} }));
  t.is(who.client.name, 'Visual Studio Code');
  t.is(who.protocolVersion, '2025-06-18');
  t.true(who.scopes.includes('mcp:write'), 'what the challenge named covers every tool');
  const write = await wire.request('tools/call', { name: 'notes_add', arguments: { text: 'one consent is enough' } });
  t.is(write.status, 200, 'a writing tool works without a second consent');

  // Closing the window: DELETE. On the next start its remembered session gets 404, and it starts a new one.
  t.is(await wire.delete(), 200);
  const stale = await wire.request('tools/list');
  t.is(stale.status, 404);
  t.is((await wire.initialize('2025-06-18')).status, 200);
  t.is((await wire.request('tools/list')).status, 200);
});

// --- Cursor ----------------------------------------------------------------------------

test('Cursor: one registration with three redirect URIs, a sign-in through each of them, then initialize, GET stream and a tool call', async (t) => {
  const { registration } = profile('Cursor');
  const uris = registration.redirect_uris as string[];
  let registered: Record<string, any> | undefined;
  for (const redirectUri of uris) {
    const signedIn = await signInLike(gh, BOB, { firstCall: 'initialize', registration, redirectUri, resource: (prm) => prm, ...(registered ? { registered } : {}) });
    registered = signedIn.client;
    t.deepEqual(signedIn.client.redirect_uris, uris, 'all three registered at once');
    t.is(signedIn.callback.protocol, new URL(redirectUri).protocol);
    const wire = new LegacyWire(gh.resource, signedIn.accessToken, { accept: 'application/json, text/event-stream', protocolVersionHeader: true });
    t.is((await wire.initialize('2025-06-18', { name: 'cursor-vscode', version: '1.0.0' })).status, 200);
    t.is((await wire.notifyInitialized()).status, 202);
    t.is((await wire.openStream()).status, 200, 'a 400 or 404 here sends Cursor into a reconnect loop');
    const who = whoamiOf(await wire.request('tools/call', { name: 'whoami', arguments: {} }));
    t.is(who.user.email, BOB.email);
    t.is(who.client.name, 'Cursor');
  }
});
