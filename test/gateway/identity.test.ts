import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import test from 'ava';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { toolText } from '../helpers/mcp.ts';
import { signedInClient, upstreamsFile } from './upstreams.ts';

/**
 * A small real HTTP MCP server (the SDK's, stateless) that records every
 * request's headers and answers `whoami` with the identity JWT it received,
 * verified the way the README tells an upstream to: against Gatehouse's /jwks.
 */
async function startRecordingUpstream(jwksUrl: () => string, issuer: () => string) {
  const headers: Record<string, string | string[] | undefined>[] = [];
  let url = '';
  const server: Server = createServer(async (req, res) => {
    headers.push({ ...req.headers });
    const mcp = new McpServer({ name: 'recorder', version: '1.0.0' });
    mcp.registerTool('whoami', { description: 'the verified caller' }, async () => {
      const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(jwksUrl())), {
        issuer: issuer(),
        audience: url,
        typ: 'gatehouse-identity+jwt',
        algorithms: ['ES256'],
      });
      return { content: [{ type: 'text', text: JSON.stringify({ payload, protectedHeader }) }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close());
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  url = `http://127.0.0.1:${address.port}/mcp`;
  return { url, headers, close: () => new Promise<void>((done) => server.close(() => done())) };
}

let gh: RunningGatehouse;
let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
test.before(async () => {
  upstream = await startRecordingUpstream(() => `${gh.url}/jwks`, () => gh.issuer);
  const stdio = { command: process.execPath, args: [resolve('test/gateway/fixtures/identity-stdio-server.mjs')] };
  gh = await startGatehouse({ env: { UPSTREAMS: upstreamsFile({ recorder: { url: upstream.url }, 'recorder-stdio': stdio }) } });
});
test.after.always(async () => {
  await gh?.close();
  await upstream?.close();
});

test('an HTTP upstream never sees the client token: it gets a short-lived JWT for its own audience, verifiable at /jwks', async (t) => {
  const { client, provider } = await signedInClient('v2', `${gh.resource}/recorder`, ALICE);
  t.teardown(() => client.close());
  const clientToken = provider.accessToken!;
  const verified = JSON.parse(toolText(await client.callTool({ name: 'whoami', arguments: {} })));
  t.is(verified.protectedHeader.typ, 'gatehouse-identity+jwt');
  t.is(verified.payload.iss, gh.issuer);
  t.is(verified.payload.aud, upstream.url);
  t.is(verified.payload.email, ALICE.email);
  t.is(verified.payload.client_id, provider.clientId);
  t.is(verified.payload.scope, 'mcp:tools', 'what the challenge of this upstream asked for, and the person allowed');
  t.true(verified.payload.exp - verified.payload.iat <= 300, 'short-lived');

  t.true(upstream.headers.length > 0);
  for (const seen of upstream.headers) {
    t.notRegex(JSON.stringify(seen), new RegExp(clientToken.slice(-40).replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')), 'the client token appears in no header the upstream received');
    t.regex(String(seen.authorization), /^Bearer ey/);
  }
  // The identity JWT is no access token: Gatehouse itself refuses it, at the upstream's resource and at /mcp.
  const identity = String(upstream.headers.at(-1)!.authorization).replace(/^Bearer /, '');
  for (const at of [`${gh.resource}/recorder`, gh.resource]) {
    const replayed = await fetch(at, { method: 'POST', headers: { Authorization: `Bearer ${identity}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    t.is(replayed.status, 401, at);
  }
});

test('a stdio upstream gets the same identity in each request\'s _meta, and never the client token', async (t) => {
  const { client, provider } = await signedInClient('v1', `${gh.resource}/recorder-stdio`, ALICE);
  t.teardown(() => client.close());
  const seen = JSON.parse(toolText(await client.callTool({ name: 'whoami', arguments: {} })));
  const identity = seen.meta['gatehouse/identity'];
  t.is(identity.email, ALICE.email);
  t.is(identity.client_id, provider.clientId);
  const { payload } = await jwtVerify(identity.token, createRemoteJWKSet(new URL(`${gh.url}/jwks`)), {
    issuer: gh.issuer,
    audience: `${gh.resource}/recorder-stdio`,
    typ: 'gatehouse-identity+jwt',
  });
  t.is(payload.sub, identity.sub);
  t.false(JSON.stringify(seen).includes(provider.accessToken!), 'neither _meta nor the environment holds the client token');
});
