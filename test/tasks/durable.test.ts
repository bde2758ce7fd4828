/**
 * Tasks outlive the instance they started on: two instances on one
 * database (the engine under test) share them, and a task whose process was
 * killed (kill -9) ends failed once its lease runs out, read by the
 * restarted instance.
 */
import test from 'ava';
import { createUser, findUserByEmail } from '../../src/domain/accounts.ts';
import { notesOf } from '../../src/domain/notes.ts';
import { openStore } from '../../src/data/engines/open.ts';
import { startBalancer } from '../helpers/balancer.ts';
import { createTestDatabase, testEngine } from '../helpers/database.ts';
import { tokensFor } from '../helpers/mcp.ts';
import { ALICE, freePort, spawnGatehouse, startGatehouse } from '../helpers/server.ts';
import { eventually, rpc, startTask, waitForStatus } from './task-rpc.ts';

const TOOLS = 'test/fixtures/task-test-tools.ts';

test('a task started through instance A is polled, answered and cancelled through instance B, and A’s tool sees the cancel', async (t) => {
  const database = await createTestDatabase(testEngine(), { migrated: testEngine() === 'postgres' });
  const balancer = await startBalancer();
  // One issuer (the balancer) for both, so a token from either works on the other.
  const env = { PUBLIC_URL: balancer.url, TOOLS_MODULES: TOOLS, LOG_LEVEL: 'warn', TASK_LEASE: '3s' };
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await startGatehouse({ database, env, port: portA });
  const b = await startGatehouse({ database, env, port: portB });
  // Their `url` is the shared issuer; each is reached directly on its own port.
  const [directA, directB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  t.teardown(async () => {
    await a.close();
    await b.close();
    await balancer.close();
    await database.drop();
  });
  balancer.targets.push(directA, directB);
  const cluster = { issuer: balancer.url, url: balancer.url, resource: `${balancer.url}/mcp` };
  const token = (await tokensFor(cluster, ALICE)).accessToken;
  // Requests go through the balancer (the issuer's host), pinned to one instance.
  const onA = cluster.resource;
  const onB = cluster.resource;

  // Input: asked on A, answered on B, and A's tool resumes.
  const asking = await startTaskOn(directA, onA, token, 'confirm_delete', { filename: 'report.pdf' });
  const waiting = await waitForStatusOn(directB, onB, token, asking, ['input_required']);
  t.truthy(waiting.inputRequests.confirm);
  const update = await rpcOn(directB, onB, token, 'tasks/update', { taskId: asking, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } });
  t.is(update.result.resultType, 'complete');
  const answered = await waitForStatusOn(directB, onB, token, asking, ['completed', 'failed', 'cancelled']);
  t.is(answered.result.content[0].text, 'Deleted report.pdf');

  // Cancel: started on A, polled and cancelled on B; A's tool sees its signal abort.
  const taskId = await startTaskOn(directA, onA, token, 'watched_job', { seconds: 120, label: 'cross-instance' });
  t.is((await rpcOn(directB, onB, token, 'tasks/get', { taskId })).result.status, 'working');
  t.is((await rpcOn(directB, onB, token, 'tasks/cancel', { taskId })).result.resultType, 'complete');
  t.is((await rpcOn(directA, onA, token, 'tasks/get', { taskId })).result.status, 'cancelled');
  const user = await findUserByEmail(a.gatehouse.store, ALICE.email);
  const started = Date.now();
  await eventually('the tool on A noted its abort', async () =>
    (await notesOf(a.gatehouse.store, user!.id).latest(20)).find((note) => note.text === `aborted cross-instance (task ${taskId})`),
  );
  t.log(`A's tool saw the cancel from B after ${Date.now() - started} ms (${testEngine()})`);

  async function startTaskOn(target: string, url: string, bearer: string, name: string, args: Record<string, unknown>) {
    balancer.pin(target);
    return (await startTask(url, bearer, name, args)).taskId;
  }
  async function rpcOn(target: string, url: string, bearer: string, method: string, params: Record<string, unknown>) {
    balancer.pin(target);
    return rpc(url, bearer, method, params);
  }
  async function waitForStatusOn(target: string, url: string, bearer: string, id: string, statuses: string[]) {
    balancer.pin(target);
    return waitForStatus(url, bearer, id, statuses);
  }
});

test('kill -9 during a task, then a restart: the task reads as failed within the lease, never working forever', async (t) => {
  const database = await createTestDatabase(testEngine(), { migrated: testEngine() === 'postgres' });
  const port = await freePort();
  const env = { TOOLS_MODULES: TOOLS, LOG_LEVEL: 'warn', TASK_LEASE: '2s' };
  let instance = await spawnGatehouse({ port, database, env });
  t.teardown(async () => {
    await instance.stop('SIGKILL');
    await database.drop();
  });
  const store = openStore(database.url, { poolSize: 2 });
  await createUser(store, ALICE).catch(() => {});
  await store.close();
  const gh = { issuer: instance.url, url: instance.url, resource: `${instance.url}/mcp` };
  const token = (await tokensFor(gh, ALICE)).accessToken;
  const { taskId } = await startTask(gh.resource, token, 'watched_job', { seconds: 600, label: 'doomed' });
  t.is((await rpc(gh.resource, token, 'tasks/get', { taskId })).result.status, 'working');

  await instance.stop('SIGKILL');
  instance = await spawnGatehouse({ port, database, env });
  const restarted = Date.now();
  const failed = await waitForStatus(gh.resource, token, taskId, ['failed', 'completed', 'cancelled'], 10_000);
  t.is(failed.status, 'failed');
  t.is(failed.error.code, -32603);
  t.regex(failed.error.message, /stopped before it finished/);
  t.is(failed.result, undefined);
  t.log(`read as failed ${Date.now() - restarted} ms after the restart (${testEngine()})`);
});
