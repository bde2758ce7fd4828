import test from 'ava';
import { connectV1, connectV2, mcpPost, openSession, tokensFor, toolText } from '../helpers/mcp.ts';
import { scrape, series } from '../helpers/metrics.ts';
import { ALICE, BOB, freePort, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { everythingOverStdio, memoryOverStdio, tempDir, upstreamsFile } from './upstreams.ts';

let gh: RunningGatehouse;
let unreachable: string;
test.before(async () => {
  unreachable = `http://127.0.0.1:${await freePort()}/mcp`;
  gh = await startGatehouse({
    env: {
      UPSTREAMS: upstreamsFile({
        everything: everythingOverStdio(),
        crashing: everythingOverStdio(),
        slow: everythingOverStdio({ timeoutMs: 2500 }),
        memory: memoryOverStdio(tempDir()),
        down: { url: unreachable, timeoutMs: 3000 },
      }),
    },
  });
});
test.after.always(async () => gh?.close());

const at = (name: string) => ({ ...gh, resource: `${gh.resource}/${name}` });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a stdio upstream starts on first use, and comes back after its process is killed, in the same Gatehouse session', async (t) => {
  const tokens = await tokensFor(at('crashing'), ALICE);
  const { client } = await connectV1(at('crashing'), tokens.accessToken);
  t.teardown(() => client.close());
  const pool = gh.gatehouse.gateway.pool;
  const before = new Set(await pool.pids('crashing'));
  t.is(toolText(await client.callTool({ name: 'echo', arguments: { message: 'one' } })), 'Echo: one');
  const [pid] = (await pool.pids('crashing')).filter((candidate) => !before.has(candidate));
  t.truthy(pid, 'the first call started a process for this session');

  process.kill(pid!, 'SIGKILL');
  await until(async () => !(await pool.pids('crashing')).includes(pid!) || undefined, 'the gateway to notice the crash');
  t.is(pool.health('crashing').state, 'down');
  t.is(toolText(await client.callTool({ name: 'echo', arguments: { message: 'two' } })), 'Echo: two', 'the next call started it again');
  const [restarted] = (await pool.pids('crashing')).filter((candidate) => !before.has(candidate));
  t.truthy(restarted);
  t.not(restarted, pid);
  t.is(pool.health('crashing').state, 'up');
});

test('an unreachable HTTP upstream gives a clean JSON-RPC error and a metric, never a hang or a 500', async (t) => {
  const tokens = await tokensFor(at('down'), ALICE);
  const sessionId = await openSession(at('down').resource, tokens.accessToken);
  const started = Date.now();
  const answer = await mcpPost(at('down').resource, { jsonrpc: '2.0', id: 7, method: 'tools/list' }, { authorization: `Bearer ${tokens.accessToken}`, 'mcp-session-id': sessionId });
  t.true(Date.now() - started < 3000, 'answered well within the call timeout');
  t.is(answer.status, 200);
  const [message] = answer.messages;
  t.is(message.id, 7);
  t.is(message.error.code, -32000);
  t.is(message.error.message, 'upstream "down" is unavailable; try again later');
  t.false(answer.text.includes(unreachable), 'the upstream address stays inside');

  const { client } = await connectV2(at('down'), tokens.accessToken);
  t.teardown(() => client.close());
  await t.throwsAsync(client.callTool({ name: 'anything', arguments: {} }), { message: /unavailable/ });
  const metrics = await scrape(gh.url);
  t.true((series(metrics, 'gatehouse_upstream_calls_total', { upstream: 'down', outcome: 'unavailable' }) ?? 0) >= 2);
  t.is(gh.gatehouse.gateway.pool.health('down').state, 'down');
});

test('a call that takes longer than the upstream timeout ends with a clean error', async (t) => {
  const tokens = await tokensFor(at('slow'), ALICE);
  const { client } = await connectV2(at('slow'), tokens.accessToken);
  t.teardown(() => client.close());
  await t.throwsAsync(client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 8, steps: 4 } }), { message: /did not answer in time/ });
  t.is(toolText(await client.callTool({ name: 'echo', arguments: { message: 'still here' } })), 'Echo: still here');
});

test('a call the client cancels ends at once, its upstream request is abandoned (the SDK tells the upstream), and it is counted as cancelled', async (t) => {
  const tokens = await tokensFor(at('everything'), ALICE);
  const { client } = await connectV2(at('everything'), tokens.accessToken);
  t.teardown(() => client.close());
  const controller = new AbortController();
  const call = client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 5 } }, { signal: controller.signal });
  const started = Date.now();
  setTimeout(() => controller.abort(), 300);
  await t.throwsAsync(call);
  t.true(Date.now() - started < 3000, 'not after the 5 s operation');
  const cancelled = async () => series(await scrape(gh.url), 'gatehouse_upstream_calls_total', { upstream: 'everything', outcome: 'cancelled' });
  t.true((await until(cancelled, 'the cancelled call to be counted')) >= 1);
});

test('two people\'s upstream sessions stay apart: what Alice stores in server-memory, Bob never sees', async (t) => {
  const [alice, bob] = await Promise.all([tokensFor(at('memory'), ALICE), tokensFor(at('memory'), BOB)]);
  const { client: hers } = await connectV2(at('memory'), alice.accessToken);
  const { client: his } = await connectV1(at('memory'), bob.accessToken);
  t.teardown(() => Promise.all([hers.close(), his.close()]));
  await hers.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'alice-secret', entityType: 'note', observations: ['only for Alice'] }] } });
  await his.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'bob-thing', entityType: 'note', observations: ['Bob'] }] } });
  const herGraph = toolText(await hers.callTool({ name: 'read_graph', arguments: {} }));
  const hisGraph = toolText(await his.callTool({ name: 'read_graph', arguments: {} }));
  t.true(herGraph.includes('alice-secret'));
  t.false(herGraph.includes('bob-thing'));
  t.true(hisGraph.includes('bob-thing'));
  t.false(hisGraph.includes('alice-secret'));
});

test('DELETE ends the upstream session and its child process; so does shutting Gatehouse down', async (t) => {
  const own = await startGatehouse({ env: { UPSTREAMS: upstreamsFile({ everything: everythingOverStdio() }) } });
  let closed = false;
  t.teardown(() => (closed ? undefined : own.close()));
  const where = { ...own, resource: `${own.resource}/everything` };
  const tokens = await tokensFor(where, ALICE);
  const pool = own.gatehouse.gateway.pool;

  const { client, transport } = await connectV1(where, tokens.accessToken);
  await client.callTool({ name: 'echo', arguments: { message: 'x' } });
  const [pid] = await pool.pids('everything');
  t.true(alive(pid!));
  await transport.terminateSession();
  await until(() => !alive(pid!) || undefined, 'the child to exit after DELETE');
  t.deepEqual(await pool.pids('everything'), []);
  await client.close();

  const { client: second } = await connectV2(where, tokens.accessToken);
  await second.callTool({ name: 'echo', arguments: { message: 'y' } });
  const [other] = await pool.pids('everything');
  t.true(alive(other!));
  await own.close();
  closed = true;
  await until(() => !alive(other!) || undefined, 'the child to exit at shutdown');
  t.pass();
});
