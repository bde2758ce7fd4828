import test from 'ava';
import { authorizationUrl, discover, obtainCode, oauth, postForm, register } from '../helpers/oauth.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let gh: RunningGatehouse;
let as: oauth.AuthorizationServer;
let client: oauth.Client;
const REDIRECT = 'http://127.0.0.1:49200/callback';

test.before(async () => {
  gh = await startGatehouse();
  as = await discover(gh.issuer);
  client = await register(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', client_name: 'Token tests' });
});
test.after.always(async () => gh?.close());

const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
  postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: client.client_id, ...extra });

test('a good code is exchanged once; the answer is Bearer, no-store, with refresh token and scope', async (t) => {
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  const first = await redeem(code, verifier);
  t.is(first.status, 200, first.text);
  t.is(first.json.token_type, 'Bearer');
  t.truthy(first.json.refresh_token);
  t.is(first.json.scope, 'mcp:tools mcp:write', 'no scope asked: the default scopes are granted');
  t.regex(first.headers.get('cache-control') ?? '', /no-store/);
  t.true(Number(first.json.expires_in) > 0);

  const second = await redeem(code, verifier);
  t.is(second.status, 400);
  t.is(second.json.error, 'invalid_grant');
  // A replayed code revokes what the first redemption issued.
  const refresh = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(first.json.refresh_token), client_id: client.client_id });
  t.is(refresh.json.error, 'invalid_grant');
});

test('ten concurrent redemptions of one code: exactly one succeeds', async (t) => {
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  const results = await Promise.all(Array.from({ length: 10 }, () => redeem(code, verifier)));
  const statuses = results.map((result) => result.status);
  t.is(statuses.filter((status) => status === 200).length, 1, JSON.stringify(statuses));
  for (const result of results.filter((r) => r.status !== 200)) {
    t.is(result.status, 400);
    t.is(result.json.error, 'invalid_grant');
  }
});

test('a wrong PKCE verifier is refused', async (t) => {
  const { code } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  const result = await redeem(code, oauth.generateRandomCodeVerifier());
  t.is(result.status, 400);
  t.is(result.json.error, 'invalid_grant');
});

test('a missing PKCE verifier is refused', async (t) => {
  const { code } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  const result = await postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: client.client_id });
  t.is(result.status, 400);
  t.true(['invalid_grant', 'invalid_request'].includes(String(result.json.error)));
});

test('authorization without PKCE, or with plain PKCE, is refused', async (t) => {
  for (const extra of [{ code_challenge: undefined }, { code_challenge_method: 'plain', code_challenge: 'a'.repeat(43) }]) {
    const url = new URL(as.authorization_endpoint!);
    const params: Record<string, string> = { response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, state: 's' };
    for (const [key, value] of Object.entries(extra)) if (value !== undefined) params[key] = value;
    url.search = new URLSearchParams(params).toString();
    const response = await fetch(url, { redirect: 'manual' });
    t.is(response.status, 303);
    const location = new URL(response.headers.get('location')!);
    t.is(location.origin + location.pathname, REDIRECT);
    t.is(location.searchParams.get('error'), 'invalid_request');
    t.is(location.searchParams.get('iss'), gh.issuer);
  }
});

test('a wrong redirect_uri at the token endpoint is refused', async (t) => {
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  const result = await redeem(code, verifier, { redirect_uri: 'http://127.0.0.1:49201/other' });
  t.is(result.status, 400);
  t.is(result.json.error, 'invalid_grant');
});

test('an unknown client at the token endpoint gets 401 invalid_client', async (t) => {
  const result = await postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code: 'x', code_verifier: 'y'.repeat(43), redirect_uri: REDIRECT, client_id: 'no-such-client' });
  t.is(result.status, 401);
  t.is(result.json.error, 'invalid_client');
  const basic = await postForm(
    `${gh.url}/token`,
    { grant_type: 'refresh_token', refresh_token: 'x' },
    { authorization: `Basic ${Buffer.from('nobody:secret').toString('base64')}` },
  );
  t.is(basic.status, 401);
  t.is(basic.json.error, 'invalid_client');
});

// Serial: it ages every code in the Store, so nothing else may be mid-flow.
test.serial('an expired code is refused', async (t) => {
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  // Let the code's 60 seconds pass in the Store.
  await gh.gatehouse.store.run("UPDATE oidc_models SET expires_at = ? WHERE model = 'AuthorizationCode'", [Date.now() - 1000]);
  const result = await redeem(code, verifier);
  t.is(result.status, 400);
  t.is(result.json.error, 'invalid_grant');
});

test('the resource may be repeated, omitted, or spelled with a trailing slash', async (t) => {
  for (const [atAuthorize, atToken] of [
    [gh.resource, gh.resource],
    [gh.resource, undefined],
    [undefined, undefined],
    [undefined, `${gh.resource}/`],
    [`${gh.resource}/`, gh.resource],
    [gh.resource, `${gh.resource}/`],
  ] as const) {
    const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT, atAuthorize ? { resource: atAuthorize } : {});
    const result = await redeem(code, verifier, atToken ? { resource: atToken } : {});
    t.is(result.status, 200, `${atAuthorize} → ${atToken}: ${result.text}`);
    const claims = JSON.parse(Buffer.from(String(result.json.access_token).split('.')[1]!, 'base64url').toString());
    t.is(claims.aud, gh.resource);
    t.is(claims.scope, 'mcp:tools mcp:write');

    for (const refreshResource of [undefined, gh.resource, `${gh.resource}/`]) {
      const refreshed = await postForm(`${gh.url}/token`, {
        grant_type: 'refresh_token',
        refresh_token: String(result.json.refresh_token),
        client_id: client.client_id,
        ...(refreshResource ? { resource: refreshResource } : {}),
      });
      t.is(refreshed.status, 200, `refresh with ${refreshResource}: ${refreshed.text}`);
      result.json.refresh_token = refreshed.json.refresh_token;
      const refreshedClaims = JSON.parse(Buffer.from(String(refreshed.json.access_token).split('.')[1]!, 'base64url').toString());
      t.is(refreshedClaims.aud, gh.resource);
    }
  }
});

test('a foreign resource is refused', async (t) => {
  const url = await authorizationUrl(as, client.client_id, REDIRECT, { resource: 'https://elsewhere.example.com/mcp' });
  const response = await fetch(url, { redirect: 'manual' });
  t.is(new URL(response.headers.get('location')!).searchParams.get('error'), 'invalid_target');
});

test('unknown or missing scopes get the default grant, not invalid_scope', async (t) => {
  for (const scope of [undefined, 'claudeai', 'openid email profile', 'read write']) {
    const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT, scope ? { scope } : {});
    const result = await redeem(code, verifier);
    t.is(result.status, 200, `${scope}: ${result.text}`);
    t.true(String(result.json.scope).includes('mcp:tools'), `${scope} → ${result.json.scope}`);
    t.true(String(result.json.scope).includes('mcp:write'));
  }
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT, { scope: 'mcp:tools offline_access' });
  const narrow = await redeem(code, verifier);
  t.is(narrow.json.scope, 'mcp:tools', 'a client that names our scopes gets what it named');
});

test('a rotated refresh token presented again works once while its replacement is unused; replay after use revokes the grant', async (t) => {
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  const tokens = await redeem(code, verifier);
  const refresh = (token: unknown) => postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(token), client_id: client.client_id });

  const r1 = await refresh(tokens.json.refresh_token);
  t.is(r1.status, 200);
  // The response carrying r1 was "lost": the client retries with the old token.
  const retry = await refresh(tokens.json.refresh_token);
  t.is(retry.status, 200, retry.text);
  // r1 was withdrawn when the retry succeeded; the retry's token is the live one.
  const lost = await refresh(r1.json.refresh_token);
  t.is(lost.json.error, 'invalid_grant');

  const fresh = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  const other = await redeem(fresh.code, fresh.verifier);
  const next = await refresh(other.json.refresh_token);
  const used = await refresh(next.json.refresh_token);
  t.is(used.status, 200);
  // next's replacement has been used, so presenting `other` again is a replay.
  const replay = await refresh(other.json.refresh_token);
  t.is(replay.json.error, 'invalid_grant');
  const afterReplay = await refresh(used.json.refresh_token);
  t.is(afterReplay.json.error, 'invalid_grant', 'the whole grant is revoked');
});

test('concurrent refreshes with the same token: one wins, none revokes the grant', async (t) => {
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  const tokens = await redeem(code, verifier);
  const results = await Promise.all(
    Array.from({ length: 5 }, () =>
      postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(tokens.json.refresh_token), client_id: client.client_id }),
    ),
  );
  const winners = results.filter((result) => result.status === 200);
  t.true(winners.length >= 1);
  for (const loser of results.filter((result) => result.status !== 200)) t.is(loser.json.error, 'invalid_grant');
  t.true(await chainContinues(winners), 'the grant was not revoked: one winner\'s refresh token works onward');
});

test('concurrent retries of a rotated refresh token: the grant survives', async (t) => {
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), ALICE, REDIRECT);
  const tokens = await redeem(code, verifier);
  const refresh = (token: unknown) => postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(token), client_id: client.client_id });
  t.is((await refresh(tokens.json.refresh_token)).status, 200);
  // The answer was "lost" and the client (or two of its processes) retries the old token five times at once.
  const results = await Promise.all(Array.from({ length: 5 }, () => refresh(tokens.json.refresh_token)));
  const winners = results.filter((result) => result.status === 200);
  t.true(winners.length >= 1);
  for (const loser of results.filter((result) => result.status !== 200)) t.is(loser.json.error, 'invalid_grant');
  t.true(await chainContinues(winners));
});

/**
 * Whether one of these answers' refresh tokens still refreshes. Several
 * winners are possible (a retry withdraws an unused replacement), and only
 * the latest rotation is live; trying a withdrawn one first is harmless.
 */
async function chainContinues(winners: { json: any }[]): Promise<boolean> {
  for (const winner of winners) {
    const onward = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(winner.json.refresh_token), client_id: client.client_id });
    if (onward.status === 200) return true;
  }
  return false;
}

test('garbage and oversized bodies get OAuth errors on every endpoint, never a 5xx', async (t) => {
  const huge = 'a='.padEnd(200_000, 'x');
  for (const path of ['/token', '/revoke', '/introspect', '/register', '/request']) {
    for (const [body, type] of [
      ['%%%&&&===', 'application/x-www-form-urlencoded'],
      ['{"grant_type":', 'application/json'],
      ['\u0000\u0001\u0002', 'application/octet-stream'],
      [huge, 'application/x-www-form-urlencoded'],
      ['', 'application/x-www-form-urlencoded'],
    ] as const) {
      const response = await fetch(`${gh.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
      t.true(response.status >= 400 && response.status < 500, `${path} ${type} ${body.slice(0, 10)} → ${response.status}`);
      const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      t.truthy(json.error, `${path} answers OAuth error JSON`);
    }
  }
  for (const query of ['', '?client_id=nope', '?response_type=token&client_id=x', `?client_id=${client.client_id}&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code&code_challenge=%00`]) {
    const response = await fetch(`${gh.url}/authorize${query}`, { redirect: 'manual' });
    t.true(response.status < 500, `/authorize${query} → ${response.status}`);
  }
  const stale = await fetch(`${gh.url}/interaction/does-not-exist`);
  t.is(stale.status, 400);
  t.regex(await stale.text(), /expired/);
});

test('replay detection records a one-time token once, even when asked at the same moment', async (t) => {
  const { StoreAdapter } = await import('../../src/oauth/adapter.ts');
  const adapter = new StoreAdapter('ReplayDetection', gh.gatehouse.store);
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => adapter.upsert('same-jti', { iss: 'client', jti: 'same-jti' }, 60)));
  t.is(results.filter((result) => result.status === 'fulfilled').length, 1);
  t.truthy(await adapter.find('same-jti'));
});
