import test from 'ava';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Client, ClientCredentialsProvider, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { signedInAdmin } from '../helpers/admin-pages.ts';
import { gatehouseCli } from '../helpers/cli.ts';
import { connectV1 } from '../helpers/mcp.ts';
import { postForm } from '../helpers/oauth.ts';
import { startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

/** Machine clients: an administrator creates them, they get tokens with client credentials, and those tokens name no person. */

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

interface Created {
  id: string;
  secret: string;
}

/** Every secret and token these tests saw: none may appear in a log line. */
const secrets: string[] = [];

async function createWithCli(name: string): Promise<Created> {
  const created = await gatehouseCli(gh.databaseUrl, ['client', 'create', '--name', name, '--client-credentials', '--scope', 'mcp:tools']);
  if (created.code !== 0) throw new Error(`client create failed: ${created.stderr}`);
  const client = { id: /client_id: (\S+)/.exec(created.stdout)![1]!, secret: /client_secret: (\S+)/.exec(created.stdout)![1]! };
  secrets.push(client.secret);
  return client;
}

const basic = (client: Created) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}` });
async function tokenFor(client: Created, extra: Record<string, string> = {}) {
  const answer = await postForm(`${gh.url}/token`, { grant_type: 'client_credentials', resource: gh.resource, scope: 'mcp:tools', ...extra }, basic(client));
  if (typeof answer.json.access_token === 'string') secrets.push(answer.json.access_token);
  return answer;
}

async function whoami(token: string) {
  const { client } = await connectV1(gh, token);
  try {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return JSON.parse((result.content as { text: string }[])[0]!.text) as { user: unknown; client: { id: string; name: string }; credential: string; principal?: string };
  } finally {
    await client.close();
  }
}

test('gatehouse client create prints the credentials once; the token is a JWT for the MCP resource that names no person', async (t) => {
  const client = await createWithCli('Nightly CI');
  const answer = await tokenFor(client);
  t.is(answer.status, 200, answer.text);
  t.falsy(answer.json.refresh_token);
  t.is(answer.json.scope, 'mcp:tools');
  const token = String(answer.json.access_token);
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${gh.url}/jwks`)), { issuer: gh.issuer, audience: gh.resource, typ: 'at+jwt' });
  t.is(payload.sub, client.id);
  t.is(payload.client_id, client.id);

  const who = await whoami(token);
  t.is(who.user, null);
  t.is(who.client.id, client.id);
  t.is(who.client.name, 'Nightly CI');
  t.regex(who.credential, /client credentials/);
  t.regex(who.principal!, /service/);
});

test('the v2 SDK client credentials provider connects and calls a tool', async (t) => {
  const client = await createWithCli('SDK machine');
  const provider = new ClientCredentialsProvider({ clientId: client.id, clientSecret: client.secret, scope: 'mcp:tools', expectedIssuer: gh.issuer });
  const mcp = new Client({ name: 'cc-test', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(gh.resource), { authProvider: provider }));
  const tools = await mcp.listTools();
  t.true(tools.tools.some((tool) => tool.name === 'whoami'));
  await mcp.close();
});

test('asking for more scope gets what the client was given; refused: a wrong secret, only scopes it was not given, a foreign resource', async (t) => {
  const client = await createWithCli('Refusals');
  const wider = await tokenFor(client, { scope: 'mcp:tools mcp:write' });
  t.is(wider.status, 200, wider.text);
  t.is(wider.json.scope, 'mcp:tools');
  const unasked = await tokenFor(client, { scope: '' });
  t.is(unasked.json.scope, 'mcp:tools', 'no scope asked: the scopes it was given');
  const wrongSecret = await tokenFor({ ...client, secret: 'not-the-secret' });
  t.is(wrongSecret.status, 401);
  t.is(wrongSecret.json.error, 'invalid_client');
  const notGiven = await tokenFor(client, { scope: 'mcp:write' });
  t.is(notGiven.status, 400);
  t.is(notGiven.json.error, 'invalid_scope');
  const foreign = await tokenFor(client, { resource: 'https://other.example/mcp' });
  t.is(foreign.status, 400);
  t.is(foreign.json.error, 'invalid_target');
});

test('revoking the client on the admin page ends its tokens; later tokens work; deleting it ends everything', async (t) => {
  const client = await createWithCli('Revoked machine');
  const before = String((await tokenFor(client)).json.access_token);
  t.is((await whoami(before)).client.id, client.id);

  const admin = await signedInAdmin(gh.url);
  await admin.act(`/admin/clients/${encodeURIComponent(client.id)}/revoke`, { confirm: 'yes' });
  await t.throwsAsync(connectV1(gh, before), { message: /401|revoked|nauthorized/i });

  // Token times are whole seconds: one issued in the second of the revocation is refused too.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const after = String((await tokenFor(client)).json.access_token);
  t.is((await whoami(after)).client.id, client.id);

  await admin.act(`/admin/clients/${encodeURIComponent(client.id)}/delete`, { confirm: 'yes' });
  await t.throwsAsync(connectV1(gh, after), { message: /401|revoked|nauthorized/i });
  t.is((await tokenFor(client)).json.error, 'invalid_client');
});

test('the admin page creates machine clients and shows the secret once; nobody can self-register one', async (t) => {
  const admin = await signedInAdmin(gh.url);
  const created = await admin.post('/admin/clients', { name: 'n8n workflow', redirect_uris: '', type: 'confidential', client_credentials: 'on', scope: 'mcp:tools' });
  t.is(created.status, 201, created.html.slice(0, 400));
  const id = /<code id="client-id">([^<]+)</.exec(created.html)?.[1];
  const secret = /id="client-secret"[^>]*value="([^"]+)"/.exec(created.html)?.[1];
  t.truthy(id && secret, 'the page shows the client id and secret');
  const answer = await tokenFor({ id: id!, secret: secret! });
  t.is(answer.status, 200, answer.text);

  const selfRegistered = await fetch(`${gh.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' }),
  });
  t.is(selfRegistered.status, 400);
  t.is(((await selfRegistered.json()) as { error: string }).error, 'invalid_client_metadata');
});

test.after('no client secret or token reaches a log line', (t) => {
  const logs = gh.logs.join('\n');
  t.true(secrets.length > 5);
  for (const secret of secrets) t.false(logs.includes(secret), 'a secret was logged');
});
