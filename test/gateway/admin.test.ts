import test from 'ava';
import { signedIn, noticeOf } from '../admin/admin-agent.ts';
import { connectV2, tokensFor, toolText } from '../helpers/mcp.ts';
import { ADMIN, ALICE, createTestDatabase, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { everythingOverStdio, memoryOverStdio, tempDir, upstreamsFile } from './upstreams.ts';

// Two instances on one database: what an administrator changes on one, the other serves without a restart.
let one: RunningGatehouse;
let two: RunningGatehouse;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
test.before(async () => {
  database = await createTestDatabase(undefined, { migrated: true });
  const env = { UPSTREAMS: upstreamsFile({ everything: everythingOverStdio({ deny: ['get-env'] }) }) };
  one = await startGatehouse({ env, database });
  two = await startGatehouse({ env, database, users: false });
});
test.after.always(async () => {
  await Promise.all([one?.close(), two?.close()]);
  await database?.drop();
});

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const served = (gh: RunningGatehouse, name: string) => async () => (await fetch(`${gh.url}/.well-known/oauth-protected-resource/mcp/${name}`)).status === 200;

test('the Upstreams page shows each upstream with its health, the tools callers see and the policy', async (t) => {
  const tokens = await tokensFor({ ...one, resource: `${one.resource}/everything` }, ALICE);
  const { client } = await connectV2({ resource: `${one.resource}/everything` }, tokens.accessToken);
  t.teardown(() => client.close());
  await client.listTools();

  const admin = await signedIn(one.url, ADMIN);
  const page = await admin.page('/admin/upstreams');
  t.is(page.status, 200);
  const row = /<tr data-upstream="everything">([\s\S]*?)<\/tr>/.exec(page.html)![1]!;
  t.regex(row, /health-up/);
  t.regex(row, /echo/);
  t.regex(row, /hidden: get-env/);
  t.regex(row, /deny: get-env/);
  t.regex(row, /from the UPSTREAMS file/);
  t.regex(page.html, /href="\/admin\/upstreams"[^>]*>Upstreams|>Upstreams</, 'the admin navigation has the section');
  const sessions = await admin.page('/admin/sessions');
  t.regex(sessions.html, /<code>\/mcp\/everything<\/code>/, 'the Sessions page says which server a session is with');
});

test('an upstream added on the admin page is served by every instance without a restart, and disabling it takes it away', async (t) => {
  const admin = await signedIn(one.url, ADMIN);
  const refused = await admin.post('/admin/upstreams', { name: 'memory', settings: '{"command": "node", "args": "x"}', enabled: 'on' });
  t.is(refused.status, 400);
  t.regex(noticeOf(refused.html)!, /upstream "memory": field "args"/);

  const saved = await admin.act('/admin/upstreams', { name: 'memory', settings: JSON.stringify(memoryOverStdio(tempDir())), enabled: 'on' });
  t.regex(noticeOf(saved.html)!, /Saved memory/);
  t.true(await served(one, 'memory')(), 'at once where it was saved');
  await until(served(two, 'memory'), 'the other instance to serve it');

  // A person signs in for it on the other instance and uses it there.
  const tokens = await tokensFor({ ...two, resource: `${two.resource}/memory` }, ALICE);
  const { client } = await connectV2({ resource: `${two.resource}/memory` }, tokens.accessToken);
  t.teardown(() => client.close());
  t.regex(toolText(await client.callTool({ name: 'read_graph', arguments: {} })), /entities/);

  const disabled = await admin.act('/admin/upstreams/memory/enabled', {});
  t.regex(noticeOf(disabled.html)!, /memory is disabled/);
  await until(async () => !(await served(two, 'memory')()), 'the other instance to stop serving it');
  const gone = await fetch(`${two.resource}/memory`, { method: 'POST', headers: { authorization: `Bearer ${tokens.accessToken}`, 'content-type': 'application/json' }, body: '{}' });
  t.is(gone.status, 404);
  const audit = await admin.page('/admin/audit?event=upstream.changed');
  t.regex(audit.html, /upstream.changed/);
});
