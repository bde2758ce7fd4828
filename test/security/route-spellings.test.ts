/**
 * Finding 1: oidc-provider (and our router) answer other spellings of a route
 * than the one our rules compare against: `/register/`, `/REGISTER`,
 * `/interaction/<uid>/login/`. Every spelling that is served must meet the
 * same rules as the canonical route (registration policy, rate limits), or
 * answer 404.
 */
import test from 'ava';
import { savePolicy, signedInAdmin } from '../helpers/admin-pages.ts';
import { initializeRequest } from '../helpers/mcp.ts';
import { authorizationUrl, discover, register } from '../helpers/oauth.ts';
import { createTestDatabase, startGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const NO_EXEMPTIONS = { RATE_LIMIT_EXEMPT: '' };

/** Ways to write `/register` that a router might serve (upper case, trailing or doubled slashes, percent-encoding). */
const REGISTER_SPELLINGS = ['/register', '/register/', '/REGISTER', '/Register', '/REGISTER/', '//register', '/register//', '/%72egister', '/regist%65r', '/%52EGISTER'];

async function postRegistration(baseUrl: string, path: string, redirectUri: string) {
  // Built as a string: `new URL('//register', base)` would read a host name.
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', client_name: `spelled ${path}` }),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // a page: the status says what happened
  }
  return { status: response.status, json, text };
}

test('with open registration turned off, no spelling of /register creates a client (403 access_denied or 404)', async (t) => {
  const gh = await startGatehouse();
  t.teardown(() => gh.close());
  await savePolicy(await signedInAdmin(gh.url), { dcr: false });
  for (const path of REGISTER_SPELLINGS) {
    const answer = await postRegistration(gh.url, path, 'https://app.example.com/cb');
    t.not(answer.status, 201, `${path} registered a client while registration is closed`);
    t.true(answer.status === 404 || (answer.status === 403 && answer.json.error === 'access_denied'), `${path}: ${answer.status} ${answer.text.slice(0, 120)}`);
  }
});

test('with a saved redirect-host allow-list, no spelling of /register accepts a redirect URI outside it, even as the first request after a start', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const first = await startGatehouse({ database });
  await savePolicy(await signedInAdmin(first.url), { redirectHosts: ['claude.ai'] });
  t.is((await postRegistration(first.url, '/register', 'https://claude.ai/api/mcp/auth_callback')).status, 201, 'a host on the list is accepted');
  await first.close();
  // Each spelling is the first request a freshly started process serves: nothing has read the policy yet.
  for (const path of REGISTER_SPELLINGS) {
    const gh = await startGatehouse({ database, users: false });
    try {
      const answer = await postRegistration(gh.url, path, 'https://evil.test/cb');
      t.not(answer.status, 201, `${path} registered https://evil.test/cb outside the allow-list: ${answer.text.slice(0, 120)}`);
    } finally {
      await gh.close();
    }
  }
});

test('registrations through different spellings of /register count against one per-IP limit', async (t) => {
  const gh = await startGatehouse({ env: { ...NO_EXEMPTIONS, RATE_LIMIT_REGISTER_PER_MINUTE: '2' } });
  t.teardown(() => gh.close());
  const statuses: Record<string, number> = {};
  for (const path of ['/register', '/REGISTER', '/register/', '/Register', '/REGISTER/']) {
    statuses[path] = (await postRegistration(gh.url, path, 'https://app.example.com/cb')).status;
  }
  const created = Object.values(statuses).filter((status) => status === 201).length;
  t.true(created <= 2, `${created} clients registered with a limit of 2 a minute: ${JSON.stringify(statuses)}`);
  t.is(statuses['/register'], 201, 'the first registration is within the limit');
});

test('token requests through different spellings of /token count against one per-client limit', async (t) => {
  const gh = await startGatehouse({ env: { ...NO_EXEMPTIONS, RATE_LIMIT_TOKEN_PER_MINUTE: '2' } });
  t.teardown(() => gh.close());
  const client = await register(await discover(gh.issuer), { redirect_uris: ['http://127.0.0.1:49810/cb'], token_endpoint_auth_method: 'none' });
  const statuses: Record<string, number> = {};
  for (const path of ['/token', '/TOKEN', '/token/', '/Token']) {
    const response = await fetch(`${gh.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-real-token', client_id: client.client_id }),
    });
    statuses[path] = response.status;
  }
  // Each request within the limit gets invalid_grant (400); over it, 429; a spelling that is not served, 404.
  const answered = Object.values(statuses).filter((status) => status !== 429 && status !== 404).length;
  t.true(answered <= 2, `${answered} token requests answered with a limit of 2 a minute: ${JSON.stringify(statuses)}`);
});

test('sign-in attempts through /interaction/<uid>/login/ and /INTERACTION/<uid>/login count against the per-IP limit', async (t) => {
  const gh = await startGatehouse({ env: { ...NO_EXEMPTIONS, RATE_LIMIT_LOGIN_PER_MINUTE: '2' } });
  t.teardown(() => gh.close());
  const as = await discover(gh.issuer);
  const redirect = 'http://127.0.0.1:49811/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const attempts: { path: string; status: number }[] = [];
  for (const spell of [(p: string) => `${p}/login/`, (p: string) => `${p.replace('/interaction/', '/INTERACTION/')}/login`, (p: string) => `${p}/login/`, (p: string) => `${p.replace('/interaction/', '/Interaction/')}/login/`]) {
    // A fresh browser and interaction each time, as an attacker would run them.
    const agent = new UserAgent();
    const first = await agent.request(await authorizationUrl(as, client.client_id, redirect));
    const page = new URL(first.headers.get('location')!, gh.url);
    const html = await (await agent.request(page)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const path = spell(page.pathname);
    // The interaction cookie, as the browser holds it for the canonical path (an attacker sends it anywhere).
    const response = await fetch(`${gh.url}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.url, cookie: agent.cookieHeader(new URL(`${page.pathname}/login`, gh.url)) },
      body: new URLSearchParams({ csrf, email: 'nobody@example.test', password: 'wrong-password' }),
    });
    attempts.push({ path, status: response.status });
  }
  const checked = attempts.filter((attempt) => attempt.status !== 429 && attempt.status !== 404);
  t.true(checked.length <= 2, `${checked.length} password checks with a limit of 2 a minute: ${JSON.stringify(attempts)}`);
});

test('unauthenticated POSTs to other spellings of /mcp get the same 401 challenge as /mcp, or 404, never 200 or 5xx', async (t) => {
  const gh = await startGatehouse();
  t.teardown(() => gh.close());
  for (const path of ['/mcp', '/mcp/', '/MCP', '/Mcp/', '//mcp', '/%6dcp', '/mc%70', '/mcp//']) {
    const response = await fetch(`${gh.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(initializeRequest()),
    });
    await response.arrayBuffer();
    t.true(response.status === 401 || response.status === 404, `${path}: ${response.status}`);
    if (response.status === 401) t.regex(response.headers.get('www-authenticate') ?? '', /^Bearer .*resource_metadata="/, `${path}: the bearer challenge`);
  }
});

test('CORS preflights on other spellings of /token and /register answer as their route does (204 with its CORS headers) or 404', async (t) => {
  const gh = await startGatehouse();
  t.teardown(() => gh.close());
  const preflight = (path: string) =>
    fetch(`${gh.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:6274', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
  for (const [canonical, spellings] of [
    ['/token', ['/token/', '/TOKEN', '/Token/']],
    ['/register', ['/register/', '/Register', '/REGISTER/']],
  ] as const) {
    const expected = await preflight(canonical);
    t.is(expected.status, 204, canonical);
    const allowHeaders = expected.headers.get('access-control-allow-headers');
    for (const path of spellings) {
      const answer = await preflight(path);
      if (answer.status === 404) {
        t.pass();
        continue;
      }
      t.is(answer.status, 204, `${path}: ${answer.status}`);
      t.is(answer.headers.get('access-control-allow-origin'), expected.headers.get('access-control-allow-origin'), `${path}: Allow-Origin as on ${canonical}`);
      t.is(answer.headers.get('access-control-allow-headers'), allowHeaders, `${path}: Allow-Headers as on ${canonical}`);
      t.is(answer.headers.get('access-control-expose-headers'), expected.headers.get('access-control-expose-headers'), `${path}: Expose-Headers as on ${canonical}`);
    }
  }
});
