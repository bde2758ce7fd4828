import test from 'ava';
import { initializeRequest, mcpPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { postForm } from '../helpers/oauth.ts';
import { ALICE, BOB, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

let gh: RunningGatehouse;
test.before(async () => {
  // Liveness is re-checked on every request here, so revocation lands at once.
  gh = await startGatehouse({ env: { GRANT_CHECK_CACHE: '0s' } });
});
test.after.always(async () => gh?.close());

const list = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/list' });
const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

test('Claude.ai-like: bearer only on initialize, then calls with just the session id', async (t) => {
  const tokens = await tokensFor(gh, ALICE, { clientName: 'Claude' });
  const init = await mcpPost(gh.resource, initializeRequest('2025-11-25'), { authorization: `Bearer ${tokens.accessToken}`, 'user-agent': 'Claude-User' });
  const sessionId = init.headers.get('mcp-session-id')!;
  // notifications/initialized arrives without the session (from another IP, in real life).
  const initialized = await mcpPost(gh.resource, { jsonrpc: '2.0', method: 'notifications/initialized' }, {});
  t.is(initialized.status, 202);

  const tools = await mcpPost(gh.resource, list(2), { 'mcp-session-id': sessionId, accept: '*/*' });
  t.is(tools.status, 200, tools.text);
  t.true(tools.messages[0].result.tools.length > 0);
  const who = await mcpPost(gh.resource, call(3, 'whoami'), { 'mcp-session-id': sessionId });
  t.is(JSON.parse(who.messages[0].result.content[0].text).user.email, ALICE.email);
});

test('Claude.ai-like: DELETE, then at once a new initialize and a call', async (t) => {
  const tokens = await tokensFor(gh, ALICE);
  const first = await openSession(gh.resource, tokens.accessToken);
  const [deleted, reopened] = await Promise.all([
    fetch(gh.resource, { method: 'DELETE', headers: { 'mcp-session-id': first } }),
    mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${tokens.accessToken}` }),
  ]);
  t.is(deleted.status, 200);
  const second = reopened.headers.get('mcp-session-id')!;
  t.not(second, first);
  const called = await mcpPost(gh.resource, call(2, 'whoami'), { 'mcp-session-id': second });
  t.is(called.status, 200);
  t.is((await mcpPost(gh.resource, list(3), { 'mcp-session-id': first })).status, 404);
});

test("another person's bearer on a session is refused as if the session did not exist; a guessed id is 404", async (t) => {
  const alice = await tokensFor(gh, ALICE);
  const bob = await tokensFor(gh, BOB);
  const sessionId = await openSession(gh.resource, alice.accessToken);
  const hijack = await mcpPost(gh.resource, call(2, 'whoami'), { authorization: `Bearer ${bob.accessToken}`, 'mcp-session-id': sessionId });
  const guessed = await mcpPost(gh.resource, call(2, 'whoami'), { authorization: `Bearer ${bob.accessToken}`, 'mcp-session-id': `${sessionId.slice(0, -3)}abc` });
  t.is(hijack.status, 404);
  t.is(guessed.status, 404);
  t.is(hijack.text, guessed.text, 'the same answer: nothing leaks about the real session');
  const anonymousGuess = await mcpPost(gh.resource, call(2, 'whoami'), { 'mcp-session-id': 'x'.repeat(43) });
  t.is(anonymousGuess.status, 404);
  // Alice's session is untouched.
  const still = await mcpPost(gh.resource, call(3, 'whoami'), { 'mcp-session-id': sessionId });
  t.is(JSON.parse(still.messages[0].result.content[0].text).user.email, ALICE.email);
});

test('revoking the grant ends the fallback: bearer-less requests get 401 with the challenge', async (t) => {
  const tokens = await tokensFor(gh, ALICE);
  const sessionId = await openSession(gh.resource, tokens.accessToken);
  t.is((await mcpPost(gh.resource, list(2), { 'mcp-session-id': sessionId })).status, 200);
  const revoked = await postForm(`${gh.url}/revoke`, { token: tokens.refreshToken, client_id: tokens.clientId });
  t.is(revoked.status, 200);
  const after = await mcpPost(gh.resource, list(3), { 'mcp-session-id': sessionId });
  t.is(after.status, 401);
  t.regex(after.headers.get('www-authenticate') ?? '', /resource_metadata=/);
  const withOldBearer = await mcpPost(gh.resource, list(4), { authorization: `Bearer ${tokens.accessToken}`, 'mcp-session-id': sessionId });
  t.is(withOldBearer.status, 401, 'the access token of a revoked grant is dead too');
});

test('deleting the client (RFC 7592) ends its sessions and tokens', async (t) => {
  const redirect = 'http://127.0.0.1:49800/callback';
  const registration = await fetch(`${gh.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'Doomed' }),
  }).then((r) => r.json() as Promise<Record<string, string>>);
  const { discover, obtainCode } = await import('../helpers/oauth.ts');
  const { UserAgent } = await import('../helpers/user-agent.ts');
  const { code, verifier } = await obtainCode(await discover(gh.issuer), { client_id: registration.client_id! }, new UserAgent(), ALICE, redirect);
  const tokens = await postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: registration.client_id! });
  const sessionId = await openSession(gh.resource, String(tokens.json.access_token));

  const deleted = await fetch(registration.registration_client_uri!, { method: 'DELETE', headers: { authorization: `Bearer ${registration.registration_access_token}` } });
  t.is(deleted.status, 204);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const bearerless = await mcpPost(gh.resource, list(2), { 'mcp-session-id': sessionId });
  t.is(bearerless.status, 404, 'the session ended with its client');
  const fresh = await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${tokens.json.access_token}` });
  t.is(fresh.status, 401, 'the access token died with its grant');
});

test('a personal access token: sessions bound to it end when it is revoked', async (t) => {
  const { issuePersonalToken } = await import('../../src/domain/personal-tokens.ts');
  const { findUserByEmail } = await import('../../src/domain/accounts.ts');
  const user = (await findUserByEmail(gh.gatehouse.store, ALICE.email))!;
  const { token, record } = await issuePersonalToken(gh.gatehouse.store, { ownerId: user.id, name: 'n8n', scopes: ['mcp:tools'], expiresAt: null }, { actor: 'test' });
  const sessionId = await openSession(gh.resource, token);
  t.is((await mcpPost(gh.resource, list(2), { 'mcp-session-id': sessionId })).status, 200);
  await gh.gatehouse.access.revokePersonalToken(record.id, { actor: 'test' });
  t.is((await mcpPost(gh.resource, list(3), { 'mcp-session-id': sessionId })).status, 404);
  t.is((await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${token}` })).status, 401);
});

test('a revoked PAT stops the fallback even on another instance that still holds the session', async (t) => {
  // Revoked directly in the Store (as another instance or the CLI would), without ending sessions here.
  const { issuePersonalToken } = await import('../../src/domain/personal-tokens.ts');
  const { findUserByEmail } = await import('../../src/domain/accounts.ts');
  const user = (await findUserByEmail(gh.gatehouse.store, ALICE.email))!;
  const { token, record } = await issuePersonalToken(gh.gatehouse.store, { ownerId: user.id, name: 'script', scopes: ['mcp:tools'], expiresAt: null }, { actor: 'test' });
  const sessionId = await openSession(gh.resource, token);
  await gh.gatehouse.store.run('UPDATE personal_access_tokens SET revoked_at = ? WHERE id = ?', [Date.now(), record.id]);
  const after = await mcpPost(gh.resource, list(2), { 'mcp-session-id': sessionId });
  t.is(after.status, 401);
  t.regex(after.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
});

test('a fresh bearer for the same person and client renews the binding', async (t) => {
  const tokens = await tokensFor(gh, ALICE);
  const sessionId = await openSession(gh.resource, tokens.accessToken);
  const refreshed = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
  const renewed = await mcpPost(gh.resource, list(2), { authorization: `Bearer ${refreshed.json.access_token}`, 'mcp-session-id': sessionId });
  t.is(renewed.status, 200);
  const { hashSessionId } = await import('../../src/mcp/sessions/registry.ts');
  const row = await gh.gatehouse.store.get<{ token_expires_at: number }>('SELECT token_expires_at FROM mcp_sessions WHERE id_hash = ?', [hashSessionId(sessionId)]);
  const claims = JSON.parse(Buffer.from(String(refreshed.json.access_token).split('.')[1]!, 'base64url').toString());
  t.is(row?.token_expires_at, claims.exp * 1000, 'the stored binding now carries the new token\'s expiry');
});

test('session ids are stored only as hashes', async (t) => {
  const tokens = await tokensFor(gh, ALICE);
  const sessionId = await openSession(gh.resource, tokens.accessToken);
  const rows = await gh.gatehouse.store.all<{ id_hash: string }>('SELECT id_hash FROM mcp_sessions');
  t.false(rows.some((row) => row.id_hash === sessionId));
  const { hashSessionId } = await import('../../src/mcp/sessions/registry.ts');
  t.true(rows.some((row) => row.id_hash === hashSessionId(sessionId)));
});

test.serial('SESSION_AUTH_FALLBACK=off: every request needs its bearer', async (t) => {
  const strict = await startGatehouse({ env: { SESSION_AUTH_FALLBACK: 'off' } });
  t.teardown(() => strict.close());
  const tokens = await tokensFor(strict, ALICE);
  const sessionId = await openSession(strict.resource, tokens.accessToken);
  const without = await mcpPost(strict.resource, list(2), { 'mcp-session-id': sessionId });
  t.is(without.status, 401);
  t.regex(without.headers.get('www-authenticate') ?? '', /resource_metadata=/);
  const withBearer = await mcpPost(strict.resource, list(3), { authorization: `Bearer ${tokens.accessToken}`, 'mcp-session-id': sessionId });
  t.is(withBearer.status, 200);
});

test.serial('when the token behind a session expires, bearer-less requests get 401 with the challenge', async (t) => {
  const shortLived = await startGatehouse({ env: { ACCESS_TOKEN_TTL: '2s', GRANT_CHECK_CACHE: '0s' } });
  t.teardown(() => shortLived.close());
  const tokens = await tokensFor(shortLived, ALICE);
  const sessionId = await openSession(shortLived.resource, tokens.accessToken);
  t.is((await mcpPost(shortLived.resource, list(2), { 'mcp-session-id': sessionId })).status, 200);
  // Wait out the token's own `exp` (seconds, so 1 to 2 s from now) rather than a fixed 2.6 s.
  const { exp } = JSON.parse(Buffer.from(tokens.accessToken.split('.')[1]!, 'base64url').toString()) as { exp: number };
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 100));
  const expired = await mcpPost(shortLived.resource, list(3), { 'mcp-session-id': sessionId });
  t.is(expired.status, 401);
  t.regex(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  // A refreshed token brings the same session back.
  const refreshed = await postForm(`${shortLived.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
  t.is((await mcpPost(shortLived.resource, list(4), { authorization: `Bearer ${refreshed.json.access_token}`, 'mcp-session-id': sessionId })).status, 200);
  t.is((await mcpPost(shortLived.resource, list(5), { 'mcp-session-id': sessionId })).status, 200, 'and renews the fallback');
});
