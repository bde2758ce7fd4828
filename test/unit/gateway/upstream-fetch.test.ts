import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { UpstreamFetch } from '../../../src/gateway/upstream-fetch.ts';

/**
 * A real HTTP server on loopback (`handle` answers each request) and an
 * UpstreamFetch to call it with, both ended when the test ends.
 */
async function serve(t: ExecutionContext, handle: (request: IncomingMessage, response: ServerResponse, body: string) => void) {
  let connections = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => handle(request, response, body));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const upstream = new UpstreamFetch();
  t.teardown(() => {
    upstream.close();
    return stop(server);
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp?x=1`, server, upstream, connections: () => connections };
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

test('a POST goes out with the request headers, the extra header over them and the body; the JSON answer reads back; sockets are kept alive', async (t) => {
  const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const { url, upstream, connections } = await serve(t, (request, response, body) => {
    seen.push({ method: request.method, url: request.url, headers: request.headers, body });
    response.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'abc' }).end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { echoed: body.length } }));
  });
  const headers = new Headers({ 'content-type': 'application/json', Authorization: 'Bearer configured', 'x-configured': 'yes' });
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { text: 'héllo' } });
  for (let i = 0; i < 3; i++) {
    const response = await upstream.fetch(new URL(url), { method: 'POST', headers, body }, { authorization: 'Bearer identity' });
    t.true(response.ok);
    t.is(response.status, 200);
    t.is(response.headers.get('content-type'), 'application/json');
    t.is(response.headers.get('mcp-session-id'), 'abc');
    t.deepEqual(await response.json(), { jsonrpc: '2.0', id: 1, result: { echoed: body.length } });
  }
  t.is(seen.length, 3);
  t.is(seen[0]!.method, 'POST');
  t.is(seen[0]!.url, '/mcp?x=1');
  t.is(seen[0]!.headers.authorization, 'Bearer identity');
  t.is(seen[0]!.headers['x-configured'], 'yes');
  t.is(seen[0]!.headers['content-length'], String(Buffer.byteLength(body)));
  t.is(seen[0]!.body, body);
  t.is(connections(), 1);
});

test('an error answer is not ok and its text reads back; a body is read once', async (t) => {
  const { url, upstream } = await serve(t, (_request, response) => void response.writeHead(404, { 'content-type': 'text/plain' }).end('no such session'));
  const response = await upstream.fetch(url, { method: 'GET' });
  t.false(response.ok);
  t.is(response.status, 404);
  t.is(await response.text(), 'no such session');
  await t.throwsAsync(response.text(), { instanceOf: TypeError });
});

test('an event stream is handed over as it arrives, and aborting the signal ends it', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let closedByClient!: () => void;
  const clientWentAway = new Promise<void>((resolve) => (closedByClient = resolve));
  const { url, upstream } = await serve(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('event: message\ndata: {"first":true}\n\n');
    void released.then(() => response.write('event: message\ndata: {"second":true}\n\n'));
    response.on('close', closedByClient);
  });
  const controller = new AbortController();
  const response = await upstream.fetch(url, { method: 'GET', headers: { accept: 'text/event-stream' }, signal: controller.signal });
  t.is(response.headers.get('content-type'), 'text/event-stream');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  // The first event arrives while the server still holds the second back.
  t.regex((await reader.read()).value!, /"first":true/);
  release();
  t.regex((await reader.read()).value!, /"second":true/);
  controller.abort(new Error('session closed'));
  await t.throwsAsync(reader.read(), { message: 'session closed' });
  await clientWentAway;
});

test('an aborted request fails with the signal reason, before or while it waits for its answer', async (t) => {
  let arrived!: () => void;
  const waiting = new Promise<void>((resolve) => (arrived = resolve));
  const { url, upstream } = await serve(t, () => arrived()); // never answers
  const early = new AbortController();
  early.abort(new Error('too late'));
  await t.throwsAsync(upstream.fetch(url, { method: 'POST', body: '{}', signal: early.signal }), { message: 'too late' });
  const controller = new AbortController();
  const pending = upstream.fetch(url, { method: 'POST', body: '{}', signal: controller.signal });
  await waiting;
  controller.abort(new Error('cancelled by the caller'));
  await t.throwsAsync(pending, { message: 'cancelled by the caller' });
});

test('nothing listening, or a connection dropped mid-answer, fails as fetch does (TypeError)', async (t) => {
  const { url: deadUrl, server: dead } = await serve(t, () => {});
  await stop(dead);
  const { url, upstream } = await serve(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    response.write('{"jsonrpc":');
    setTimeout(() => response.socket?.destroy(), 20);
  });
  const refused = await t.throwsAsync(upstream.fetch(deadUrl, { method: 'POST', body: '{}' }), { instanceOf: TypeError, message: 'fetch failed' });
  t.is((refused?.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  await t.throwsAsync(upstream.fetch(url, { method: 'POST', body: '{}' }), { instanceOf: TypeError, message: 'fetch failed' });
});
