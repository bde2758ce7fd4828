import test from 'ava';
import { initializeRequest, mcpPost, tokensFor } from '../helpers/mcp.ts';
import { authorizationUrl, discover, obtainCode, postForm, register } from '../helpers/oauth.ts';
import { ALICE, BOB, createTestDatabase, startGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const NO_EXEMPTIONS = { RATE_LIMIT_EXEMPT: '' };

test('registration per IP: 429 with Retry-After in OAuth JSON; exempt ranges are never counted', async (t) => {
  const gh = await startGatehouse({ env: { ...NO_EXEMPTIONS, RATE_LIMIT_REGISTER_PER_MINUTE: '3' } });
  t.teardown(() => gh.close());
  const body = JSON.stringify({ redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'none' });
  const statuses: number[] = [];
  let last: Response | undefined;
  for (let i = 0; i < 4; i++) {
    last = await fetch(`${gh.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    statuses.push(last.status);
  }
  t.deepEqual(statuses, [201, 201, 201, 429]);
  t.true(Number(last!.headers.get('retry-after')) > 0);
  t.is(((await last!.json()) as { error: string }).error, 'rate_limited');

  const exempt = await startGatehouse({ env: { RATE_LIMIT_EXEMPT: '127.0.0.0/8', RATE_LIMIT_REGISTER_PER_MINUTE: '1' } });
  t.teardown(() => exempt.close());
  for (let i = 0; i < 3; i++) {
    t.is((await fetch(`${exempt.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status, 201);
  }
});

test('the token endpoint counts per client: one busy client does not starve another', async (t) => {
  const gh = await startGatehouse({ env: { ...NO_EXEMPTIONS, RATE_LIMIT_TOKEN_PER_MINUTE: '2' } });
  t.teardown(() => gh.close());
  const as = await discover(gh.issuer);
  const redirect = 'http://127.0.0.1:49950/callback';
  const busy = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const calm = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const refresh = (clientId: string) => postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: 'nope', client_id: clientId });
  const answers = [await refresh(busy.client_id), await refresh(busy.client_id), await refresh(busy.client_id)];
  t.deepEqual(answers.map((answer) => answer.status), [400, 400, 429]);
  t.is(answers[2]!.json.error, 'rate_limited');
  t.truthy(answers[2]!.headers.get('retry-after'));
  // The form body the limiter read is still there for oidc-provider: the other client gets a real answer.
  const other = await refresh(calm.client_id);
  t.is(other.status, 400);
  t.is(other.json.error, 'invalid_grant');
  const { code, verifier } = await obtainCode(as, calm, new UserAgent(), ALICE, redirect);
  const exchanged = await postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: calm.client_id });
  t.is(exchanged.status, 200, 'the calm client still has its own allowance, and the exchange works through the limiter');
  t.is((await refresh(calm.client_id)).status, 429, 'until it spends it');
});

test('sign-in per IP: a page for people with Retry-After', async (t) => {
  const gh = await startGatehouse({ env: { ...NO_EXEMPTIONS, RATE_LIMIT_LOGIN_PER_MINUTE: '2' } });
  t.teardown(() => gh.close());
  const as = await discover(gh.issuer);
  const redirect = 'http://127.0.0.1:49951/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const statuses: number[] = [];
  let html = '';
  let retryAfter: string | null = null;
  for (let i = 0; i < 3; i++) {
    const agent = new UserAgent();
    const first = await agent.request(await authorizationUrl(as, client.client_id, redirect));
    const page = new URL(first.headers.get('location')!, gh.url);
    const form = await (await agent.request(page)).text();
    const response = await agent.submitForm(page.href, form, `${page.pathname}/login`, { email: `nobody${i}@example.test`, password: 'wrong-password' });
    statuses.push(response.status);
    html = await response.text();
    retryAfter = response.headers.get('retry-after');
  }
  t.deepEqual(statuses, [401, 401, 429]);
  t.regex(html, /<!doctype html>/i);
  t.regex(html, /Too many requests/);
  t.truthy(retryAfter);
});

test('/mcp counts per principal, answering 429 in JSON-RPC; counters are shared by instances on one database', async (t) => {
  const database = await createTestDatabase();
  const env = { ...NO_EXEMPTIONS, RATE_LIMIT_MCP_PER_MINUTE: '3' };
  const a = await startGatehouse({ database, env });
  const b = await startGatehouse({ database, env, users: false });
  t.teardown(async () => {
    await a.close();
    await b.close();
    await database.drop();
  });
  const alice = await tokensFor(a, ALICE);
  const bob = await tokensFor(a, BOB);
  const send = (url: string, token: string) => mcpPost(url, initializeRequest(), { authorization: `Bearer ${token}` });
  // Tokens from instance a are for a's URL; instance b verifies with the same keys but a different issuer,
  // so both calls go to a and b's counters are checked through the shared Store below.
  const statuses = [(await send(a.resource, alice.accessToken)).status, (await send(a.resource, alice.accessToken)).status, (await send(a.resource, alice.accessToken)).status];
  const fourth = await send(a.resource, alice.accessToken);
  t.deepEqual([...statuses, fourth.status], [200, 200, 200, 429]);
  t.is(fourth.json.error.code, -32000);
  t.truthy(fourth.headers.get('retry-after'));
  t.is((await send(a.resource, bob.accessToken)).status, 200, 'another principal is not affected');
  const { RateLimits } = await import('../../src/web/middleware/rate-limits.ts');
  const shared = new RateLimits(b.gatehouse.store, b.config);
  const { findUserByEmail } = await import('../../src/domain/accounts.ts');
  const aliceId = (await findUserByEmail(b.gatehouse.store, ALICE.email))!.id;
  t.truthy(await shared.take('mcp', `${aliceId}:${alice.clientId}`), 'the other instance sees the same count');
});
