/**
 * Finding 15: an operator without a browser could not disable a person or
 * revoke a client: the command line lacked the commands, and the admin page's
 * use cases were out of its reach. Each new command does what the admin page
 * does, against the running server's database, and the running server acts on
 * it.
 */
import test from 'ava';
import { AdminAgent, addPersonOnAdminPage, signedInAdmin } from '../helpers/admin-pages.ts';
import { describeRun, gatehouseCli } from '../helpers/cli.ts';
import { initializeRequest, mcpPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { authorizeAndExchange, discover, postForm, register } from '../helpers/oauth.ts';
import { ADMIN, ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse({ env: { GRANT_CHECK_CACHE: '1s' } });
});
test.after.always(async () => gh?.close());

const cli = (...args: string[]) => gatehouseCli(gh.databaseUrl, args);
const initializeStatus = async (token: string) => (await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${token}` })).status;

async function statusWithin(ask: () => Promise<number>, acceptable: number[], ms = 3000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await ask();
    if (acceptable.includes(status) || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The line `user list` prints for this email, with the email itself taken out (so "admin@…" does not read as the role). */
async function listedState(email: string): Promise<string | undefined> {
  const result = await cli('user', 'list');
  if (result.code !== 0) throw new Error(`user list: ${describeRun(result)}`);
  const line = result.stdout.split('\n').find((candidate) => candidate.toLowerCase().includes(email.toLowerCase()));
  return line?.toLowerCase().replace(email.toLowerCase(), ' ');
}

test.serial('`gatehouse user disable` ends the person’s tokens and sessions at /mcp and refuses their sign-in; `user enable` lets them sign in again', async (t) => {
  const person = await addPersonOnAdminPage(await signedInAdmin(gh.url), 'cli-disabled');
  const issued = await tokensFor(gh, person, { clientName: 'App of a person disabled from the CLI' });
  const sessionId = await openSession(gh.resource, issued.accessToken);
  t.is(await initializeStatus(issued.accessToken), 200);

  const disabled = await cli('user', 'disable', person.email);
  t.is(disabled.code, 0, `user disable: ${describeRun(disabled)}`);
  t.is(await statusWithin(() => initializeStatus(issued.accessToken), [401]), 401, 'the access token is refused at /mcp');
  const session = await statusWithin(async () => (await mcpPost(gh.resource, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': sessionId })).status, [401, 404]);
  t.true(session === 401 || session === 404, `the session still answers (${session})`);
  t.is((await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: issued.refreshToken, client_id: issued.clientId })).status, 400, 'the refresh token is refused');
  t.is((await new AdminAgent(gh.url).signIn(person)).status, 401, 'their sign-in is refused');
  t.regex((await listedState(person.email)) ?? '', /disabled/, '`user list` shows them disabled');

  const enabled = await cli('user', 'enable', person.email);
  t.is(enabled.code, 0, `user enable: ${describeRun(enabled)}`);
  t.is((await new AdminAgent(gh.url).signIn(person)).status, 303, 'they can sign in again');
  const state = (await listedState(person.email)) ?? '';
  t.regex(state, /enabled|active/, '`user list` shows them enabled');
  t.notRegex(state, /disabled/);
});

test('`gatehouse user list` prints each person’s email, whether they are enabled, and who is an administrator', async (t) => {
  const admin = await listedState(ADMIN.email);
  const alice = await listedState(ALICE.email);
  t.truthy(admin, 'the administrator is listed');
  t.truthy(alice, 'alice is listed');
  t.regex(admin!, /admin/, 'the administrator is marked as one');
  t.notRegex(alice!, /admin/, 'alice is not an administrator');
  t.regex(alice!, /enabled|active/);
});

test('`gatehouse client revoke` stops the client’s access token at /mcp within GRANT_CHECK_CACHE and its refresh token', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'Client revoked from the CLI' });
  t.is(await initializeStatus(issued.accessToken), 200);
  const revoked = await cli('client', 'revoke', issued.clientId);
  t.is(revoked.code, 0, `client revoke: ${describeRun(revoked)}`);
  t.is(await statusWithin(() => initializeStatus(issued.accessToken), [401]), 401, 'the access token is refused at /mcp');
  const refreshed = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: issued.refreshToken, client_id: issued.clientId });
  t.is(refreshed.status, 400, refreshed.text);
  t.is(refreshed.json.error, 'invalid_grant');
  const listed = await cli('client', 'list');
  t.true(listed.stdout.includes(issued.clientId), 'a revoked client stays registered');
});

test('`gatehouse client delete` also removes the registration: RFC 7592 read, /token and `client list` no longer know it', async (t) => {
  const as = await discover(gh.issuer);
  const redirect = 'http://127.0.0.1:49860/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'Client deleted from the CLI' });
  const tokens = await authorizeAndExchange(as, client, new UserAgent(), ALICE, { redirectUri: redirect, resource: gh.resource });
  const management = { authorization: `Bearer ${String(client.registration_access_token)}` };
  t.is((await fetch(String(client.registration_client_uri), { headers: management })).status, 200, 'RFC 7592 read works before');
  t.true((await cli('client', 'list')).stdout.includes(client.client_id));

  const deleted = await cli('client', 'delete', client.client_id);
  t.is(deleted.code, 0, `client delete: ${describeRun(deleted)}`);
  const read = await fetch(String(client.registration_client_uri), { headers: management });
  t.true(read.status === 401 || read.status === 404, `RFC 7592 read after deletion: ${read.status}`);
  const token = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: client.client_id });
  t.is(token.json.error, 'invalid_client', `/token after deletion: ${token.status} ${token.text}`);
  t.false((await cli('client', 'list')).stdout.includes(client.client_id), '`client list` no longer lists it');
  t.is(await statusWithin(() => initializeStatus(tokens.access_token), [401]), 401, 'its access token is refused at /mcp');
});

test('an id that begins with "-" (base64url ids do, one in 32) reaches the command instead of being read as an option', async (t) => {
  const deleted = await cli('client', 'delete', '-pZq8Xc1');
  t.is(deleted.code, 1, describeRun(deleted));
  t.regex(deleted.stdout, /no client -pZq8Xc1/, 'the command looked the id up');
  t.notRegex(deleted.stderr, /Unknown option|TypeError/);
  const unknown = await cli('client', 'list', '--colour');
  t.is(unknown.code, 1);
  t.notRegex(unknown.stderr, /TypeError|at .*\.ts:\d+/, 'a bad command line is a usage message, not a stack trace');
});
