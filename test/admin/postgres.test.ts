import test from 'ava';
import { initializeRequest, mcpPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { ADMIN, ALICE, createTestDatabase, startGatehouse, type RunningGatehouse, type TestDatabase } from '../helpers/server.ts';
import { noticeOf, signedIn } from './admin-agent.ts';
import { seedClients } from './seed.ts';

/**
 * Every admin query, on PostgreSQL: the same SQL must run on both engines, so
 * this runs on PostgreSQL in the SQLite half of the suite too, where the test
 * process starts a PostgreSQL server of its own (see `postgresUrl()`).
 */
let database: TestDatabase;
let gh: RunningGatehouse;

test.before(async () => {
  database = await createTestDatabase('postgres');
  gh = await startGatehouse({ database });
});
test.after.always(async () => {
  await gh?.close();
  await database?.drop();
});

test('the admin pages and actions work on PostgreSQL', async (t) => {
  t.is(gh.gatehouse.store.engine, 'postgres');
  const issued = await tokensFor(gh, ALICE, { clientName: 'Postgres Client 100%_' });
  const sessionId = await openSession(gh.resource, issued.accessToken);
  await seedClients(gh.gatehouse.store, 60, (i) => ({ createdAt: Date.now() - (i + 1) * 60_000 - 40 * 86_400_000 }));
  const admin = await signedIn(gh.url, ADMIN);

  const alice = encodeURIComponent(ALICE.email);
  for (const path of [
    '/admin/clients',
    '/admin/clients?kind=dcr&q=seeded',
    '/admin/sessions',
    `/admin/sessions?user=${alice}&client=${issued.clientId}`,
    '/admin/tokens',
    `/admin/tokens?user=${alice}`,
    '/admin/users',
    '/admin/users?q=ali_ce%25',
    '/admin/policy',
    '/admin/audit?event=consent.granted',
    '/account',
  ]) {
    t.is((await admin.page(path)).status, 200, path);
  }
  const search = await admin.page(`/admin/clients?q=${encodeURIComponent('100%_')}`);
  t.true(search.html.includes(issued.clientId), 'wildcards are literal on PostgreSQL too');
  t.regex(search.html, /1 client match/);
  const first = await admin.page('/admin/clients');
  const next = /href="([^"]+)" rel="next"/.exec(first.html)![1]!.replace(/&amp;/g, '&');
  t.is((await admin.page(next)).status, 200);
  t.true((await admin.page(`/admin/clients/${issued.clientId}`)).html.includes(ALICE.email));
  t.true((await admin.page('/admin/users?q=ALICE')).html.includes(ALICE.email), 'user search ignores case');
  t.true((await admin.page(`/admin/sessions?client=${issued.clientId}`)).html.includes(ALICE.email));
  t.true((await admin.page(`/admin/audit?who=${encodeURIComponent(ALICE.email)}&from=2020-01-01&to=2099-12-31`)).html.includes('consent.granted'));

  const policy = await admin.page('/admin/policy');
  t.regex(policy.html, /<strong>60 self-registered clients<\/strong>/);
  t.is(noticeOf((await admin.act('/admin/clients/cleanup', { days: '30', confirm: 'yes' })).html), 'Deleted 60 stale clients.');

  await admin.act(`/admin/clients/${issued.clientId}/revoke`, { confirm: 'yes' });
  t.is((await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${issued.accessToken}` })).status, 401);
  t.is((await mcpPost(gh.resource, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': sessionId })).status, 404);
});
