/**
 * Durable tasks (the io.modelcontextprotocol/tasks extension) on one
 * Gatehouse, on the engine under test: lifecycle, ownership, cancellation
 * reaching the tool's signal, input through tasks/update, the running limit,
 * revocation, and retention.
 */
import test from 'ava';
import { findUserByEmail } from '../../src/domain/accounts.ts';
import { notesOf } from '../../src/domain/notes.ts';
import { findTask } from '../../src/data/tasks.ts';
import { mcpPost, openSession, parseSse, tokensFor } from '../helpers/mcp.ts';
import { ALICE, BOB, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { eventually, rpc, startTask, TASKS, waitForStatus } from './task-rpc.ts';

const TOOLS = 'test/fixtures/task-test-tools.ts';
let gh: RunningGatehouse;
let alice: string;
test.before(async () => {
  gh = await startGatehouse({ env: { TOOLS_MODULES: TOOLS, MAX_RUNNING_TASKS_PER_PERSON: '3', LOG_LEVEL: 'warn' } });
  alice = (await tokensFor(gh, ALICE, { clientName: 'Task client' })).accessToken;
});
test.after.always(async () => gh?.close());

const mcp = () => gh.resource;
const aliceNotes = async () => {
  const user = await findUserByEmail(gh.gatehouse.store, ALICE.email);
  return (await notesOf(gh.gatehouse.store, user!.id).latest(50)).map((note) => note.text);
};
const noteSaying = (text: string) => eventually(`a note "${text}"`, async () => (await aliceNotes()).find((note) => note.includes(text)));

test.serial('a task tool answers with a task handle; tasks/get right away works, then inlines the result', async (t) => {
  const created = await startTask(mcp(), alice, 'slow_compute', { seconds: 1, label: 'report' });
  t.is(created.status, 'working');
  t.true(created.taskId.length >= 32, 'the id is unguessable');
  t.true(Number.isInteger(created.ttlMs) && created.ttlMs > 0);
  t.true(Number.isInteger(created.pollIntervalMs) && created.pollIntervalMs > 0);
  const first = await rpc(mcp(), alice, 'tasks/get', { taskId: created.taskId });
  t.is(first.result.taskId, created.taskId);
  const done = await waitForStatus(mcp(), alice, created.taskId, ['completed', 'failed', 'cancelled']);
  t.is(done.status, 'completed');
  t.is(done.result.content[0].text, 'Computed report after 1s');
  t.is(done.resultType, 'complete');
});

test.serial('without the extension an optional task tool answers in the request, and a required one gets -32021', async (t) => {
  const sync = await rpc(mcp(), alice, 'tools/call', { name: 'slow_compute', arguments: { seconds: 0 } }, { optIn: false });
  t.is(sync.result.content[0].text, 'Computed result after 0s');
  t.is(sync.result.taskId, undefined);
  const required = await rpc(mcp(), alice, 'tools/call', { name: 'failing_job', arguments: {} }, { optIn: false });
  t.is(required.error?.code, -32021);
  t.deepEqual(required.error?.data?.requiredCapabilities, { extensions: { [TASKS]: {} } });
  const get = await rpc(mcp(), alice, 'tasks/get', { taskId: 'whatever' }, { optIn: false });
  t.is(get.error?.code, -32021);
});

test.serial("another person's or another client's task id gets the same error as an unknown one", async (t) => {
  const { taskId } = await startTask(mcp(), alice, 'watched_job', { seconds: 60, label: 'private' });
  const bob = (await tokensFor(gh, BOB)).accessToken;
  const otherApp = (await tokensFor(gh, ALICE, { clientName: 'Another app of alice' })).accessToken;
  const unknown = await rpc(mcp(), alice, 'tasks/get', { taskId: 'no-such-task-id-at-all-here-0000000' });
  t.is(unknown.error?.code, -32602);
  for (const [who, token] of [['bob', bob], ['another client', otherApp]] as const) {
    for (const method of ['tasks/get', 'tasks/cancel', 'tasks/update']) {
      const answer = await rpc(mcp(), token, method, { taskId, inputResponses: {} });
      t.deepEqual(answer.error, unknown.error, `${who}: ${method}`);
    }
  }
  t.is((await rpc(mcp(), alice, 'tasks/get', { taskId })).result.status, 'working', 'nobody else could cancel it');
  await rpc(mcp(), alice, 'tasks/cancel', { taskId });
});

test.serial("tasks/cancel aborts the tool's signal; the task reads as cancelled, and cancelling again is the same ack", async (t) => {
  const { taskId } = await startTask(mcp(), alice, 'watched_job', { seconds: 60, label: 'cancel-me' });
  const ack = await rpc(mcp(), alice, 'tasks/cancel', { taskId });
  t.is(ack.result.resultType, 'complete');
  t.false('status' in ack.result, 'an acknowledgement, not the task');
  t.is((await rpc(mcp(), alice, 'tasks/get', { taskId })).result.status, 'cancelled');
  t.true((await noteSaying(`aborted cancel-me (task ${taskId})`)).length > 0, 'the tool saw its signal abort');
  t.is((await rpc(mcp(), alice, 'tasks/cancel', { taskId })).result.resultType, 'complete');
});

test.serial('input_required round trip: the task asks, tasks/update answers (partly, then fully), the task completes', async (t) => {
  const { taskId } = await startTask(mcp(), alice, 'multi_input');
  const waiting = await waitForStatus(mcp(), alice, taskId, ['input_required']);
  t.deepEqual(Object.keys(waiting.inputRequests).sort(), ['first', 'second']);
  t.is(waiting.inputRequests.first.method, 'elicitation/create');
  const accept = { action: 'accept', content: { confirm: true } };
  t.is((await rpc(mcp(), alice, 'tasks/update', { taskId, inputResponses: { first: accept } })).result.resultType, 'complete');
  const partly = await rpc(mcp(), alice, 'tasks/get', { taskId });
  t.is(partly.result.status, 'input_required');
  t.deepEqual(Object.keys(partly.result.inputRequests), ['second']);
  await rpc(mcp(), alice, 'tasks/update', { taskId, inputResponses: { second: accept } });
  const done = await waitForStatus(mcp(), alice, taskId, ['completed', 'failed', 'cancelled']);
  t.is(done.result.content[0].text, 'Answers: first, second');
});

test.serial('a person runs at most MAX_RUNNING_TASKS_PER_PERSON tasks at once', async (t) => {
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await startTask(mcp(), alice, 'watched_job', { seconds: 60, label: `limit-${i}` })).taskId);
  const fourth = await rpc(mcp(), alice, 'tools/call', { name: 'watched_job', arguments: { seconds: 60, label: 'limit-3' } });
  t.regex(fourth.error?.message ?? '', /Too many running tasks: at most 3/);
  for (const taskId of ids) await rpc(mcp(), alice, 'tasks/cancel', { taskId });
  t.is((await startTask(mcp(), alice, 'slow_compute', { seconds: 0 })).status, 'working', 'room again once they ended');
});

test.serial("revoking the client cancels its running tasks and aborts the tool's signal", async (t) => {
  const tokens = await tokensFor(gh, ALICE, { clientName: 'Soon revoked' });
  const { taskId } = await startTask(mcp(), tokens.accessToken, 'watched_job', { seconds: 60, label: 'revoked' });
  await gh.gatehouse.access.revokeClient(tokens.clientId, { actor: 'test' });
  await noteSaying(`aborted revoked (task ${taskId})`);
  const row = await findTask(gh.gatehouse.store, taskId);
  t.is(row?.status, 'cancelled');
  t.regex(row?.status_message ?? '', /access was revoked/);
});

test.serial('a tool that fails with a protocol error ends failed with the error inlined; a tool error ends completed with isError', async (t) => {
  const failed = await waitForStatus(mcp(), alice, (await startTask(mcp(), alice, 'protocol_error_job')).taskId, ['completed', 'failed', 'cancelled']);
  t.is(failed.status, 'failed');
  t.is(failed.error.code, -32603);
  t.is(failed.result, undefined);
  const toolError = await waitForStatus(mcp(), alice, (await startTask(mcp(), alice, 'failing_job')).taskId, ['completed', 'failed', 'cancelled']);
  t.is(toolError.status, 'completed');
  t.true(toolError.result.isError);
});

test.serial('a legacy session that declared the extension at initialize gets tasks, and status notifications on its stream', async (t) => {
  const sessionId = await openSession(mcp(), alice, '2025-11-25', { extensions: { [TASKS]: {} } });
  const headers = { authorization: `Bearer ${alice}`, 'mcp-session-id': sessionId };
  const stream = new AbortController();
  t.teardown(() => stream.abort());
  const events = await fetch(mcp(), { headers: { ...headers, accept: 'text/event-stream' }, signal: stream.signal });
  t.is(events.status, 200);
  const call = await mcpPost(mcp(), { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow_compute', arguments: { seconds: 1 } } }, headers);
  const created = call.messages[0].result;
  t.is(created.resultType, 'task');
  const done = await waitForStatus(mcp(), alice, created.taskId, ['completed']);
  t.is(done.result.content[0].text, 'Computed result after 1s');

  // The session's stream carried the change, without polling.
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  let seen = '';
  while (!seen.includes('"status":"completed"')) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    seen += value;
  }
  const notification = parseSse(seen).find((message) => message.method === 'notifications/tasks' && message.params.status === 'completed');
  t.deepEqual(notification?.params, { taskId: created.taskId, status: 'completed' });
});

test.serial("disabling a person cancels their running tasks", async (t) => {
  const bob = (await tokensFor(gh, BOB, { clientName: 'Bob before he left' })).accessToken;
  const { taskId } = await startTask(mcp(), bob, 'slow_compute', { seconds: 60, label: 'left behind' });
  const bobId = (await findUserByEmail(gh.gatehouse.store, BOB.email))!.id;
  await gh.gatehouse.access.disablePerson(bobId, { actor: 'an administrator' });
  const row = await eventually('the task cancelled', async () => {
    const found = await findTask(gh.gatehouse.store, taskId);
    return found?.status === 'cancelled' ? found : undefined;
  });
  // Disabling takes the person's grants first, so either reason may be the one recorded.
  t.regex(row.status_message ?? '', /account was disabled|access was revoked/);
});

test('finished tasks are kept for TASK_RESULT_TTL, then unreadable, and the sweep removes them', async (t) => {
  const short = await startGatehouse({ env: { TOOLS_MODULES: TOOLS, TASK_RESULT_TTL: '1s', LOG_LEVEL: 'warn' } });
  t.teardown(() => short.close());
  const token = (await tokensFor(short, ALICE)).accessToken;
  const { taskId, ttlMs } = await startTask(short.resource, token, 'slow_compute', { seconds: 0 });
  t.is(ttlMs, 1000);
  await waitForStatus(short.resource, token, taskId, ['completed']);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  t.is((await rpc(short.resource, token, 'tasks/get', { taskId })).error?.code, -32602, 'expired reads as unknown');
  t.truthy(await findTask(short.gatehouse.store, taskId), 'still stored until the sweep');
  t.true((await short.gatehouse.tasks.sweep()) >= 1);
  t.is(await findTask(short.gatehouse.store, taskId), undefined);
});
