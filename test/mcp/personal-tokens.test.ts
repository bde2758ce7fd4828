import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { ClientV1, connectLikeN8n, mcpPost, toolText } from '../helpers/mcp.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

const run = promisify(execFile);
let gh: RunningGatehouse;
let token: string;

test.before(async () => {
  gh = await startGatehouse();
  // The way an operator makes one: the CLI, against the same database.
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'create', '--user', ALICE.email, '--scope', 'mcp:tools mcp:write', '--name', 'n8n', '--expires', '90d'], {
    env: { ...process.env, DATABASE_URL: gh.config.databaseUrl },
  });
  token = /(gatehouse_pat_\S+)/.exec(stdout)![1]!;
});
test.after.always(async () => gh?.close());

test('n8n-like: the v1 client with a static Bearer personal access token on every request, GET stream included', async (t) => {
  const { client, seen, getStreamOpened } = await connectLikeN8n(gh, token);
  t.teardown(() => client.close());
  const who = JSON.parse(toolText(await client.callTool({ name: 'whoami', arguments: {} })));
  t.is(who.user.email, ALICE.email);
  t.is(who.credential, 'personal access token');
  t.is(who.client.name, 'personal access token "n8n"');
  await client.callTool({ name: 'notes_add', arguments: { text: 'from n8n' } });
  t.true(await getStreamOpened(), 'the client opened its GET stream');
  t.true(seen.every((request) => request.authorization === `Bearer ${token}`));
});

test('the old HTTP+SSE transport with the same token', async (t) => {
  const transport = new SSEClientTransport(new URL(`${gh.url}/sse`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as Record<string, string>), Authorization: `Bearer ${token}` } }) },
  });
  const client = new ClientV1({ name: 'sse-client', version: '1.0.0' });
  await client.connect(transport);
  t.teardown(() => client.close());
  const { tools } = await client.listTools();
  t.true(tools.some((tool) => tool.name === 'notes_list'));
  const notes = JSON.parse(toolText(await client.callTool({ name: 'notes_list', arguments: {} })));
  t.true(Array.isArray(notes.notes));
});

test('the old HTTP+SSE transport refuses a missing token with the challenge, and unknown sessions with 404', async (t) => {
  const refused = await fetch(`${gh.url}/sse`, { headers: { accept: 'text/event-stream' } });
  t.is(refused.status, 401);
  t.regex(refused.headers.get('www-authenticate') ?? '', /resource_metadata=/);
  const unknown = await mcpPost(`${gh.url}/messages?sessionId=nope`, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { authorization: `Bearer ${token}` });
  t.is(unknown.status, 404);
});

test('personal access tokens are stored hashed and listed and revoked from the CLI', async (t) => {
  const rows = await gh.gatehouse.store.all<{ token_hash: string; hint: string }>('SELECT token_hash, hint FROM personal_access_tokens');
  t.false(rows.some((row) => row.token_hash === token));
  t.true(rows.some((row) => token.startsWith(row.hint.replace('…', ''))));
  const env = { ...process.env, DATABASE_URL: gh.config.databaseUrl };
  const { stdout: created } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'create', '--user', ALICE.email, '--name', 'short'], { env });
  const shortToken = /(gatehouse_pat_\S+)/.exec(created)![1]!;
  const id = /token (\S+) for/.exec(created)![1]!;
  const { stdout: listed } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'list', '--user', ALICE.email], { env });
  t.regex(listed, new RegExp(`${id}.*short.*mcp:tools.*active`));
  t.false(listed.includes(shortToken), 'the secret is never listed');
  const { stdout: revoked } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'revoke', id], { env });
  t.regex(revoked, /revoked/);
  const after = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }, { authorization: `Bearer ${shortToken}` });
  t.is(after.status, 401);
  const bad = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'create', '--user', ALICE.email, '--scope', 'admin'], { env }).catch((error) => error);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /unknown scope/i);
});
