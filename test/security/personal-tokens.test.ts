/**
 * Finding 8: personal access tokens. The CLI created tokens for disabled
 * people and with scopes that can never call /mcp; the verifier never checked
 * that the owner is still enabled; and `gatehouse token revoke` took a
 * shortcut past the revocation the admin page uses, leaving MCP sessions
 * opened with the token alive.
 */
import test from 'ava';
import { addPersonOnAdminPage, disableOnAdminPage, signedInAdmin } from '../helpers/admin-pages.ts';
import { gatehouseCli } from '../helpers/cli.ts';
import { initializeRequest, mcpPost, modernPost, openSession, toolText } from '../helpers/mcp.ts';
import { openSql } from '../helpers/sql.ts';
import { startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse({ env: { GRANT_CHECK_CACHE: '1s' } });
});
test.after.always(async () => gh?.close());

const cli = (...args: string[]) => gatehouseCli(gh.databaseUrl, args);
const TOKEN = /gatehouse_pat_[A-Za-z0-9_-]+/;

async function createToken(email: string, scope = 'mcp:tools mcp:write') {
  const result = await cli('token', 'create', '--user', email, '--scope', scope, '--name', 'security-test');
  const token = TOKEN.exec(result.stdout)?.[0];
  const id = /token (\S+) for/.exec(result.stdout)?.[1];
  if (result.code !== 0 || !token || !id) throw new Error(`token create failed (${result.code}): ${result.stdout}${result.stderr}`);
  return { token, id };
}

const initializeStatus = async (token: string) => (await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${token}` })).status;

async function statusWithin(ask: () => Promise<number>, acceptable: number[], ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await ask();
    if (acceptable.includes(status) || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('the CLI refuses to create a token for a disabled person, with a clear message and no token printed', async (t) => {
  const admin = await signedInAdmin(gh.url);
  const person = await addPersonOnAdminPage(admin, 'disabled-pat');
  const disabled = await disableOnAdminPage(admin, person.email);
  t.is(disabled.status, 303, 'disabled on the Users page');

  const result = await cli('token', 'create', '--user', person.email, '--scope', 'mcp:tools', '--name', 'for-a-disabled-person');
  t.not(result.code, 0, `the CLI created a token for a disabled person: ${result.stdout}`);
  t.false(TOKEN.test(result.stdout + result.stderr), 'no token is printed');
  t.regex(result.stderr + result.stdout, /disabled/i, 'the message says why');
});

test('the CLI refuses scopes that can never call /mcp (mcp:write without mcp:tools), or the token it makes can call whoami', async (t) => {
  const admin = await signedInAdmin(gh.url);
  const person = await addPersonOnAdminPage(admin, 'write-only');
  const result = await cli('token', 'create', '--user', person.email, '--scope', 'mcp:write', '--name', 'write-only');
  const token = TOKEN.exec(result.stdout)?.[0];
  if (result.code === 0 || token) {
    // Accepted: then what it printed must be usable.
    t.truthy(token, `exit ${result.code} without a token: ${result.stdout}${result.stderr}`);
    const answer = await modernPost(gh.resource, { id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { authorization: `Bearer ${token}` });
    t.is(answer.status, 200, `the token the CLI printed cannot call whoami (${answer.status} ${answer.text.slice(0, 160)})`);
    t.regex(toolText(answer.messages[0]?.result ?? {}), /personal access token/);
  } else {
    t.pass('refused');
  }
  if (result.code !== 0) t.regex(result.stderr + result.stdout, /mcp:tools/, 'the refusal names the scope every token needs');
});

test('a personal access token stops working at /mcp within GRANT_CHECK_CACHE once its owner is disabled in the database', async (t) => {
  const admin = await signedInAdmin(gh.url);
  const person = await addPersonOnAdminPage(admin, 'disabled-in-db');
  const { token } = await createToken(person.email);
  t.is(await initializeStatus(token), 200, 'the token works');
  // A partial state: the owner is marked disabled, and nothing else revoked the token.
  const sql = openSql(gh.databaseUrl);
  t.teardown(() => sql.close());
  t.is(await sql.run('UPDATE users SET disabled_at = ? WHERE email = ?', [Date.now(), person.email]), 1);
  t.is(await statusWithin(() => initializeStatus(token), [401], 3000), 401, 'the disabled owner’s token still opens /mcp');
});

test('`gatehouse token revoke` ends the MCP sessions opened with the token on the running server, as the admin page does', async (t) => {
  const admin = await signedInAdmin(gh.url);
  const person = await addPersonOnAdminPage(admin, 'revoked-pat');
  const { token, id } = await createToken(person.email);
  const sessionId = await openSession(gh.resource, token);
  const call = () => mcpPost(gh.resource, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { 'mcp-session-id': sessionId });
  const before = await call();
  t.is(before.status, 200, 'the session answers on its bound token');
  t.regex(toolText(before.messages[0]?.result ?? {}), /personal access token/);
  const sql = openSql(gh.databaseUrl);
  t.teardown(() => sql.close());
  const stored = async () => Number((await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM mcp_sessions WHERE pat_id = ?', [id]))?.n ?? 0);
  t.is(await stored(), 1, 'the session is stored, bound to the token');

  const revoked = await cli('token', 'revoke', id);
  t.is(revoked.code, 0, revoked.stderr);
  t.is(await stored(), 0, 'the session bound to the revoked token is still stored');
  const status = await statusWithin(async () => (await call()).status, [401, 404], 3000);
  t.true(status === 404 || status === 401, `a request on the session without a bearer still got ${status}`);
});
