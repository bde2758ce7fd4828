import test from 'ava';
import { initializeRequest, mcpPost, openSession } from '../helpers/mcp.ts';
import { discover, obtainCode, postForm, register } from '../helpers/oauth.ts';
import { ALICE, startGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

test('no secret of a whole OAuth flow and MCP session reaches the log, and every line carries a request id', async (t) => {
  const gh = await startGatehouse({ env: { LOG_LEVEL: 'trace' } });
  t.teardown(() => gh.close());
  const secrets: Record<string, string> = { password: ALICE.password };

  const as = await discover(gh.issuer);
  const redirect = 'http://127.0.0.1:49900/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'client_secret_post', client_name: 'Log test' });
  secrets.client_secret = client.client_secret as string;
  const agent = new UserAgent();
  const { code, verifier } = await obtainCode(as, client, agent, ALICE, redirect);
  secrets.code = code;
  secrets.code_verifier = verifier;
  const tokens = await postForm(`${gh.url}/token`, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: redirect,
    client_id: client.client_id,
    client_secret: client.client_secret as string,
  });
  t.is(tokens.status, 200);
  secrets.access_token = String(tokens.json.access_token);
  secrets.refresh_token = String(tokens.json.refresh_token);

  const sessionId = await openSession(gh.resource, secrets.access_token);
  secrets.session_id = sessionId;
  await mcpPost(gh.resource, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'notes_add', arguments: { text: 'logged?' } } }, { 'mcp-session-id': sessionId });
  await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${secrets.access_token}x` });
  const refreshed = await postForm(`${gh.url}/token`, {
    grant_type: 'refresh_token',
    refresh_token: secrets.refresh_token,
    client_id: client.client_id,
    client_secret: client.client_secret as string,
  });
  secrets.second_refresh_token = String(refreshed.json.refresh_token);
  await postForm(`${gh.url}/revoke`, { token: secrets.second_refresh_token, client_id: client.client_id, client_secret: client.client_secret as string });
  const { issuePersonalToken } = await import('../../src/domain/personal-tokens.ts');
  const { findUserByEmail } = await import('../../src/domain/accounts.ts');
  const { token: pat } = await issuePersonalToken(gh.gatehouse.store, { ownerId: (await findUserByEmail(gh.gatehouse.store, ALICE.email))!.id, name: 'x', scopes: ['mcp:tools'], expiresAt: null }, { actor: 'test' });
  secrets.pat = pat;
  await openSession(gh.resource, pat);
  await fetch(`${gh.url}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });

  const output = gh.logs.join('\n');
  t.true(gh.logs.length > 20, 'the flow was logged');
  for (const [name, secret] of Object.entries(secrets)) {
    t.false(output.includes(secret), `${name} appears in the log`);
  }
  for (const line of gh.logs) {
    const entry = JSON.parse(line) as { msg: string; requestId?: string };
    if (entry.msg === 'request') t.truthy(entry.requestId, line);
  }
  t.false(output.includes('code_challenge'), 'query strings are never logged');
});

test('an error is logged as its type, message and stack, never the data a library hung on it', async (t) => {
  const { createLogger } = await import('../../src/ops/logging.ts');
  const { Writable } = await import('node:stream');
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
  const failure = Object.assign(new TypeError('claim check failed'), { code: 'ERR_JWT_CLAIM', payload: { sub: 'someone', secret: 'claim-value-123' }, detail: 'Key (token)=(row-value-456)' });
  logger.error({ err: failure }, 'it broke');
  const entry = JSON.parse(lines[0]!) as { err: Record<string, unknown> };
  t.is(entry.err.type, 'TypeError');
  t.is(entry.err.message, 'claim check failed');
  t.is(entry.err.errorCode, 'ERR_JWT_CLAIM');
  t.truthy(entry.err.stack);
  t.false(lines[0]!.includes('claim-value-123'));
  t.false(lines[0]!.includes('row-value-456'));
});
