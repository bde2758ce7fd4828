/**
 * Finding 6: a rotated refresh token stays usable for as long as its
 * replacement is unused, so a stolen old refresh token works forever while
 * the legitimate client sits idle. Fixed: `REFRESH_REUSE_GRACE` (default 60 s)
 * bounds the retry window; presenting a rotated token after it is a replay
 * and revokes the whole grant (RFC 9700 §4.14.2).
 */
import test from 'ava';
import { initializeRequest, mcpPost, tokensFor } from '../helpers/mcp.ts';
import { postForm } from '../helpers/oauth.ts';
import { ALICE, startGatehouse } from '../helpers/server.ts';

const refresh = (url: string, clientId: string, refreshToken: string) =>
  postForm(`${url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });

const initializeStatus = async (resource: string, token: string) => (await mcpPost(resource, initializeRequest(), { authorization: `Bearer ${token}` })).status;

/** Asks until /mcp refuses the token, or the deadline passes; resolves to the last status. */
async function refusedWithin(resource: string, token: string, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await initializeStatus(resource, token);
    if (status === 401 || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('within REFRESH_REUSE_GRACE, a rotated refresh token presented again still works (a client that lost the answer may retry)', async (t) => {
  const gh = await startGatehouse({ env: { REFRESH_REUSE_GRACE: '60s' } });
  t.teardown(() => gh.close());
  const issued = await tokensFor(gh, ALICE);
  const first = await refresh(gh.url, issued.clientId, issued.refreshToken);
  t.is(first.status, 200, first.text);
  const retry = await refresh(gh.url, issued.clientId, issued.refreshToken);
  t.is(retry.status, 200, `the retry was refused: ${retry.text}`);
  t.is(await initializeStatus(gh.resource, String(retry.json.access_token)), 200);
});

test('after REFRESH_REUSE_GRACE, a rotated refresh token presented again (its replacement unused) is refused and revokes the whole grant', async (t) => {
  const gh = await startGatehouse({ env: { REFRESH_REUSE_GRACE: '1s', GRANT_CHECK_CACHE: '1s' } });
  t.teardown(() => gh.close());
  const issued = await tokensFor(gh, ALICE);
  const rotated = await refresh(gh.url, issued.clientId, issued.refreshToken);
  t.is(rotated.status, 200, rotated.text);
  const replacement = String(rotated.json.refresh_token);
  const newAccessToken = String(rotated.json.access_token);
  t.is(await initializeStatus(gh.resource, newAccessToken), 200, 'the grant works before the replay');

  // A deliberate time bound: the grace is one second.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const replay = await refresh(gh.url, issued.clientId, issued.refreshToken);
  t.is(replay.status, 400, `the old refresh token still worked after the grace (${replay.json.error ?? 'it was rotated again'})`);
  t.is(replay.json.error, 'invalid_grant');

  // Every refresh token of the grant is dead: the unused replacement, and whatever the replay may have been handed.
  const refreshTokens = [replacement, ...(replay.json.refresh_token ? [String(replay.json.refresh_token)] : [])];
  for (const token of refreshTokens) {
    const answer = await refresh(gh.url, issued.clientId, token);
    t.is(answer.status, 400, `a refresh token of the revoked grant still refreshes: ${answer.text.slice(0, 200)}`);
    t.is(answer.json.error, 'invalid_grant');
  }
  // And the grant's access tokens stop at /mcp within GRANT_CHECK_CACHE.
  for (const token of [issued.accessToken, newAccessToken]) t.is(await refusedWithin(gh.resource, token, 3000), 401, 'an access token of the revoked grant is still accepted at /mcp');
});
