/**
 * Finding 4: names a client chooses (JSON-RPC method names, tool names) became
 * Prometheus label values, so any client can grow the metrics without bound
 * and write what it likes into them; and /metrics answered anyone who could
 * reach the service through its proxy.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { mcpPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { ALICE, startGatehouse } from '../helpers/server.ts';

test('made-up JSON-RPC method names and tool names never appear in /metrics', async (t) => {
  const gh = await startGatehouse();
  t.teardown(() => gh.close());
  const { accessToken } = await tokensFor(gh, ALICE);
  const auth = { authorization: `Bearer ${accessToken}` };
  const sessionId = await openSession(gh.resource, accessToken);
  const marker = `zq${randomBytes(4).toString('hex')}`;
  const invented: string[] = [];
  for (let i = 0; i < 30; i++) {
    const method = `${marker}_method_${i}`;
    invented.push(method);
    const answer = await mcpPost(gh.resource, { jsonrpc: '2.0', id: i, method, params: {} }, { ...auth, 'mcp-session-id': sessionId });
    t.true(answer.status < 500, `${method}: ${answer.status}`);
  }
  for (let i = 0; i < 30; i++) {
    const tool = `${marker}_tool_${i}`;
    invented.push(tool);
    const answer = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 100 + i, method: 'tools/call', params: { name: tool, arguments: {} } }, { ...auth, 'mcp-session-id': sessionId });
    t.true(answer.status < 500, `${tool}: ${answer.status}`);
  }
  // The same from stateless 2026-07-28 requests.
  for (let i = 0; i < 5; i++) {
    const tool = `${marker}_modern_tool_${i}`;
    invented.push(tool);
    const answer = await mcpPost(
      gh.resource,
      { jsonrpc: '2.0', id: 200 + i, method: 'tools/call', params: { name: tool, arguments: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } },
      { ...auth, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': tool },
    );
    t.true(answer.status < 500, `${tool}: ${answer.status}`);
  }

  const response = await fetch(`${gh.url}/metrics`);
  t.is(response.status, 200);
  const text = await response.text();
  t.regex(text, /gatehouse_mcp_requests_total\{/, 'MCP requests are still counted');
  const leaked = invented.filter((name) => text.includes(name));
  t.is(leaked.length, 0, `${leaked.length} of ${invented.length} client-chosen names became label values, e.g. ${leaked.slice(0, 3).join(', ')}`);
  t.false(text.includes(marker), 'nothing the client made up is in the metrics');
});

test('/metrics is not served to a request that came through the proxy; a direct loopback scrape still works', async (t) => {
  const gh = await startGatehouse({ env: { TRUST_PROXY: 'on' } });
  t.teardown(() => gh.close());
  const proxied = await fetch(`${gh.url}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' } });
  const body = await proxied.text();
  t.true(proxied.status === 403 || proxied.status === 404, `a request from 203.0.113.7 through the proxy got ${proxied.status}`);
  t.false(body.includes('gatehouse_http_requests_total'), 'no metrics in the answer');

  const direct = await fetch(`${gh.url}/metrics`);
  t.is(direct.status, 200, 'Prometheus scraping the instance directly');
  t.regex(await direct.text(), /gatehouse_http_requests_total/);
});

test('with METRICS_TOKEN, /metrics needs the token (401 without, 200 with)', async (t) => {
  const gh = await startGatehouse({ env: { METRICS_TOKEN: 'metrics-secret-0123456789' } });
  t.teardown(() => gh.close());
  t.is((await fetch(`${gh.url}/metrics`)).status, 401);
  t.is((await fetch(`${gh.url}/metrics`, { headers: { authorization: 'Bearer not-the-metrics-token' } })).status, 401);
  const allowed = await fetch(`${gh.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-0123456789' } });
  t.is(allowed.status, 200);
  t.regex(await allowed.text(), /gatehouse_http_requests_total/);
});
