/**
 * Finding 7: POST /mcp read and parsed the whole body before it looked at the
 * bearer, so anyone could make the server buffer and parse up to
 * MCP_MAX_BODY_BYTES per request, and learn nothing was checked. Fixed: a
 * request without a valid bearer (and without a session id) is answered 401
 * with the challenge before its body is read.
 */
import test from 'ava';
import { rawRequest } from '../helpers/raw-http.ts';
import { startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse({ env: { MCP_MAX_BODY_BYTES: '4096' } });
});
test.after.always(async () => gh?.close());

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A syntactically valid JSON-RPC request padded past the limit. */
const oversized = () => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { padding: 'x'.repeat(64 * 1024) } });

function assertChallenge(t: import('ava').ExecutionContext, answer: { status: number; headers: Record<string, unknown>; text: string }, what: string) {
  t.is(answer.status, 401, `${what}: ${answer.status} ${answer.text.slice(0, 160)}`);
  t.regex(String(answer.headers['www-authenticate'] ?? ''), /^Bearer .*resource_metadata="/, `${what}: the bearer challenge`);
}

test('an unauthenticated POST /mcp with a body over MCP_MAX_BODY_BYTES gets the 401 challenge, not 413', async (t) => {
  const answer = await rawRequest(gh.resource, { headers: JSON_HEADERS, body: oversized() });
  assertChallenge(t, answer, 'oversized body, no Authorization');
});

test('an unauthenticated POST /mcp with a body that is not JSON gets the 401 challenge, not a parse error', async (t) => {
  const answer = await rawRequest(gh.resource, { headers: JSON_HEADERS, body: '{this is not json' });
  assertChallenge(t, answer, 'not JSON, no Authorization');
});

test('an unauthenticated POST /mcp is answered 401 without the server waiting for the body it declared', async (t) => {
  // Declares 100 MB, sends a few bytes, and never sends the rest.
  const answer = await rawRequest(gh.resource, {
    headers: { ...JSON_HEADERS, 'content-length': '100000000' },
    body: '{"jsonrpc":"2.0",',
    end: false,
    timeoutMs: 5000,
  });
  assertChallenge(t, answer, 'declared 100 MB, sent a few bytes');
  t.true(answer.ms < 3000, `answered after ${Math.round(answer.ms)} ms`);
});

test('an unauthenticated POST /mcp that declares a body within the limit but sends only part of it is answered 401 without waiting for the rest', async (t) => {
  const answer = await rawRequest(gh.resource, {
    headers: { ...JSON_HEADERS, 'content-length': '3000' },
    body: '{"jsonrpc":"2.0",',
    end: false,
    timeoutMs: 5000,
  }).catch((error: Error) => ({ status: 0, headers: {}, text: error.message, ms: Infinity }));
  assertChallenge(t, answer, 'declared 3000 bytes, sent a few');
  t.true(answer.ms < 3000, `answered after ${Math.round(answer.ms)} ms`);
});

test('POST /mcp with an invalid bearer and a body over MCP_MAX_BODY_BYTES gets 401, not 413', async (t) => {
  const answer = await rawRequest(gh.resource, { headers: { ...JSON_HEADERS, authorization: 'Bearer not-a-real-token' }, body: oversized() });
  assertChallenge(t, answer, 'oversized body, invalid bearer');
  t.regex(String(answer.headers['www-authenticate']), /error="invalid_token"/);
});

test('POST /mcp with an invalid bearer and a declared 100 MB body is answered 401 at once', async (t) => {
  const answer = await rawRequest(gh.resource, {
    headers: { ...JSON_HEADERS, authorization: 'Bearer not-a-real-token', 'content-length': '100000000' },
    body: '{"jsonrpc":"2.0",',
    end: false,
    timeoutMs: 5000,
  });
  assertChallenge(t, answer, 'declared 100 MB, invalid bearer');
  t.true(answer.ms < 3000, `answered after ${Math.round(answer.ms)} ms`);
});
