import test from 'ava';
import { CLIENT_PROFILES } from '../helpers/clients.ts';
import { authorizationUrl, discover } from '../helpers/oauth.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

async function registerRaw(body: unknown, contentType = 'application/json') {
  const response = await fetch(`${gh.url}/register`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json().catch(() => ({}))) as Record<string, any> };
}

const authorizeUrl = async (clientId: string, redirectUri: string) => authorizationUrl(await discover(gh.issuer), clientId, redirectUri);

for (const profile of CLIENT_PROFILES) {
  test(`${profile.name}: its registration is accepted and its redirect URI works at /authorize`, async (t) => {
    const { status, json } = await registerRaw({ ...profile.registration, some_unknown_field: { nested: true } });
    t.is(status, 201, JSON.stringify(json));
    t.truthy(json.client_id);
    t.deepEqual(json.redirect_uris, profile.registration.redirect_uris);
    t.is(json.token_endpoint_auth_method, profile.registration.token_endpoint_auth_method);
    t.false('some_unknown_field' in json, 'unknown fields are ignored');
    if (profile.registration.token_endpoint_auth_method === 'client_secret_post') t.truthy(json.client_secret);
    t.truthy(json.registration_access_token, 'RFC 7592 management token');
    t.true((json.grant_types as string[]).includes('refresh_token'));

    // The whole flow, up to the redirect back to the client.
    const callback = await new UserAgent().authorize(await authorizeUrl(json.client_id, profile.authorizeRedirect), ALICE);
    t.is(callback.href.split('?')[0], profile.authorizeRedirect);
    t.truthy(callback.searchParams.get('code'));
    t.is(callback.searchParams.get('iss'), gh.issuer);
  });
}

test('loopback redirects on any port work even without application_type: native', async (t) => {
  const { json } = await registerRaw({ redirect_uris: ['http://127.0.0.1:8080/cb', 'http://[::1]:8080/cb'], token_endpoint_auth_method: 'none' });
  t.is(json.application_type, 'native');
  for (const redirect of ['http://127.0.0.1:50001/cb', 'http://[::1]:50002/cb']) {
    const callback = await new UserAgent().authorize(await authorizeUrl(json.client_id, redirect), ALICE);
    t.is(callback.origin, new URL(redirect).origin);
  }
});

test('an https web client keeps exact redirect matching', async (t) => {
  const { json } = await registerRaw({ redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'none' });
  t.is(json.application_type, 'web');
  const response = await fetch(await authorizeUrl(json.client_id, 'https://app.example.com/other'), { redirect: 'manual' });
  t.is(response.status, 400);
  t.regex(await response.text(), /invalid_redirect_uri|redirect_uri did not match/);
});

const REFUSED: [string, Record<string, unknown>][] = [
  ['javascript: URIs', { redirect_uris: ['javascript:alert(1)'] }],
  ['data: URIs', { redirect_uris: ['data:text/html,hi'] }],
  ['file: URIs', { redirect_uris: ['file:///etc/passwd'] }],
  ['fragments', { redirect_uris: ['https://app.example.com/cb#frag'] }],
  ['http on a non-loopback host', { redirect_uris: ['http://evil.example.com/cb'] }],
  ['http on a non-loopback host for a native client', { redirect_uris: ['http://evil.example.com/cb'], application_type: 'native' }],
  ['a private-use scheme on a web client', { redirect_uris: ['cursor://x/cb'], application_type: 'web' }],
];

for (const [label, body] of REFUSED) {
  test(`registration refuses ${label}`, async (t) => {
    const { status, json } = await registerRaw({ token_endpoint_auth_method: 'none', ...body });
    t.is(status, 400);
    t.true(['invalid_redirect_uri', 'invalid_client_metadata'].includes(json.error), json.error);
    t.truthy(json.error_description);
  });
}

test('registration answers garbage with a client error, never a 5xx', async (t) => {
  for (const [body, type] of [
    ['{not json', 'application/json'],
    ['[]', 'application/json'],
    ['"a string"', 'application/json'],
    ['{"redirect_uris": "https://x.example/cb"}', 'application/json'],
    ['{"redirect_uris": [42]}', 'application/json'],
    ['redirect_uris=https://x.example/cb', 'application/x-www-form-urlencoded'],
    [JSON.stringify({ redirect_uris: ['https://x.example/cb'], client_name: 'x'.repeat(200_000) }), 'application/json'],
  ] as const) {
    const { status, json } = await registerRaw(body, type);
    t.true(status >= 400 && status < 500, `${status} for ${body.slice(0, 40)}`);
    t.truthy(json.error);
  }
});

test('RFC 7592: read, update and delete a registration with its access token', async (t) => {
  const { json } = await registerRaw({ redirect_uris: ['https://app.example.com/cb'], client_name: 'Managed', token_endpoint_auth_method: 'none' });
  const auth = { authorization: `Bearer ${json.registration_access_token}` };
  const read = await fetch(json.registration_client_uri, { headers: auth });
  t.is(read.status, 200);
  t.is(((await read.json()) as { client_name: string }).client_name, 'Managed');

  const updated = await fetch(json.registration_client_uri, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: json.client_id, redirect_uris: ['https://app.example.com/cb2'], client_name: 'Renamed', token_endpoint_auth_method: 'none' }),
  });
  t.is(updated.status, 200);
  t.is(((await updated.json()) as { client_name: string }).client_name, 'Renamed');

  const badUpdate = await fetch(json.registration_client_uri, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: json.client_id, redirect_uris: ['javascript:alert(1)'], token_endpoint_auth_method: 'none' }),
  });
  t.is(badUpdate.status, 400);

  const deleted = await fetch(json.registration_client_uri, { method: 'DELETE', headers: auth });
  t.is(deleted.status, 204);
  const gone = await fetch(json.registration_client_uri, { headers: auth });
  t.is(gone.status, 401);
});

test('CORS: browser clients can preflight and call /register and /token', async (t) => {
  for (const path of ['/register', '/token', '/.well-known/oauth-authorization-server', '/.well-known/oauth-protected-resource/mcp']) {
    const preflight = await fetch(`${gh.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:6274', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    t.is(preflight.status, 204, path);
    t.truthy(preflight.headers.get('access-control-allow-origin'), path);
    t.regex(preflight.headers.get('access-control-allow-headers') ?? '', /content-type/i, path);
  }
  const registered = await fetch(`${gh.url}/register`, {
    method: 'POST',
    headers: { origin: 'http://localhost:6274', 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: ['http://localhost:6274/oauth/callback'], token_endpoint_auth_method: 'none' }),
  });
  t.is(registered.status, 201);
  t.truthy(registered.headers.get('access-control-allow-origin'));
});
