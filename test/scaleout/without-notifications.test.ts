import test from 'ava';
import { startPair, type Pair } from '../helpers/cluster.ts';
import { initializeRequest, mcpPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { postForm } from '../helpers/oauth.ts';
import { ALICE } from '../helpers/server.ts';

// With the notification channel off (as behind a transaction-pooling PgBouncer),
// what another instance believes about grants and tokens expires on its own
// after GRANT_CHECK_CACHE: the revocation tests wait out that bound, then check.
// Held sessions do not depend on notifications at all.
const BOUND_MS = 1000;
let pair: Pair;
test.before(async () => {
  pair = await startPair({ DATABASE_NOTIFICATIONS: 'off', GRANT_CHECK_CACHE: `${BOUND_MS / 1000}s` });
});
test.after.always(async () => pair?.close());

const list = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/list' });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const waitOutTheBound = () => new Promise((resolve) => setTimeout(resolve, BOUND_MS + 50));

test('a session ended by DELETE on B is 404 on A on the next request: held sessions are confirmed with the Store', async (t) => {
  const tokens = await tokensFor(pair, ALICE);
  const sessionId = await openSession(pair.mcpA, tokens.accessToken);
  t.is((await mcpPost(pair.mcpA, list(2), { 'mcp-session-id': sessionId })).status, 200, 'A holds the session');
  const deleted = await fetch(pair.mcpB, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });
  t.is(deleted.status, 200);
  t.is((await mcpPost(pair.mcpA, list(3), { 'mcp-session-id': sessionId })).status, 404);
});

test('a grant revoked through A stops its token and the session-bound fallback on B within the bound', async (t) => {
  const tokens = await tokensFor(pair, ALICE);
  const sessionId = await openSession(pair.mcpA, tokens.accessToken);
  t.is((await mcpPost(pair.mcpB, list(2), { 'mcp-session-id': sessionId })).status, 200, 'B holds the session and believes the grant');
  t.is((await postForm(`${pair.a.url}/revoke`, { token: tokens.refreshToken, client_id: tokens.clientId })).status, 200);
  await waitOutTheBound();
  t.is((await mcpPost(pair.mcpB, list(3), { 'mcp-session-id': sessionId })).status, 401);
  t.is((await mcpPost(pair.mcpB, initializeRequest(), bearer(tokens.accessToken))).status, 401);
});

test('a client deleted through A has no token and no session left on B within the bound', async (t) => {
  const registration = (await fetch(`${pair.a.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:49811/callback'], token_endpoint_auth_method: 'none', client_name: 'Deleted on A' }),
  }).then((response) => response.json())) as Record<string, string>;
  const { discover, obtainCode } = await import('../helpers/oauth.ts');
  const { UserAgent } = await import('../helpers/user-agent.ts');
  const redirect = 'http://127.0.0.1:49811/callback';
  const { code, verifier } = await obtainCode(await discover(pair.issuer), { client_id: registration.client_id! }, new UserAgent(), ALICE, redirect);
  const tokens = await postForm(`${pair.b.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: registration.client_id! });
  const accessToken = String(tokens.json.access_token);
  const sessionId = await openSession(pair.mcpB, accessToken);
  t.is((await mcpPost(pair.mcpB, list(2), { 'mcp-session-id': sessionId })).status, 200);

  const deleted = await fetch(`${pair.a.url}/register/${registration.client_id}`, { method: 'DELETE', headers: bearer(registration.registration_access_token!) });
  t.is(deleted.status, 204);
  await waitOutTheBound();
  t.is((await mcpPost(pair.mcpB, list(3), { 'mcp-session-id': sessionId })).status, 404);
  t.is((await mcpPost(pair.mcpB, initializeRequest(), bearer(accessToken))).status, 401);
});
