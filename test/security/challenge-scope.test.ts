/**
 * Finding 13: the 401 challenge at /mcp names `scope="mcp:tools"`. Clients
 * that ask for exactly what the challenge names (the Python MCP SDK, fastmcp,
 * mcp-remote) then get a 403 on their first write and send the person through
 * a second consent. One consent must be enough to use the tools, writing ones
 * included.
 */
import test from 'ava';
import { connectV1, connectV2, initializeRequest, mcpPost, toolText } from '../helpers/mcp.ts';
import { discover, obtainCode, postForm, register } from '../helpers/oauth.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

/** The `scope` parameter of the Bearer challenge an unauthenticated initialize gets. */
async function challengedScope(): Promise<string> {
  const answer = await mcpPost(gh.resource, initializeRequest(), {});
  const challenge = answer.headers.get('www-authenticate') ?? '';
  const scope = /scope="([^"]*)"/.exec(challenge)?.[1];
  if (answer.status !== 401 || scope === undefined) throw new Error(`no scope in the challenge: ${answer.status} ${challenge}`);
  return scope;
}

/** The OAuth flow a challenge-driven client runs: exactly the challenged scope; returns the access token and how many consent pages the person saw. */
async function signInWithScope(scope: string): Promise<{ accessToken: string; consents: number }> {
  const redirect = 'http://127.0.0.1:49850/callback';
  const as = await discover(gh.issuer);
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'Challenge-driven client' });
  const agent = new UserAgent();
  const { code, verifier } = await obtainCode(as, client, agent, ALICE, redirect, { scope, resource: gh.resource });
  const exchanged = await postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: client.client_id });
  if (exchanged.status !== 200) throw new Error(`token exchange failed: ${exchanged.text}`);
  return { accessToken: String(exchanged.json.access_token), consents: agent.pages.filter((page) => page.html.includes('/consent')).length };
}

test('a client that asks for exactly the challenged scope can call notes_add after one consent (v1 SDK, legacy session)', async (t) => {
  const scope = await challengedScope();
  const { accessToken, consents } = await signInWithScope(scope);
  t.is(consents, 1, 'one consent page');
  const { client } = await connectV1(gh, accessToken);
  t.teardown(() => client.close());
  const result = await client.callTool({ name: 'notes_add', arguments: { text: 'written after one consent (v1)' } }).catch((error: Error) => error);
  t.false(result instanceof Error, `notes_add was refused with scope "${scope}": ${(result as Error).message}`);
  if (!(result instanceof Error)) {
    t.falsy(result.isError, toolText(result as never));
    t.regex(toolText(result as never), /written after one consent/);
  }
});

test('a client that asks for exactly the challenged scope can call notes_add after one consent (v2 SDK, 2026-07-28)', async (t) => {
  const scope = await challengedScope();
  const { accessToken, consents } = await signInWithScope(scope);
  t.is(consents, 1, 'one consent page');
  const { client } = await connectV2(gh, accessToken, { negotiate: true });
  t.teardown(() => client.close());
  const result = await client.callTool({ name: 'notes_add', arguments: { text: 'written after one consent (v2)' } }).catch((error: Error) => error);
  t.false(result instanceof Error, `notes_add was refused with scope "${scope}": ${(result as Error).message}`);
  if (!(result instanceof Error)) {
    t.falsy(result.isError, toolText(result));
    t.regex(toolText(result), /written after one consent/);
  }
});
