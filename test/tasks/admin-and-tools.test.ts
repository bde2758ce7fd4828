/**
 * Running tasks on the admin page (who started them; cancel one, CSRF like
 * every form there), and tools defined with a hand-written JSON Schema
 * 2020-12 input schema, including the `x-mcp-header` request headers.
 */
import test from 'ava';
import { findUserByEmail } from '../../src/domain/accounts.ts';
import { notesOf } from '../../src/domain/notes.ts';
import { findTask } from '../../src/data/tasks.ts';
import { signedInAdmin } from '../helpers/admin-pages.ts';
import { modernPost, tokensFor } from '../helpers/mcp.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { eventually, rpc, startTask } from './task-rpc.ts';

let gh: RunningGatehouse;
let alice: string;
test.before(async () => {
  gh = await startGatehouse({ env: { TOOLS_MODULES: 'test/fixtures/task-test-tools.ts', LOG_LEVEL: 'warn' } });
  alice = (await tokensFor(gh, ALICE, { clientName: 'Report app' })).accessToken;
});
test.after.always(async () => gh?.close());

test('the sessions page shows a running task and who started it; an administrator cancels it and the tool stops', async (t) => {
  const { taskId } = await startTask(gh.resource, alice, 'watched_job', { seconds: 120, label: 'admin-cancel' });
  const admin = await signedInAdmin(gh.url);
  const page = await admin.page('/admin/sessions');
  t.is(page.status, 200);
  t.true(page.html.includes('Running tasks'));
  t.true(page.html.includes(ALICE.email), 'who started it');
  t.true(page.html.includes('<code>watched_job</code>'));
  t.true(page.html.includes(`/admin/tasks/${encodeURIComponent(taskId)}/cancel`));

  t.is((await admin.post(`/admin/tasks/${encodeURIComponent(taskId)}/cancel`, { return_to: '/admin/sessions' }, { csrf: null })).status, 403, 'no CSRF token, no cancel');
  t.is((await findTask(gh.gatehouse.store, taskId))?.status, 'working');

  const after = await admin.act(`/admin/tasks/${encodeURIComponent(taskId)}/cancel`, { return_to: '/admin/sessions' });
  t.true(after.html.includes('Cancelled the task'));
  t.false(after.html.includes(`/admin/tasks/${encodeURIComponent(taskId)}/cancel`), 'no longer listed');
  const polled = await rpc(gh.resource, alice, 'tasks/get', { taskId });
  t.is(polled.result.status, 'cancelled');
  t.regex(polled.result.statusMessage, /Cancelled by an administrator/);
  const user = await findUserByEmail(gh.gatehouse.store, ALICE.email);
  await eventually('the tool noted its abort', async () => (await notesOf(gh.gatehouse.store, user!.id).latest(20)).find((note) => note.text.startsWith('aborted admin-cancel')));
  t.is((await admin.post(`/admin/tasks/${encodeURIComponent(taskId)}/cancel`, { return_to: '/admin/sessions' })).status, 404, 'an ended task cannot be cancelled again');
});

test('a JSON Schema 2020-12 tool is listed exactly as written and its arguments are validated against it', async (t) => {
  const list = await rpc(gh.resource, alice, 'tools/list', {});
  const tool = list.result.tools.find((entry: { name: string }) => entry.name === 'json_schema_2020_12_tool');
  t.is(tool.inputSchema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  t.is(tool.inputSchema.$defs.address.$anchor, 'addressDef');
  t.deepEqual(tool.inputSchema.then, { required: ['phone'] });
  t.false(tool.inputSchema.additionalProperties);

  const call = (args: Record<string, unknown>) => rpc(gh.resource, alice, 'tools/call', { name: 'json_schema_2020_12_tool', arguments: args });
  const ok = await call({ name: 'Ada', contactMethod: 'phone', phone: '+44 1' });
  t.falsy(ok.result.isError);
  for (const [args, why] of [
    [{ name: 'Ada', contactMethod: 'phone', email: 'ada@example.test' }, 'if/then: phone needed'],
    [{ name: 'Ada' }, 'anyOf: phone or email'],
    [{ name: 'Ada', email: 'a@b.c', shoeSize: 9 }, 'additionalProperties'],
    [{ name: 'Ada', email: 'a@b.c', address: { street: 7 } }, '$ref into $defs'],
  ] as const) {
    const refused = await call(args);
    t.true(refused.result.isError, why);
    t.regex(refused.result.content[0].text, /^Input validation error: Invalid arguments for tool json_schema_2020_12_tool: arguments/, why);
  }
});

test('Mcp-Param-* headers named by x-mcp-header must agree with the arguments (Base64 or literal), else 400 with -32020', async (t) => {
  const call = (headers: Record<string, string>, args: Record<string, unknown> = { region: 'eu-west', query: 'SELECT 1' }) =>
    modernPost(gh.resource, { id: 1, method: 'tools/call', params: { name: 'test_custom_headers', arguments: args } }, { authorization: `Bearer ${alice}`, ...headers });
  t.is((await call({ 'mcp-param-region': 'eu-west' })).status, 200);
  t.is((await call({ 'mcp-param-region': `=?base64?${Buffer.from('eu-west').toString('base64')}?=` })).status, 200);
  t.is((await call({ 'mcp-param-region': 'eu-west', 'mcp-param-priority': '3' }, { region: 'eu-west', priority: 3, query: 'x' })).status, 200);
  for (const [headers, why] of [
    [{}, 'header missing'],
    [{ 'mcp-param-region': 'us-east' }, 'different value'],
    [{ 'mcp-param-region': '=?base64?ZXUtd2VzdA?=' }, 'bad Base64 padding'],
    [{ 'mcp-param-region': 'eu-west', 'mcp-param-priority': '1' }, 'header without its argument'],
  ] as const) {
    const refused = await call(headers);
    t.is(refused.status, 400, why);
    t.is(refused.json.error.code, -32020, why);
    t.is(refused.json.id, 1, why);
  }
});
