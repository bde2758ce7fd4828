import { randomUUID } from 'node:crypto';
import test from 'ava';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { Client, CrossAppAccessProvider, discoverAndRequestJwtAuthGrant, exchangeJwtAuthGrant, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { findUserByEmail } from '../../src/domain/accounts.ts';
import { gatehouseCli } from '../helpers/cli.ts';
import { APP_AT_IDP, startCompanyIdp, type CompanyIdp } from '../helpers/company-idp.ts';
import { connectV2 } from '../helpers/mcp.ts';
import { postForm } from '../helpers/oauth.ts';
import { ALICE, BOB, freePort, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

/**
 * Enterprise-managed authorization: the company's provider issues an ID-JAG,
 * the MCP client trades it at Gatehouse's /token for an access token, with no
 * browser. The happy path runs the v2 SDK's own cross-app access client.
 */

let gh: RunningGatehouse;
let idp: CompanyIdp;
let client: { id: string; secret: string };

test.before(async () => {
  const port = await freePort();
  idp = await startCompanyIdp({ gatehouseCallback: `http://127.0.0.1:${port}/sso/callback` });
  gh = await startGatehouse({ port, env: idp.env() });
  const created = await gatehouseCli(gh.databaseUrl, ['client', 'create', '--name', 'Acme assistant', '--id-jag', '--scope', 'mcp:tools mcp:write']);
  if (created.code !== 0) throw new Error(`client create failed: ${created.stderr}`);
  client = { id: /client_id: (\S+)/.exec(created.stdout)![1]!, secret: /client_secret: (\S+)/.exec(created.stdout)![1]! };
  idp.clientIdAtGatehouse = client.id;
  for (const person of [ALICE, BOB]) idp.addPerson({ email: person.email, email_verified: true, name: person.email.split('@')[0] });
});
test.after.always(async () => {
  await gh?.close();
  await idp?.close();
});

const basic = () => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}` });
const redeem = (assertion: string, extra: Record<string, string> = {}) =>
  postForm(`${gh.url}/token`, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion, ...extra }, basic());
const goodClaims = (email = ALICE.email) => {
  const person = [...idp.people.values()].find((candidate) => candidate.email === email)!;
  return { sub: person.sub, aud: gh.issuer, resource: gh.resource, scope: 'mcp:tools', email: person.email, email_verified: true };
};

test('the metadata advertises the jwt-bearer grant', async (t) => {
  const metadata = (await (await fetch(`${gh.url}/.well-known/oauth-authorization-server`)).json()) as { grant_types_supported: string[] };
  t.true(metadata.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:jwt-bearer'));
  t.true(metadata.grant_types_supported.includes('client_credentials'));
});

test('the v2 SDK cross-app access client gets a token from an ID-JAG and calls a tool', async (t) => {
  const idToken = await idp.idTokenForApp(ALICE.email);
  const provider = new CrossAppAccessProvider({
    clientId: client.id,
    clientSecret: client.secret,
    expectedIssuer: gh.issuer,
    assertion: async (ctx) =>
      (
        await discoverAndRequestJwtAuthGrant({
          idpUrl: idp.issuer,
          audience: ctx.authorizationServerUrl,
          resource: ctx.resourceUrl,
          idToken,
          clientId: APP_AT_IDP.clientId,
          clientSecret: APP_AT_IDP.clientSecret,
          ...(ctx.scope ? { scope: ctx.scope } : {}),
          fetchFn: ctx.fetchFn,
        })
      ).jwtAuthGrant,
  });
  const mcp = new Client({ name: 'xaa-test', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(gh.resource), { authProvider: provider }));
  const result = await mcp.callTool({ name: 'whoami', arguments: {} });
  const who = JSON.parse((result.content as { text: string }[])[0]!.text) as { user: { email: string }; client: { id: string } };
  t.is(who.user.email, ALICE.email);
  t.is(who.client.id, client.id);
  await mcp.close();

  const tokens = provider.tokens()!;
  t.falsy(tokens.refresh_token, 'no refresh token: the client asks its provider again');
  t.is(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
  const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.url}/jwks`)), { issuer: gh.issuer, audience: gh.resource, typ: 'at+jwt' });
  t.is(payload.sub, (await findUserByEmail(gh.gatehouse.store, ALICE.email))!.id);
});

test('exchangeJwtAuthGrant redeems an ID-JAG once; a replayed jti is refused', async (t) => {
  const jag = await idp.mintIdJag(goodClaims(BOB.email));
  const tokens = await exchangeJwtAuthGrant({ tokenEndpoint: `${gh.url}/token`, jwtAuthGrant: jag, clientId: client.id, clientSecret: client.secret });
  t.truthy(tokens.access_token);
  t.is(tokens.scope, 'mcp:tools');
  await t.throwsAsync(exchangeJwtAuthGrant({ tokenEndpoint: `${gh.url}/token`, jwtAuthGrant: jag, clientId: client.id, clientSecret: client.secret }), { message: /invalid_grant/ });
  const replayed = await redeem(jag);
  t.is(replayed.status, 400);
  t.is(replayed.json.error, 'invalid_grant');
  t.regex(String(replayed.json.error_description), /already used/);
});

const refusals: [string, () => Promise<string>, string, RegExp][] = [
  ['another issuer', () => idp.mintIdJag({ ...goodClaims(), iss: 'http://127.0.0.1:9/other-idp' }), 'invalid_grant', /not a trusted/],
  ['a key the issuer does not publish', () => idp.mintIdJag(goodClaims(), { foreignKey: true }), 'invalid_grant', /signature/],
  ['the wrong aud', () => idp.mintIdJag({ ...goodClaims(), aud: 'https://other-as.example' }), 'invalid_grant', /aud/],
  ['another client_id', () => idp.mintIdJag({ ...goodClaims(), client_id: 'someone-else' }), 'invalid_grant', /another client/],
  ['an expired assertion', () => idp.mintIdJag({ ...goodClaims(), iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 60 }), 'invalid_grant', /expired/],
  ['a foreign resource', () => idp.mintIdJag({ ...goodClaims(), resource: 'https://other.example/mcp' }), 'invalid_target', /resource/],
  ['a scope this server does not serve', () => idp.mintIdJag({ ...goodClaims(), scope: 'mcp:tools admin:everything' }), 'invalid_scope', /admin:everything/],
  ['a JWT that is not an ID-JAG', () => idp.mintIdJag(goodClaims(), { typ: 'JWT' }), 'invalid_grant', /not an ID-JAG/],
  ['a person with no account', () => idp.mintIdJag({ ...goodClaims(), sub: randomUUID(), email: 'nobody@corp.test' }), 'invalid_grant', /nobody/],
  ['no jti', () => idp.mintIdJag({ ...goodClaims(), jti: undefined }), 'invalid_grant', /jti/],
];

for (const [what, mint, error, description] of refusals) {
  test(`refused: ${what}`, async (t) => {
    const answer = await redeem(await mint());
    t.is(answer.status, 400, answer.text);
    t.is(answer.json.error, error);
    t.regex(String(answer.json.error_description), description);
  });
}

test('refused: a resource asked for that is not the assertion\'s, and more scope than the assertion allows', async (t) => {
  const foreign = await redeem(await idp.mintIdJag(goodClaims()), { resource: 'https://other.example/mcp' });
  t.is(foreign.status, 400);
  t.is(foreign.json.error, 'invalid_target');
  const wider = await redeem(await idp.mintIdJag(goodClaims()), { scope: 'mcp:tools mcp:write' });
  t.is(wider.status, 400);
  t.is(wider.json.error, 'invalid_scope');
});

test('refused: a disabled person, and a client without the grant', async (t) => {
  const carol = idp.addPerson({ email: 'carol-idjag@example.test', email_verified: true });
  const admin = (await findUserByEmail(gh.gatehouse.store, 'admin@example.test'))!;
  const { createUser } = await import('../../src/domain/accounts.ts');
  const user = await createUser(gh.gatehouse.store, { email: carol.email });
  await gh.gatehouse.access.disablePerson(user.id, { actor: admin.id });
  const disabled = await redeem(await idp.mintIdJag(goodClaims(carol.email)));
  t.is(disabled.status, 400);
  t.is(disabled.json.error, 'invalid_grant');

  // A client registered for people's sign-in cannot use the grant.
  const publicClient = (await (
    await fetch(`${gh.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }) })
  ).json()) as { client_id: string };
  const notAllowed = await postForm(`${gh.url}/token`, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await idp.mintIdJag({ ...goodClaims(), client_id: publicClient.client_id }), client_id: publicClient.client_id });
  t.is(notAllowed.status, 400, notAllowed.text);
  t.regex(String(notAllowed.json.error), /^(unauthorized_client|invalid_request)$/);

  // A self-registered client may not ask for this grant at all.
  const selfRegistered = await fetch(`${gh.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'], grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer'], token_endpoint_auth_method: 'client_secret_basic' }),
  });
  t.is(selfRegistered.status, 400);
  t.is(((await selfRegistered.json()) as { error: string }).error, 'invalid_client_metadata');
});

test('revoking the client ends the tokens it got from ID-JAGs', async (t) => {
  const other = await gatehouseCli(gh.databaseUrl, ['client', 'create', '--name', 'Short-lived assistant', '--id-jag']);
  t.is(other.code, 0, other.stderr);
  const id = /client_id: (\S+)/.exec(other.stdout)![1]!;
  const secret = /client_secret: (\S+)/.exec(other.stdout)![1]!;
  const jag = await idp.mintIdJag({ ...goodClaims(), client_id: id });
  const tokens = await exchangeJwtAuthGrant({ tokenEndpoint: `${gh.url}/token`, jwtAuthGrant: jag, clientId: id, clientSecret: secret });
  const { client: mcp } = await connectV2(gh, tokens.access_token);
  t.truthy(await mcp.callTool({ name: 'whoami', arguments: {} }));
  await mcp.close();
  await gh.gatehouse.access.revokeClient(id, { actor: 'test' });
  await t.throwsAsync(connectV2(gh, tokens.access_token), { message: /access was revoked/ });
});

test.after('no ID-JAG, ID token or client secret reaches a log line', (t) => {
  const logs = gh.logs.join('\n');
  t.true(idp.secretsIssued.size > 10);
  for (const secret of [...idp.secretsIssued, client.secret, APP_AT_IDP.clientSecret]) t.false(logs.includes(secret), 'a secret was logged');
});
