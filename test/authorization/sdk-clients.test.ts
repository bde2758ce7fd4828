import test from 'ava';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { auth as authV1 } from '@modelcontextprotocol/sdk/client/auth.js';
import { auth as authV2 } from '@modelcontextprotocol/client';
import { cimdEnv, publicClientDocument, startCimdHost } from '../helpers/cimd.ts';
import { ADMIN, ALICE, freePort, spawnGatehouse, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { MemoryOAuthProvider } from '../helpers/sdk-oauth.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

async function assertAccessToken(t: import('ava').ExecutionContext, issuer: string, resource: string, token: string | undefined) {
  t.truthy(token);
  const { payload } = await jwtVerify(token!, createRemoteJWKSet(new URL(`${issuer}/jwks`)), { issuer, audience: resource, typ: 'at+jwt' });
  t.truthy(payload.sub);
}

test('the v1 SDK auth(): discovery, DCR, authorization and token exchange', async (t) => {
  const provider = new MemoryOAuthProvider('http://127.0.0.1:49400/callback');
  t.is(await authV1(provider as never, { serverUrl: gh.resource }), 'REDIRECT');
  t.truthy(provider.clientId, 'registered through DCR');
  t.is(provider.authorizationUrl!.searchParams.get('resource'), gh.resource);
  t.is(provider.authorizationUrl!.searchParams.get('code_challenge_method'), 'S256');

  const callback = await new UserAgent().authorize(provider.authorizationUrl!, ALICE);
  t.is(await authV1(provider as never, { serverUrl: gh.resource, authorizationCode: callback.searchParams.get('code')! }), 'AUTHORIZED');
  await assertAccessToken(t, gh.issuer, gh.resource, provider.accessToken);

  // With a refresh token saved, auth() refreshes without the person.
  const before = provider.accessToken;
  t.is(await authV1(provider as never, { serverUrl: gh.resource }), 'AUTHORIZED');
  t.not(provider.accessToken, before);
});

test('the v2 SDK auth(): discovery with issuer checks, DCR, authorization, RFC 9207 iss, token exchange', async (t) => {
  const provider = new MemoryOAuthProvider('http://127.0.0.1:49401/callback');
  t.is(await authV2(provider as never, { serverUrl: gh.resource }), 'REDIRECT');
  t.truthy(provider.clientId);
  const callback = await new UserAgent().authorize(provider.authorizationUrl!, ALICE);
  const result = await authV2(provider as never, {
    serverUrl: gh.resource,
    authorizationCode: callback.searchParams.get('code')!,
    iss: callback.searchParams.get('iss')!,
  });
  t.is(result, 'AUTHORIZED');
  await assertAccessToken(t, gh.issuer, gh.resource, provider.accessToken);
});

/**
 * CIMD needs an https client_id that Gatehouse fetches. Here the document is
 * served from a loopback https server with a test certificate, which
 * oidc-provider's SSRF guard would rightly refuse: this Gatehouse runs with
 * the test-only CIMD_ALLOW_PRIVATE_ADDRESSES=on and trusts the test CA
 * through NODE_EXTRA_CA_CERTS. Production keeps the guard.
 */
test('the v2 SDK with a Client ID Metadata Document instead of registration', async (t) => {
  const redirect = 'http://127.0.0.1:49402/callback';
  const host = await startCimdHost();
  t.teardown(() => host.close());
  const clientId = host.publish('/oauth/client.json', publicClientDocument('CIMD Test Client', [redirect]));

  const server = await spawnGatehouse({ port: await freePort(), env: { ...cimdEnv(host), LOG_LEVEL: 'warn' } });
  t.teardown(() => server.stop());

  const provider = new MemoryOAuthProvider(redirect, {}, { clientMetadataUrl: clientId });
  t.is(await authV2(provider as never, { serverUrl: `${server.url}/mcp` }), 'REDIRECT');
  t.is(provider.authorizationUrl!.searchParams.get('client_id'), clientId, 'the metadata URL is the client_id; no registration');

  const agent = new UserAgent();
  const callback = await agent.authorize(provider.authorizationUrl!, ADMIN);
  t.true(host.fetched.includes('/oauth/client.json'), 'Gatehouse fetched the metadata document');
  t.true(agent.pages.some((page) => page.html.includes('CIMD Test Client')), 'the consent page names the client from its document');
  t.is(
    await authV2(provider as never, { serverUrl: `${server.url}/mcp`, authorizationCode: callback.searchParams.get('code')!, iss: callback.searchParams.get('iss')! }),
    'AUTHORIZED',
  );
  await assertAccessToken(t, server.url, `${server.url}/mcp`, provider.accessToken);

  // Like a native app, it may come back on another loopback port than its document lists.
  const otherPort = new URL(provider.authorizationUrl!);
  otherPort.searchParams.set('redirect_uri', 'http://127.0.0.1:49499/callback');
  const elsewhere = await agent.authorize(otherPort, ADMIN);
  t.is(elsewhere.origin, 'http://127.0.0.1:49499');
  t.truthy(elsewhere.searchParams.get('code'));
});
