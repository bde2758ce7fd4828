import test from 'ava';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { authorizationUrl, discover, insecure, oauth, register, authorizeAndExchange, postForm } from '../helpers/oauth.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

const REDIRECT = 'http://127.0.0.1:53111/callback';

test('protected resource metadata leads an OAuth library to the authorization server', async (t) => {
  const resource = new URL(gh.resource);
  const response = await oauth.resourceDiscoveryRequest(resource, insecure);
  const metadata = await oauth.processResourceDiscoveryResponse(resource, response);
  t.is(metadata.resource, gh.resource);
  t.deepEqual(metadata.authorization_servers, [gh.issuer]);
  t.deepEqual(metadata.bearer_methods_supported, ['header']);
  t.true(metadata.scopes_supported!.includes('mcp:tools'));

  const root = await fetch(`${gh.url}/.well-known/oauth-protected-resource`).then((r) => r.json());
  t.deepEqual(root, metadata);
});

test('authorization server metadata advertises what MCP clients look for', async (t) => {
  const as = await discover(gh.issuer);
  t.is(as.issuer, gh.issuer);
  t.deepEqual(as.response_types_supported, ['code']);
  t.deepEqual(as.code_challenge_methods_supported, ['S256']);
  t.true(as.grant_types_supported!.includes('authorization_code'));
  t.true(as.grant_types_supported!.includes('refresh_token'));
  for (const method of ['none', 'client_secret_post', 'client_secret_basic']) t.true(as.token_endpoint_auth_methods_supported!.includes(method));
  t.is(as.registration_endpoint, `${gh.issuer}/register`);
  t.is(as.authorization_endpoint, `${gh.issuer}/authorize`);
  t.is(as.token_endpoint, `${gh.issuer}/token`);
  t.is(as.revocation_endpoint, `${gh.issuer}/revoke`);
  t.is(as.introspection_endpoint, `${gh.issuer}/introspect`);
  t.is(as.jwks_uri, `${gh.issuer}/jwks`);
  t.true(as.authorization_response_iss_parameter_supported);
  t.true((as as Record<string, unknown>).client_id_metadata_document_supported as boolean);

  const oidc = (await fetch(`${gh.url}/.well-known/openid-configuration`).then((r) => r.json())) as { issuer: string };
  t.is(oidc.issuer, gh.issuer);
});

test('discovery URLs that are not served answer 404, not 5xx', async (t) => {
  for (const path of ['/.well-known/oauth-authorization-server/mcp', '/.well-known/openid-configuration/mcp', '/.well-known/nothing-here']) {
    const response = await fetch(`${gh.url}${path}`);
    t.is(response.status, 404, path);
  }
});

test('full flow: register, authorize with PKCE and resource, sign in, consent, tokens, refresh, revoke', async (t) => {
  const as = await discover(gh.issuer);
  const client = await register(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', client_name: 'Flow test' });
  t.truthy(client.client_id);

  const agent = new UserAgent();
  const tokens = await authorizeAndExchange(as, client, agent, ALICE, { redirectUri: REDIRECT, scope: 'mcp:tools mcp:write', resource: gh.resource });
  t.is(tokens.token_type.toLowerCase(), 'bearer');
  t.true(typeof tokens.expires_in === 'number' && tokens.expires_in > 0 && tokens.expires_in <= 15 * 60);
  t.truthy(tokens.refresh_token);
  t.is(tokens.scope, 'mcp:tools mcp:write');

  // The access token is an RFC 9068 JWT for the MCP resource, verifiable with /jwks.
  const jwks = createRemoteJWKSet(new URL(as.jwks_uri!));
  const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
    issuer: gh.issuer,
    audience: gh.resource,
    typ: 'at+jwt',
  });
  t.is(protectedHeader.typ, 'at+jwt');
  t.is(payload.client_id, client.client_id);
  t.is(payload.scope, 'mcp:tools mcp:write');
  t.truthy(payload.sub);
  t.truthy(payload.gid, 'the grant id travels in the token');
  t.is(decodeProtectedHeader(tokens.access_token).alg, 'ES256');

  // Refresh without repeating scope keeps the scope; with a narrower scope narrows it.
  const refreshed = (await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, insecure),
  )) as unknown as typeof tokens;
  t.is(refreshed.scope, 'mcp:tools mcp:write');
  t.not(refreshed.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
  const narrowed = (await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token!, {
      ...insecure,
      additionalParameters: { scope: 'mcp:tools', resource: gh.resource },
    }),
  )) as unknown as typeof tokens;
  t.is(narrowed.scope, 'mcp:tools');
  const narrowedClaims = (await jwtVerify(narrowed.access_token, jwks, { audience: gh.resource })).payload;
  t.is(narrowedClaims.scope, 'mcp:tools');

  // Revoking the refresh token ends the grant: the next refresh fails.
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), narrowed.refresh_token!, insecure));
  const after = await postForm(as.token_endpoint!, { grant_type: 'refresh_token', refresh_token: narrowed.refresh_token!, client_id: client.client_id });
  t.is(after.status, 400);
  t.is(after.json.error, 'invalid_grant');
});

test('the authorization response carries iss and the consent page names the client and where it goes', async (t) => {
  const as = await discover(gh.issuer);
  const client = await register(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', client_name: 'Visible Name' });
  const agent = new UserAgent();
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'xyz',
  }).toString();
  const callback = await agent.authorize(url, ALICE);
  t.is(callback.searchParams.get('iss'), gh.issuer);
  t.is(callback.searchParams.get('state'), 'xyz');
  const consent = agent.pages.find((page) => page.html.includes('/consent'))!;
  t.regex(consent.html, /Visible Name/);
  t.regex(consent.html, /127\.0\.0\.1:53111/);
  t.regex(consent.html, /alice@example\.test/);
});

test('a person who declines sends the client access_denied', async (t) => {
  const as = await discover(gh.issuer);
  const client = await register(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
  const callback = await new UserAgent().authorize(await authorizationUrl(as, client.client_id, REDIRECT), { ...ALICE, decision: 'deny' });
  t.is(callback.searchParams.get('error'), 'access_denied');
  t.is(callback.searchParams.get('iss'), gh.issuer);
});
