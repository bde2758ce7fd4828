/**
 * An upstream's own tasks pass through the gateway: server-everything's
 * task-based tool (the 2025-11-25 task surface) called at /mcp/everything,
 * polled and its result fetched through Gatehouse; another person's session
 * cannot reach it.
 */
import test from 'ava';
import { mcpPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { ALICE, BOB, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { everythingOverStdio, upstreamsFile } from '../gateway/upstreams.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse({ env: { UPSTREAMS: upstreamsFile({ everything: everythingOverStdio() }), LOG_LEVEL: 'warn' } });
});
test.after.always(async () => gh?.close());

async function session(person: typeof ALICE) {
  const url = `${gh.resource}/everything`;
  const { accessToken } = await tokensFor({ ...gh, resource: url }, person);
  const sessionId = await openSession(url, accessToken, '2025-11-25', { tasks: {} });
  let id = 10;
  return async (method: string, params: Record<string, unknown>) => {
    const answer = await mcpPost(url, { jsonrpc: '2.0', id: id++, method, params }, { authorization: `Bearer ${accessToken}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    return answer.messages.find((message) => 'result' in message || 'error' in message);
  };
}

test("server-everything's task-based tool runs as a task through the gateway: created, polled, its result fetched; others cannot see it", async (t) => {
  const alice = await session(ALICE);
  const created = await alice('tools/call', { name: 'simulate-research-query', arguments: { topic: 'durable tasks' }, task: { ttl: 60_000 } });
  const taskId = created.result?.task?.taskId;
  t.truthy(taskId, JSON.stringify(created));
  const deadline = Date.now() + 30_000;
  let status = '';
  while (Date.now() < deadline) {
    status = (await alice('tasks/get', { taskId })).result.status;
    if (status !== 'working') break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  t.is(status, 'completed');
  const result = await alice('tasks/result', { taskId });
  t.regex(result.result.content[0].text, /durable tasks/);

  const bob = await session(BOB);
  const theirs = await bob('tasks/get', { taskId });
  t.truthy(theirs.error, 'another person’s upstream session does not have it');
});
