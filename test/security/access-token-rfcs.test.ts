/**
 * Finding 12: the discovery document advertises /introspect (RFC 7662) and
 * /revoke (RFC 7009), but both refuse our own access tokens
 * (`unsupported_token_type`: they are JWTs). A client must be able to ask
 * whether its token is active, and to revoke it when it signs out, and the
 * revocation must reach /mcp within GRANT_CHECK_CACHE on every instance.
 */
import test from 'ava';
import { startPair } from '../helpers/cluster.ts';
import { initializeRequest, mcpPost, tokensFor } from '../helpers/mcp.ts';
import { postForm } from '../helpers/oauth.ts';
import { ALICE, BOB, startGatehouse, testEngine, type RunningGatehouse } from '../helpers/server.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse({ env: { GRANT_CHECK_CACHE: '1s' } });
});
test.after.always(async () => gh?.close());

const introspect = (baseUrl: string, token: string, clientId: string) => postForm(`${baseUrl}/introspect`, { token, client_id: clientId });

/** Asks until /mcp refuses the token, or the deadline passes; resolves to the last status. */
async function refusedWithin(resource: string, token: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { status } = await mcpPost(resource, initializeRequest(), { authorization: `Bearer ${token}` });
    if (status === 401 || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('introspection by the client that owns an access token says it is active, with client_id, scope, sub, exp and aud', async (t) => {
  const issued = await tokensFor(gh, ALICE);
  const answer = await introspect(gh.url, issued.accessToken, issued.clientId);
  t.is(answer.status, 200, answer.text);
  t.is(answer.json.active, true);
  t.is(answer.json.client_id, issued.clientId);
  t.is(answer.json.scope, issued.scope);
  t.is(typeof answer.json.sub, 'string');
  t.true(Number(answer.json.exp) * 1000 > Date.now(), 'exp is in the future');
  const audience = answer.json.aud;
  t.true(audience === gh.resource || (Array.isArray(audience) && audience.includes(gh.resource)), `aud ${JSON.stringify(audience)}`);
});

test('introspection of an unknown or garbage token answers 200 {"active": false}', async (t) => {
  const issued = await tokensFor(gh, ALICE);
  for (const token of ['garbage', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl', issued.accessToken.slice(0, -4) + 'AAAA']) {
    const answer = await introspect(gh.url, token, issued.clientId);
    t.is(answer.status, 200, `${token.slice(0, 20)}…: ${answer.text}`);
    t.deepEqual(answer.json, { active: false });
  }
});

test('another client introspecting an access token learns only {"active": false}', async (t) => {
  const alices = await tokensFor(gh, ALICE, { clientName: 'Token owner' });
  const bobs = await tokensFor(gh, BOB, { clientName: 'Curious client' });
  const answer = await introspect(gh.url, alices.accessToken, bobs.clientId);
  t.is(answer.status, 200, answer.text);
  t.deepEqual(answer.json, { active: false });
});

test('an access token revoked by its client (RFC 7009) is refused at /mcp within GRANT_CHECK_CACHE and introspects as inactive', async (t) => {
  const issued = await tokensFor(gh, ALICE);
  t.is((await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${issued.accessToken}` })).status, 200, 'the token works');
  const revoked = await postForm(`${gh.url}/revoke`, { token: issued.accessToken, token_type_hint: 'access_token', client_id: issued.clientId });
  t.is(revoked.status, 200, revoked.text);
  t.is(await refusedWithin(gh.resource, issued.accessToken, 3000), 401, 'the revoked access token still opens /mcp');
  const answer = await introspect(gh.url, issued.accessToken, issued.clientId);
  t.is(answer.status, 200, answer.text);
  t.deepEqual(answer.json, { active: false });
});

test('after the grant is revoked, its access token introspects as inactive', async (t) => {
  const issued = await tokensFor(gh, ALICE);
  // Revoking the refresh token takes the grant with it (RFC 7009 §2.1).
  const revoked = await postForm(`${gh.url}/revoke`, { token: issued.refreshToken, token_type_hint: 'refresh_token', client_id: issued.clientId });
  t.is(revoked.status, 200, revoked.text);
  t.is(await refusedWithin(gh.resource, issued.accessToken, 3000), 401, 'the grant is gone');
  const answer = await introspect(gh.url, issued.accessToken, issued.clientId);
  t.is(answer.status, 200, answer.text);
  t.deepEqual(answer.json, { active: false });
});

// Two instances on one database exist only on PostgreSQL (an SQLite file belongs
// to one process): on the SQLite run this file simply has no such test.
if (testEngine() === 'postgres') {
  test('an access token revoked on one instance is refused on the other within GRANT_CHECK_CACHE', async (t) => {
    const pair = await startPair({ GRANT_CHECK_CACHE: '1s' });
    t.teardown(() => pair.close());
    const issued = await tokensFor(pair, ALICE);
    t.is((await mcpPost(pair.mcpB, initializeRequest(), { authorization: `Bearer ${issued.accessToken}` })).status, 200, 'B accepts the token');
    const revoked = await postForm(`${pair.a.url}/revoke`, { token: issued.accessToken, token_type_hint: 'access_token', client_id: issued.clientId });
    t.is(revoked.status, 200, revoked.text);
    t.is(await refusedWithin(pair.mcpA, issued.accessToken, 3000), 401, 'refused on A, where it was revoked');
    t.is(await refusedWithin(pair.mcpB, issued.accessToken, 3000), 401, 'refused on B');
  });
}
