import test from 'ava';
import { initializeRequest, mcpPost, openSession, parseSse, tokensFor, type IssuedTokens } from '../helpers/mcp.ts';
import { ALICE, BOB, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

let gh: RunningGatehouse;
let alice: IssuedTokens;
let mcp: string;
const auth = () => ({ authorization: `Bearer ${alice.accessToken}` });

test.before(async () => {
  gh = await startGatehouse({ env: { TOOLS_MODULES: 'test/fixtures/test-tools.ts', MCP_KEEPALIVE_INTERVAL: '1s' } });
  mcp = gh.resource;
  alice = await tokensFor(gh, ALICE);
});
test.after.always(async () => gh?.close());

const PRM = () => `${gh.issuer}/.well-known/oauth-protected-resource/mcp`;

test('unauthenticated POST, GET and DELETE get 401 with an RFC 9728 challenge', async (t) => {
  for (const method of ['POST', 'GET', 'DELETE']) {
    const response = await fetch(mcp, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      ...(method === 'POST' ? { body: JSON.stringify(initializeRequest()) } : {}),
    });
    t.is(response.status, 401, method);
    const challenge = response.headers.get('www-authenticate') ?? '';
    t.regex(challenge, /^Bearer /, method);
    t.true(challenge.includes(`resource_metadata="${PRM()}"`), challenge);
    t.regex(challenge, /scope="mcp:tools mcp:write"/, 'the challenge names every scope the tools need, so one consent is enough');
    t.notRegex(challenge, /error=/, 'no error attribute when no token was sent');
  }
});

test('a bad or foreign token gets 401 invalid_token', async (t) => {
  for (const token of ['garbage', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', `${alice.accessToken.slice(0, -4)}AAAA`, 'gatehouse_pat_doesnotexist']) {
    const answer = await mcpPost(mcp, initializeRequest(), { authorization: `Bearer ${token}` });
    t.is(answer.status, 401);
    t.regex(answer.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    t.regex(answer.headers.get('www-authenticate') ?? '', /resource_metadata="/);
  }
  const basic = await mcpPost(mcp, initializeRequest(), { authorization: 'Basic YTpi' });
  t.is(basic.status, 401);
});

test('initialize echoes every supported legacy version and issues a session', async (t) => {
  for (const version of ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25']) {
    const answer = await mcpPost(mcp, initializeRequest(version), auth());
    t.is(answer.status, 200, answer.text);
    t.is(answer.messages[0].result.protocolVersion, version);
    t.true((answer.headers.get('mcp-session-id') ?? '').length >= 40, 'a long random session id');
    t.is(answer.messages[0].result.serverInfo.name, 'gatehouse');
  }
  const unknown = await mcpPost(mcp, initializeRequest('1999-01-01'), auth());
  t.is(unknown.messages[0].result.protocolVersion, '2025-11-25', 'an unknown version gets our latest legacy version');
});

test('every Accept habit gets an answer it can read, never 406', async (t) => {
  const sessionId = await openSession(mcp, alice.accessToken);
  const cases: [string | undefined, RegExp][] = [
    ['*/*', /application\/json|text\/event-stream/],
    ['application/json', /application\/json/],
    ['text/event-stream', /text\/event-stream/],
    ['application/json, text/event-stream', /application\/json|text\/event-stream/],
    [undefined, /application\/json|text\/event-stream/],
  ];
  let id = 10;
  for (const [accept, type] of cases) {
    const headers: Record<string, string> = { ...auth(), 'mcp-session-id': sessionId, 'content-type': 'application/json' };
    if (accept) headers.accept = accept;
    const response = await fetch(mcp, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/list' }) });
    t.is(response.status, 200, String(accept));
    t.regex(response.headers.get('content-type') ?? '', type, String(accept));
    const text = await response.text();
    const messages = response.headers.get('content-type')!.startsWith('text/event-stream') ? parseSse(text) : [JSON.parse(text)];
    t.true(messages[0].result.tools.length >= 5, String(accept));
  }
  // The same for initialize itself.
  for (const accept of ['*/*', 'application/json', 'text/event-stream']) {
    const response = await fetch(mcp, { method: 'POST', headers: { ...auth(), accept, 'content-type': 'application/json' }, body: JSON.stringify(initializeRequest()) });
    t.is(response.status, 200, accept);
  }
});

test('progress upgrades an answer to a stream when the client takes both; a JSON-only client still gets its result', async (t) => {
  const sessionId = await openSession(mcp, alice.accessToken);
  const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'count_with_progress', arguments: { steps: 3 }, _meta: { progressToken: 'p1' } } };
  const streamed = await mcpPost(mcp, call, { ...auth(), 'mcp-session-id': sessionId });
  t.regex(streamed.headers.get('content-type') ?? '', /text\/event-stream/);
  t.is(streamed.messages.filter((message) => message.method === 'notifications/progress').length, 3);
  t.is(streamed.messages.at(-1).result.content[0].text, '3');

  const jsonOnly = await mcpPost(mcp, { ...call, id: 8 }, { ...auth(), 'mcp-session-id': sessionId, accept: 'application/json' });
  t.regex(jsonOnly.headers.get('content-type') ?? '', /application\/json/);
  t.is(jsonOnly.json.result.content[0].text, '3');
});

test('MCP-Protocol-Version may be missing, and notifications get 202 with no body, with or without a session', async (t) => {
  const sessionId = await openSession(mcp, alice.accessToken);
  const noHeader = await mcpPost(mcp, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { ...auth(), 'mcp-session-id': sessionId });
  t.is(noHeader.status, 200);

  const withSession = await mcpPost(mcp, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...auth(), 'mcp-session-id': sessionId });
  t.is(withSession.status, 202);
  t.is(withSession.text, '');
  const withoutSession = await mcpPost(mcp, { jsonrpc: '2.0', method: 'notifications/initialized' }, {});
  t.is(withoutSession.status, 202);
  t.is(withoutSession.text, '');
});

test('unknown sessions get 404; a legacy call without a session gets 400', async (t) => {
  const unknown = await mcpPost(mcp, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...auth(), 'mcp-session-id': 'not-a-real-session-id' });
  t.is(unknown.status, 404);
  t.is(unknown.json.error.code, -32001);
  const missing = await mcpPost(mcp, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, auth());
  t.is(missing.status, 400);
});

test('unknown methods get JSON-RPC -32601 on both eras', async (t) => {
  const sessionId = await openSession(mcp, alice.accessToken);
  const legacy = await mcpPost(mcp, { jsonrpc: '2.0', id: 3, method: 'no/such/method' }, { ...auth(), 'mcp-session-id': sessionId });
  t.is(legacy.status, 200);
  t.is(legacy.messages[0].error.code, -32601);

  const modern = await mcpPost(
    mcp,
    {
      jsonrpc: '2.0',
      id: 4,
      method: 'no/such/method',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } },
    },
    { ...auth(), 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'no/such/method' },
  );
  t.true(modern.status < 500, modern.text);
  t.is(modern.messages[0].error.code, -32601, modern.text);
});

test('server/discover answers a 2026-07-28 client without a session', async (t) => {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
  const answer = await mcpPost(mcp, { jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } }, { ...auth(), 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' });
  t.is(answer.status, 200, answer.text);
  t.is(answer.headers.get('mcp-session-id'), null);
  t.true(answer.messages[0].result.supportedVersions.includes('2026-07-28'), answer.text);
  const list = await mcpPost(mcp, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: meta } }, { ...auth(), 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' });
  t.is(list.status, 200, list.text);
  t.true(list.messages[0].result.tools.some((tool: { name: string }) => tool.name === 'whoami'));
});

test('malformed, non-JSON-RPC and oversized bodies get JSON-RPC errors, never 5xx', async (t) => {
  const sessionId = await openSession(mcp, alice.accessToken);
  const headers = { ...auth(), 'mcp-session-id': sessionId };
  const malformed = await mcpPost(mcp, '{"jsonrpc": "2.0", "id": 1, "method": ', headers);
  t.is(malformed.status, 400);
  t.is(malformed.json.error.code, -32700);
  for (const body of ['[]', '42', '{"hello":"world"}', '[{"jsonrpc":"1.0"}]']) {
    const answer = await mcpPost(mcp, body, headers);
    t.is(answer.status, 400, body);
    t.is(answer.json.error.code, -32600, body);
  }
  const huge = await mcpPost(mcp, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'notes_add', arguments: { text: 'x'.repeat(5 * 1024 * 1024) } } }, headers);
  t.is(huge.status, 413);
  t.is(huge.json.error.code, -32600);
  const badParams = await mcpPost(mcp, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'notes_list', arguments: { limit: 'many' } } }, headers);
  t.true(badParams.status < 500);
  const result = badParams.messages[0];
  t.true(Boolean(result.error) || result.result?.isError === true, JSON.stringify(result));
});

test('Host and Origin are checked against DNS rebinding; requests without Origin pass', async (t) => {
  const { request } = await import('node:http');
  const send = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const url = new URL(mcp);
      const req = request({ host: url.hostname, port: url.port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', ...auth(), ...headers } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end(JSON.stringify(initializeRequest()));
    });
  t.is(await send({ host: 'evil.example.com' }), 403);
  t.is(await send({ origin: 'http://evil.example.com' }), 403);
  t.is(await send({}), 200);
  t.is(await send({ origin: gh.issuer }), 200);
  t.is(await send({ origin: 'http://localhost:6274' }), 200, 'a loopback server accepts loopback browser origins');
});

test('CORS on /mcp: preflight without auth, and the headers browser clients need to read', async (t) => {
  const preflight = await fetch(mcp, {
    method: 'OPTIONS',
    headers: { origin: 'http://localhost:6274', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, mcp-session-id' },
  });
  t.is(preflight.status, 204);
  const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase();
  for (const header of ['authorization', 'content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'last-event-id']) t.true(allowed.includes(header), header);
  t.regex(preflight.headers.get('access-control-allow-methods') ?? '', /DELETE/);

  const real = await mcpPost(mcp, initializeRequest(), { ...auth(), origin: 'http://localhost:6274' });
  t.is(real.headers.get('access-control-allow-origin'), 'http://localhost:6274');
  const exposed = (real.headers.get('access-control-expose-headers') ?? '').toLowerCase();
  t.true(exposed.includes('mcp-session-id'));
  t.true(exposed.includes('www-authenticate'));
  const denied = await mcpPost(mcp, initializeRequest(), { origin: 'http://localhost:6274' });
  t.is(denied.status, 401);
  t.truthy(denied.headers.get('access-control-allow-origin'), 'even a 401 is readable by the browser client');
});

test('GET opens the standalone stream with headers at once and keep-alive comments; without a session it is 405', async (t) => {
  const sessionId = await openSession(mcp, alice.accessToken);
  const controller = new AbortController();
  const started = Date.now();
  const response = await fetch(mcp, { headers: { ...auth(), 'mcp-session-id': sessionId, accept: 'text/event-stream' }, signal: controller.signal });
  t.is(response.status, 200);
  t.true(Date.now() - started < 1000, 'headers arrive immediately');
  t.regex(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = response.body!.getReader();
  let text = '';
  const deadline = Date.now() + 2600;
  while (Date.now() < deadline && (text.match(/: keep-alive/g) ?? []).length < 2) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  controller.abort();
  t.true((text.match(/: keep-alive/g) ?? []).length >= 2, text);

  const noSession = await fetch(mcp, { headers: { ...auth(), accept: 'text/event-stream' } });
  t.is(noSession.status, 405);
});

test('DELETE ends a session: 200, then 404; DELETE of an unknown session is 404', async (t) => {
  const sessionId = await openSession(mcp, alice.accessToken);
  const deleted = await fetch(mcp, { method: 'DELETE', headers: { ...auth(), 'mcp-session-id': sessionId } });
  t.is(deleted.status, 200);
  const after = await mcpPost(mcp, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...auth(), 'mcp-session-id': sessionId });
  t.is(after.status, 404);
  const again = await fetch(mcp, { method: 'DELETE', headers: { ...auth(), 'mcp-session-id': sessionId } });
  t.is(again.status, 404);
});

test('a token without mcp:write gets 403 insufficient_scope naming the scopes, and a stepped-up token works', async (t) => {
  const readOnly = await tokensFor(gh, ALICE, { scope: 'mcp:tools' });
  const sessionId = await openSession(mcp, readOnly.accessToken);
  const call = { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'notes_add', arguments: { text: 'needs write' } } };
  const refused = await mcpPost(mcp, call, { authorization: `Bearer ${readOnly.accessToken}`, 'mcp-session-id': sessionId });
  t.is(refused.status, 403);
  const challenge = refused.headers.get('www-authenticate') ?? '';
  t.regex(challenge, /error="insufficient_scope"/);
  t.regex(challenge, /scope="mcp:tools mcp:write"/);
  t.true(challenge.includes(`resource_metadata="${PRM()}"`));
  const reading = await mcpPost(mcp, { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'notes_list', arguments: {} } }, { authorization: `Bearer ${readOnly.accessToken}`, 'mcp-session-id': sessionId });
  t.is(reading.status, 200);

  const stepped = await tokensFor(gh, ALICE, { scope: 'mcp:tools mcp:write' });
  const newSession = await openSession(mcp, stepped.accessToken);
  const allowed = await mcpPost(mcp, call, { authorization: `Bearer ${stepped.accessToken}`, 'mcp-session-id': newSession });
  t.is(allowed.status, 200);
  t.is(JSON.parse(allowed.messages[0].result.content[0].text).text, 'needs write');
});

test('tool names all match ^[a-zA-Z0-9_-]{1,64}$ and a bad name is refused at registration', async (t) => {
  const sessionId = await openSession(mcp, alice.accessToken);
  const list = await mcpPost(mcp, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...auth(), 'mcp-session-id': sessionId });
  for (const tool of list.messages[0].result.tools) t.regex(tool.name, /^[a-zA-Z0-9_-]{1,64}$/);
  const { ToolRegistry } = await import('../../src/mcp/tools/registry.ts');
  t.throws(() => new ToolRegistry().add({ name: 'has space', description: 'x', run: () => ({ content: [] }) }));
  t.throws(() => new ToolRegistry().add({ name: 'a'.repeat(65), description: 'x', run: () => ({ content: [] }) }));
  t.throws(() => new ToolRegistry().add({ name: 'dotted.name', description: 'x', run: () => ({ content: [] }) }));
});

test('notes belong to the person who wrote them', async (t) => {
  const bob = await tokensFor(gh, BOB);
  const aliceSession = await openSession(mcp, alice.accessToken);
  const bobSession = await openSession(mcp, bob.accessToken);
  const call = (token: string, session: string, name: string, args: Record<string, unknown>) =>
    mcpPost(mcp, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }, { authorization: `Bearer ${token}`, 'mcp-session-id': session });
  const added = JSON.parse((await call(alice.accessToken, aliceSession, 'notes_add', { text: 'alice secret plan' })).messages[0].result.content[0].text);
  const bobSearch = JSON.parse((await call(bob.accessToken, bobSession, 'notes_search', { query: 'secret' })).messages[0].result.content[0].text);
  t.deepEqual(bobSearch.notes, []);
  const bobDelete = await call(bob.accessToken, bobSession, 'notes_delete', { id: added.id });
  t.true(bobDelete.messages[0].result.isError);
  const aliceSearch = JSON.parse((await call(alice.accessToken, aliceSession, 'notes_search', { query: 'SECRET' })).messages[0].result.content[0].text);
  t.is(aliceSearch.notes[0].id, added.id);
  const percent = JSON.parse((await call(alice.accessToken, aliceSession, 'notes_search', { query: '%' })).messages[0].result.content[0].text);
  t.false(percent.notes.some((note: { id: string }) => note.id === added.id), 'LIKE wildcards in a query are literal');
});
