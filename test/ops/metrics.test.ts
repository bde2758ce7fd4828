import test from 'ava';
import { connectV2, mcpPost, openSession, tokensFor, toolText } from '../helpers/mcp.ts';
import { postForm } from '../helpers/oauth.ts';
import { ALICE, startGatehouse } from '../helpers/server.ts';

function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries((match[2] ?? '').split(',').filter(Boolean).map((pair) => pair.split('=')).map(([k, v]) => [k, v!.replace(/"/g, '')]));
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[3]);
  }
  return undefined;
}

test('/metrics exposes requests, MCP calls, auth failures, tokens, sessions, rebuilds, drains and event-loop lag after traffic', async (t) => {
  const gh = await startGatehouse({ env: { MCP_SESSION_CACHE_SIZE: '1' } });
  t.teardown(() => gh.close());
  const tokens = await tokensFor(gh, ALICE);
  await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: tokens.clientId });
  const first = await openSession(gh.resource, tokens.accessToken);
  await openSession(gh.resource, tokens.accessToken); // evicts the first (cache of one)
  await mcpPost(gh.resource, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { 'mcp-session-id': first });
  await fetch(gh.resource, { method: 'DELETE', headers: { 'mcp-session-id': first } });
  await mcpPost(gh.resource, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, {});
  await mcpPost(gh.resource, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { authorization: 'Bearer nonsense' });
  const { client } = await connectV2(gh, tokens.accessToken, { negotiate: true });
  JSON.parse(toolText(await client.callTool({ name: 'whoami', arguments: {} })));
  await client.close();
  await new Promise((resolve) => setTimeout(resolve, 100));

  const response = await fetch(`${gh.url}/metrics`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /text\/plain/);
  const text = await response.text();
  t.true((series(text, 'gatehouse_http_requests_total', { route: '/mcp', method: 'POST', status: '200' }) ?? 0) >= 2);
  t.true((series(text, 'gatehouse_http_requests_total', { route: '/token', method: 'POST', status: '200' }) ?? 0) >= 2);
  t.truthy(series(text, 'gatehouse_http_request_duration_seconds_count', { route: '/mcp', method: 'POST' }));
  t.is(series(text, 'gatehouse_mcp_requests_total', { method: 'tools/call', tool: 'whoami', era: 'legacy' }), 1);
  t.is(series(text, 'gatehouse_mcp_requests_total', { method: 'tools/call', tool: 'whoami', era: 'modern' }), 1);
  t.is(series(text, 'gatehouse_mcp_requests_total', { method: 'initialize', tool: '', era: 'legacy' }), 2);
  t.true((series(text, 'gatehouse_auth_failures_total', { reason: 'bearer_missing' }) ?? 0) >= 1);
  t.true((series(text, 'gatehouse_auth_failures_total', { reason: 'bearer_invalid' }) ?? 0) >= 1);
  t.true((series(text, 'gatehouse_tokens_issued_total', { grant_type: 'authorization_code' }) ?? 0) >= 1);
  t.true((series(text, 'gatehouse_tokens_issued_total', { grant_type: 'refresh_token' }) ?? 0) >= 1);
  t.is(series(text, 'gatehouse_mcp_sessions_live'), 0, 'the one in memory was DELETEd; the other was evicted');
  t.is(series(text, 'gatehouse_mcp_sessions_stored'), 1, 'two opened, one DELETEd');
  t.is(series(text, 'gatehouse_mcp_session_rebuilds_total'), 1);
  t.true((series(text, 'gatehouse_mcp_session_evictions_total') ?? 0) >= 1);
  t.is(series(text, 'gatehouse_mcp_sessions_ended_total'), 1);
  t.is(series(text, 'gatehouse_mcp_delete_drain_seconds_count'), 1);
  t.not(series(text, 'gatehouse_nodejs_eventloop_lag_seconds'), undefined);
});

test('/metrics can be put behind a token', async (t) => {
  const gh = await startGatehouse({ env: { METRICS_TOKEN: 'metrics-secret-0123456789' } });
  t.teardown(() => gh.close());
  t.is((await fetch(`${gh.url}/metrics`)).status, 401);
  t.is((await fetch(`${gh.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
  t.is((await fetch(`${gh.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret-0123456789' } })).status, 200);
});
