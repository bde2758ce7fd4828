/**
 * Finding 5: input a client controls must never produce a 500. A malformed
 * client id in HTTP Basic credentials at /token, or a tools/call whose tool
 * name is an object, are the client's mistakes: a 4xx in the protocol's shape
 * (OAuth JSON at /token, a JSON-RPC error at /mcp).
 */
import test from 'ava';
import { mcpPost, modernPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

let gh: RunningGatehouse;
let accessToken: string;
test.before(async () => {
  gh = await startGatehouse();
  ({ accessToken } = await tokensFor(gh, ALICE));
});
test.after.always(async () => gh?.close());

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

test('POST /token with Basic credentials whose client id is not valid percent-encoding gets a 4xx OAuth error, not a 500', async (t) => {
  for (const credentials of ['%:x', '%E0%A4%A:x', 'client%:secret', '%zz:%zz']) {
    const response = await fetch(`${gh.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(credentials) },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    const text = await response.text();
    t.true(response.status >= 400 && response.status < 500, `Basic ${credentials}: ${response.status} ${text.slice(0, 120)}`);
    let body: { error?: unknown } = {};
    try {
      body = JSON.parse(text) as { error?: unknown };
    } catch {
      // asserted below
    }
    t.is(typeof body.error, 'string', `Basic ${credentials}: OAuth JSON with an error, got ${text.slice(0, 120)}`);
  }
});

/** Tool names no tool has: objects (one that cannot even be turned into a string), and other JSON values. */
const NOT_A_NAME: unknown[] = [{ a: 1 }, { toString: 1 }, { toString: 1, valueOf: 1 }, ['whoami'], 12];

/** A JSON-RPC error answer for request `id`, in a 200 or a 4xx, never a 5xx. */
function assertJsonRpcError(t: import('ava').ExecutionContext, answer: { status: number; messages: any[]; text: string }, what: string) {
  t.true(answer.status < 500, `${what}: HTTP ${answer.status} ${answer.text.slice(0, 120)}`);
  const error = answer.messages[0]?.error;
  t.truthy(error, `${what}: a JSON-RPC error, got ${answer.text.slice(0, 120)}`);
  t.is(typeof error?.code, 'number', what);
  t.not(error?.code, -32603, `${what}: the client's mistake, not an internal error`);
}

test('tools/call with an object as the tool name on a legacy session gets a JSON-RPC error, never HTTP 500', async (t) => {
  const sessionId = await openSession(gh.resource, accessToken);
  for (const name of NOT_A_NAME) {
    const answer = await mcpPost(
      gh.resource,
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } },
      { authorization: `Bearer ${accessToken}`, 'mcp-session-id': sessionId },
    );
    assertJsonRpcError(t, answer, `legacy name=${JSON.stringify(name)}`);
  }
  const still = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { authorization: `Bearer ${accessToken}`, 'mcp-session-id': sessionId });
  t.is(still.status, 200, 'the session still serves calls');
});

test('tools/call with an object as the tool name on a 2026-07-28 stateless request gets a JSON-RPC error, never HTTP 500', async (t) => {
  for (const name of NOT_A_NAME) {
    const answer = await modernPost(gh.resource, { id: 9, method: 'tools/call', params: { name, arguments: {} } }, { authorization: `Bearer ${accessToken}`, 'mcp-name': 'whoami' });
    assertJsonRpcError(t, answer, `modern name=${JSON.stringify(name)}`);
  }
});
