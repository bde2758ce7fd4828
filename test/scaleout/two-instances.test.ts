import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { decodeProtectedHeader } from 'jose';
import { hashSessionId } from '../../src/mcp/sessions/registry.ts';
import { startPair, type Pair } from '../helpers/cluster.ts';
import { connectV1, connectV2, initializeRequest, mcpPost, openSession, tokensFor, toolText } from '../helpers/mcp.ts';
import { postForm } from '../helpers/oauth.ts';
import { ALICE, BOB } from '../helpers/server.ts';

// One pair of instances for the file; tests that pin the balancer run one at a time.
// Liveness is believed for an hour here, so whatever stops a revoked token on
// the other instance is the notification, not the cache running out (that
// bound has its own tests in without-notifications.test.ts).
let pair: Pair;
test.before(async () => {
  pair = await startPair({ GRANT_CHECK_CACHE: '1h' });
});
test.after.always(async () => pair?.close());

const run = promisify(execFile);
const list = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/list' });
const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const whoami = (answer: { messages: any[] }) => JSON.parse(toolText(answer.messages[0].result));

/**
 * Asks until the answer is `expected`. Notifications arrive asynchronously,
 * a few milliseconds after the change; the test's own timeout is the only limit.
 */
async function eventually(t: { log(...values: unknown[]): void; fail(message: string): void }, what: string, ask: () => Promise<{ status: number }>, expected: number): Promise<void> {
  const started = performance.now();
  let status = 0;
  while ((status = (await ask()).status) !== expected) {
    // Well past GRANT_CHECK_CACHE: a revocation that has not landed by now never will.
    if (performance.now() - started > 10_000) return t.fail(`${what}: still ${status} after 10 s, expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.log(`${what}: ${expected} after ${Math.round(performance.now() - started)} ms`);
}

test.serial('a client registers and authorizes through A; its token works on B, and B refreshes it', async (t) => {
  pair.balancer.pin(pair.a.url);
  const tokens = await tokensFor(pair, ALICE, { clientName: 'Registered on A' });
  pair.balancer.pin(undefined);
  t.is(pair.balancer.served.get(pair.b.url) ?? 0, 0, 'B has not seen the client yet');

  const onB = await mcpPost(pair.mcpB, initializeRequest(), bearer(tokens.accessToken));
  t.is(onB.status, 200, onB.text);
  const refreshed = await postForm(`${pair.b.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
  t.is(refreshed.status, 200, refreshed.text);
  const modern = await connectV2({ resource: pair.mcpB }, String(refreshed.json.access_token), { negotiate: true });
  t.teardown(() => modern.client.close());
  t.is(JSON.parse(toolText(await modern.client.callTool({ name: 'whoami', arguments: {} }))).user.email, ALICE.email);
});

test.serial('the whole OAuth flow and an SDK session work with every request going to the other instance than the last', async (t) => {
  pair.balancer.served.clear();
  const tokens = await tokensFor(pair, BOB);
  const { client, transport } = await connectV1(pair, tokens.accessToken);
  t.teardown(() => client.close());
  for (let i = 0; i < 6; i++) await client.callTool({ name: 'notes_add', arguments: { text: `note ${i}` } });
  const notes = JSON.parse(toolText(await client.callTool({ name: 'notes_list', arguments: {} })));
  t.is(notes.notes.length, 6, 'notes written through both instances are all there');
  t.truthy(transport.sessionId);
  t.true((pair.balancer.served.get(pair.a.url) ?? 0) > 5 && (pair.balancer.served.get(pair.b.url) ?? 0) > 5, 'both instances served');
});

test('a legacy session initialized on A is used on B with and without bearer, with its capabilities', async (t) => {
  const tokens = await tokensFor(pair, ALICE);
  const capabilities = { sampling: {}, elicitation: { form: {} } };
  const init = await mcpPost(
    pair.mcpA,
    { ...initializeRequest('2025-06-18'), params: { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 'started-on-a', version: '1.0' } } },
    bearer(tokens.accessToken),
  );
  t.is(init.status, 200);
  const sessionId = init.headers.get('mcp-session-id')!;
  t.is((await mcpPost(pair.mcpA, call(2, 'whoami'), { 'mcp-session-id': sessionId })).status, 200);

  const withBearer = await mcpPost(pair.mcpB, call(3, 'whoami'), { ...bearer(tokens.accessToken), 'mcp-session-id': sessionId });
  t.is(withBearer.status, 200, withBearer.text);
  t.is(whoami(withBearer).user.email, ALICE.email);
  t.is(whoami(withBearer).protocolVersion, '2025-06-18');
  const withoutBearer = await mcpPost(pair.mcpB, call(4, 'client_profile'), { 'mcp-session-id': sessionId });
  t.is(withoutBearer.status, 200, withoutBearer.text);
  const profile = JSON.parse(toolText(withoutBearer.messages[0].result));
  t.deepEqual(profile.capabilities, capabilities, 'B rebuilt the session from the stored initialize');
  t.is(profile.clientInfo.name, 'started-on-a');
  // And back on A, which still holds it.
  t.is((await mcpPost(pair.mcpA, list(5), { 'mcp-session-id': sessionId })).status, 200);
});

test('a session ended by DELETE on B is 404 on A, and a call in flight on A still gets its answer', async (t) => {
  const tokens = await tokensFor(pair, ALICE);
  const sessionId = await openSession(pair.mcpA, tokens.accessToken);
  t.is((await mcpPost(pair.mcpA, list(2), { 'mcp-session-id': sessionId })).status, 200, 'A holds the session');

  const inFlight = mcpPost(pair.mcpA, call(3, 'slow_echo', { text: 'finished on A', ms: 800 }), { 'mcp-session-id': sessionId });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const deleted = await fetch(pair.mcpB, { method: 'DELETE', headers: { ...bearer(tokens.accessToken), 'mcp-session-id': sessionId } });
  t.is(deleted.status, 200);

  t.is((await mcpPost(pair.mcpA, list(4), { 'mcp-session-id': sessionId })).status, 404, 'without bearer');
  t.is((await mcpPost(pair.mcpA, list(5), { ...bearer(tokens.accessToken), 'mcp-session-id': sessionId })).status, 404, 'with bearer');
  t.is((await mcpPost(pair.mcpB, list(6), { 'mcp-session-id': sessionId })).status, 404);
  const answer = await inFlight;
  t.is(answer.status, 200);
  t.is(toolText(answer.messages.find((message) => message.id === 3).result), 'finished on A');
});

test('a grant revoked through A stops its token and the session-bound fallback on B', async (t) => {
  const tokens = await tokensFor(pair, ALICE);
  const sessionId = await openSession(pair.mcpA, tokens.accessToken);
  // B holds the session and believes the grant is live.
  t.is((await mcpPost(pair.mcpB, list(2), { 'mcp-session-id': sessionId })).status, 200);
  t.is((await mcpPost(pair.mcpB, initializeRequest(), bearer(tokens.accessToken))).status, 200);

  const revoked = await postForm(`${pair.a.url}/revoke`, { token: tokens.refreshToken, client_id: tokens.clientId });
  t.is(revoked.status, 200);

  await eventually(t, 'bearer-less on B', () => mcpPost(pair.mcpB, list(3), { 'mcp-session-id': sessionId }), 401);
  const fallback = await mcpPost(pair.mcpB, list(3), { 'mcp-session-id': sessionId });
  t.regex(fallback.headers.get('www-authenticate') ?? '', /resource_metadata=/);
  t.is((await mcpPost(pair.mcpB, list(4), { ...bearer(tokens.accessToken), 'mcp-session-id': sessionId })).status, 401);
  t.is((await mcpPost(pair.mcpB, initializeRequest(), bearer(tokens.accessToken))).status, 401);
});

test('a client deleted through A (RFC 7592) has no token and no session left on B', async (t) => {
  const redirect = 'http://127.0.0.1:49810/callback';
  const registration = (await fetch(`${pair.a.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'Deleted on A' }),
  }).then((response) => response.json())) as Record<string, string>;
  const { discover, obtainCode } = await import('../helpers/oauth.ts');
  const { UserAgent } = await import('../helpers/user-agent.ts');
  const { code, verifier } = await obtainCode(await discover(pair.issuer), { client_id: registration.client_id! }, new UserAgent(), ALICE, redirect);
  const tokens = await postForm(`${pair.b.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: registration.client_id! });
  const accessToken = String(tokens.json.access_token);
  const sessionId = await openSession(pair.mcpB, accessToken);
  t.is((await mcpPost(pair.mcpB, list(2), { 'mcp-session-id': sessionId })).status, 200);

  const deleted = await fetch(registration.registration_client_uri!.replace(pair.issuer, pair.a.url), {
    method: 'DELETE',
    headers: bearer(registration.registration_access_token!),
  });
  t.is(deleted.status, 204);

  t.is((await mcpPost(pair.mcpB, list(3), { 'mcp-session-id': sessionId })).status, 404, 'its session ended on B');
  await eventually(t, 'its token on B', () => mcpPost(pair.mcpB, initializeRequest(), bearer(accessToken)), 401);
  const refresh = await postForm(`${pair.b.url}/token`, { grant_type: 'refresh_token', refresh_token: String(tokens.json.refresh_token), client_id: registration.client_id! });
  t.is(refresh.status, 401);
});

test('a personal access token revoked from the command line stops on both instances', async (t) => {
  const env = { ...process.env, DATABASE_URL: pair.database.url };
  const created = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'create', '--user', ALICE.email, '--name', 'script'], { env });
  const token = /(gatehouse_pat_\S+)/.exec(created.stdout)![1]!;
  const id = /^token (\S+)/m.exec(created.stdout)![1]!;
  const sessionId = await openSession(pair.mcpA, token);
  t.is((await mcpPost(pair.mcpB, list(2), { 'mcp-session-id': sessionId })).status, 200);
  t.is((await mcpPost(pair.mcpA, list(3), { 'mcp-session-id': sessionId })).status, 200);

  await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'revoke', id], { env });
  for (const [name, mcp] of [['A', pair.mcpA], ['B', pair.mcpB]] as const) {
    // The CLI revokes as the admin page does: the token's sessions end with it.
    await eventually(t, `its session on ${name}`, () => mcpPost(mcp, list(4), { 'mcp-session-id': sessionId }), 404);
    t.is((await mcpPost(mcp, initializeRequest(), bearer(token))).status, 401);
  }
});

test('a session rebound with a fresh token on B is used on A without bearer after the old token is gone', async (t) => {
  const tokens = await tokensFor(pair, ALICE);
  const sessionId = await openSession(pair.mcpA, tokens.accessToken);
  t.is((await mcpPost(pair.mcpA, list(2), { 'mcp-session-id': sessionId })).status, 200);
  const refreshed = await postForm(`${pair.b.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
  t.is((await mcpPost(pair.mcpB, list(3), { ...bearer(String(refreshed.json.access_token)), 'mcp-session-id': sessionId })).status, 200);
  const row = await pair.store.get<{ token_expires_at: number }>('SELECT token_expires_at FROM mcp_sessions WHERE id_hash = ?', [hashSessionId(sessionId)]);
  const claims = JSON.parse(Buffer.from(String(refreshed.json.access_token).split('.')[1]!, 'base64url').toString());
  t.is(row?.token_expires_at, claims.exp * 1000, 'the binding in the Store carries the new token');
  t.is((await mcpPost(pair.mcpA, list(4), { 'mcp-session-id': sessionId })).status, 200);
});

test.serial('keys rotated from the command line: a restarted A signs with the new key and B verifies it without a restart', async (t) => {
  const env = { ...process.env, DATABASE_URL: pair.database.url };
  const before = await tokensFor({ issuer: pair.issuer, url: pair.a.url, resource: pair.resource }, ALICE);
  await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'keys', 'rotate'], { env });

  const port = new URL(pair.a.url).port;
  await pair.a.stop();
  const { spawnGatehouse } = await import('../helpers/server.ts');
  pair.a = await spawnGatehouse({ port: Number(port), env: { PUBLIC_URL: pair.issuer, DATABASE_URL: pair.database.url, TOOLS_MODULES: 'test/fixtures/test-tools.ts', LOG_LEVEL: 'warn' } });

  pair.balancer.pin(pair.a.url);
  const after = await tokensFor(pair, ALICE);
  pair.balancer.pin(undefined);
  t.not(decodeProtectedHeader(after.accessToken).kid, decodeProtectedHeader(before.accessToken).kid, 'A signs with the new key');
  t.is((await mcpPost(pair.mcpB, initializeRequest(), bearer(after.accessToken))).status, 200, 'B verifies the new key');
  t.is((await mcpPost(pair.mcpB, initializeRequest(), bearer(before.accessToken))).status, 200, 'tokens signed before keep working');
});
