import test from 'ava';
import { listClients } from '../../src/data/client-index.ts';
import { initializeRequest, mcpPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { discover, obtainCode, postForm } from '../helpers/oauth.ts';
import { ADMIN, ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { noticeOf, signedIn, type AdminAgent } from './admin-agent.ts';
import { seedClients } from './seed.ts';

let gh: RunningGatehouse;
let admin: AdminAgent;
test.before(async () => {
  gh = await startGatehouse();
  admin = await signedIn(gh.url, ADMIN);
});
test.after.always(async () => gh?.close());

const DAY = 86_400_000;
/** Client ids listed on a page, in order. */
const idsOn = (html: string) => [...html.matchAll(/<code class="client-id">([^<]+)<\/code>/g)].map((match) => match[1]!);
const hrefOf = (html: string, rel: 'prev' | 'next') => new RegExp(`href="([^"]+)" rel="${rel}"`).exec(html)?.[1]?.replace(/&amp;/g, '&');
const initializeStatus = async (token: string, server = gh) => (await mcpPost(server.resource, initializeRequest(), { authorization: `Bearer ${token}` })).status;
const clientRow = (clientId: string) => gh.gatehouse.store.get<{ kind: string; name: string | null }>('SELECT kind, name FROM client_index WHERE client_id = ?', [clientId]);

async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('condition never held');
}

test('the list shows each client with kind, redirect hosts, grants and sessions, and finds it by name, id or host', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'Listed Editor 9f3' });
  await openSession(gh.resource, issued.accessToken);
  await openSession(gh.resource, issued.accessToken);
  for (const q of ['listed editor 9F3', issued.clientId.slice(3, 15), '127.0.0.1:49700']) {
    const page = await admin.page(`/admin/clients?q=${encodeURIComponent(q)}`);
    t.is(page.status, 200);
    t.true(idsOn(page.html).includes(issued.clientId), q);
  }
  const page = await admin.page(`/admin/clients?q=${encodeURIComponent('Listed Editor 9f3')}`);
  const row = page.html.slice(page.html.indexOf('<tbody>'));
  t.regex(row, /data-label="Kind"><span class="badge kind-dcr">DCR</);
  t.regex(row, /data-label="Grants" class="num">1</);
  t.regex(row, /data-label="Sessions" class="num">2</);
  t.regex(row, /127\.0\.0\.1:49700/);
  t.regex(page.html, /1 client match/);
  t.deepEqual(idsOn((await admin.page('/admin/clients?q=%25%25no%5Fsuch_')).html), [], 'LIKE wildcards in the search are taken literally');
});

test('paging walks 120 clients newest first, 50 a page, forwards and back, with search and kind filters kept', async (t) => {
  const own = await startGatehouse();
  t.teardown(() => own.close());
  const base = Date.now() - 10 * DAY;
  const seeded = await seedClients(own.gatehouse.store, 120, (i) => ({ createdAt: base + i * 1000, client_name: `Pager ${String(i).padStart(3, '0')}`, ...(i % 3 === 0 ? { gatehouse_kind: 'manual' } : {}) }));
  const agent = await signedIn(own.url, ADMIN);
  const newestFirst = [...seeded].reverse();

  const first = await agent.page('/admin/clients');
  t.regex(first.html, /120 clients/);
  t.deepEqual(idsOn(first.html), newestFirst.slice(0, 50));
  t.is(hrefOf(first.html, 'prev'), undefined);
  const second = await agent.page(hrefOf(first.html, 'next')!);
  t.deepEqual(idsOn(second.html), newestFirst.slice(50, 100));
  const third = await agent.page(hrefOf(second.html, 'next')!);
  t.deepEqual(idsOn(third.html), newestFirst.slice(100));
  t.is(hrefOf(third.html, 'next'), undefined);
  const backToSecond = await agent.page(hrefOf(third.html, 'prev')!);
  t.deepEqual(idsOn(backToSecond.html), newestFirst.slice(50, 100));
  const backToFirst = await agent.page(hrefOf(backToSecond.html, 'prev')!);
  t.deepEqual(idsOn(backToFirst.html), newestFirst.slice(0, 50));

  const manual = await agent.page('/admin/clients?kind=manual&q=pager');
  t.regex(manual.html, /40 clients match/);
  const manualIds = newestFirst.filter((_id, i) => (119 - i) % 3 === 0);
  t.deepEqual(idsOn(manual.html), manualIds.slice(0, 40));
  t.is(hrefOf(manual.html, 'next'), undefined);

  t.deepEqual(idsOn((await agent.page('/admin/clients?after=not-a-cursor')).html), newestFirst.slice(0, 50), 'a mangled cursor shows the first page');
  t.is((await agent.page('/admin/clients?kind=<script>')).status, 200);
});

test('the detail page shows the full metadata without the secret, grants with people, and recent history', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'Detail Client' });
  const page = await admin.page(`/admin/clients/${issued.clientId}`);
  t.is(page.status, 200);
  t.true(page.html.includes('&quot;client_name&quot;: &quot;Detail Client&quot;'));
  t.true(page.html.includes('http://127.0.0.1:49700/callback'));
  t.true(page.html.includes(ALICE.email));
  t.true(page.html.includes('consent.granted'));
  t.is((await admin.page('/admin/clients/no-such-client')).status, 404);
});

test('revoking a client takes its grants, refresh tokens and sessions; the client stays registered', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'Revoked over HTTP' });
  const sessionId = await openSession(gh.resource, issued.accessToken);
  // Its own browser: the notice after a POST belongs to one session, and tests here run at once.
  const admin = await signedIn(gh.url, ADMIN);
  const notConfirmed = await admin.post(`/admin/clients/${issued.clientId}/revoke`);
  t.is(notConfirmed.status, 400, 'the confirmation box is required');
  const listTools = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
  t.is((await mcpPost(gh.resource, listTools, { authorization: `Bearer ${issued.accessToken}`, 'mcp-session-id': sessionId })).status, 200, 'nothing happened');

  const after = await admin.act(`/admin/clients/${issued.clientId}/revoke`, { confirm: 'yes' });
  t.is(noticeOf(after.html), 'Revoked everything the client held: 1 grant(s), 1 session(s).');
  t.is(await initializeStatus(issued.accessToken), 401);
  t.is((await mcpPost(gh.resource, listTools, { 'mcp-session-id': sessionId })).status, 404);
  const refresh = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: issued.refreshToken, client_id: issued.clientId });
  t.is(refresh.json.error, 'invalid_grant');
  t.truthy(await clientRow(issued.clientId), 'still registered');
  const audit = await gh.gatehouse.store.get<{ detail: string }>("SELECT detail FROM audit_log WHERE event = 'client.revoked' AND subject = ?", [issued.clientId]);
  t.deepEqual(JSON.parse(audit!.detail), { grants: 1, sessions: 1 });
});

test('deleting a client revokes everything and removes its registration', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'Deleted over HTTP' });
  const admin = await signedIn(gh.url, ADMIN);
  const after = await admin.act(`/admin/clients/${issued.clientId}/delete`, { confirm: 'yes' });
  t.regex(noticeOf(after.html)!, /Deleted client/);
  t.is(await initializeStatus(issued.accessToken), 401);
  t.is(await clientRow(issued.clientId), undefined);
  t.is(await gh.gatehouse.store.get("SELECT 1 AS x FROM oidc_models WHERE client_id = ? OR (model = 'Client' AND id = ?)", [issued.clientId, issued.clientId]), undefined);
  const agent = new UserAgent();
  const authorize = await agent.request(`${gh.url}/authorize?response_type=code&client_id=${issued.clientId}&redirect_uri=http://127.0.0.1:49700/callback&code_challenge=x&code_challenge_method=S256`);
  t.is(authorize.status, 400, 'the authorization server no longer knows it');
  t.is((await admin.page(`/admin/clients/${issued.clientId}`)).status, 404);
});

test('an administrator registers a public client by hand; it is listed as pre-registered and completes a real flow', async (t) => {
  const redirect = 'http://127.0.0.1:49720/callback';
  const created = await admin.post('/admin/clients', { name: 'Hand-made Public', redirect_uris: `${redirect}\n`, type: 'public' });
  t.is(created.status, 201);
  const clientId = /<code id="client-id">([^<]+)</.exec(created.html)![1]!;
  t.false(created.html.includes('client-secret'), 'a public client has no secret');
  t.deepEqual(await clientRow(clientId), { kind: 'manual', name: 'Hand-made Public' });
  t.true((await listClients(gh.gatehouse.store)).some((client) => client.clientId === clientId && client.kind === 'manual'), 'the CLI reports it as manual');

  const as = await discover(gh.issuer);
  const { code, verifier } = await obtainCode(as, { client_id: clientId }, new UserAgent(), ALICE, redirect, { resource: gh.resource });
  const tokens = await postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: clientId });
  t.is(tokens.status, 200);
  t.is(await initializeStatus(String(tokens.json.access_token)), 200);
});

test('a confidential client gets a secret shown once; the secret works at the token endpoint and is never shown again', async (t) => {
  const redirect = 'https://n8n.example.com/rest/oauth2-credential/callback';
  const created = await admin.post('/admin/clients', { name: 'Hand-made Confidential', redirect_uris: redirect, type: 'confidential' });
  t.is(created.status, 201);
  const clientId = /<code id="client-id">([^<]+)</.exec(created.html)![1]!;
  const secret = /id="client-secret" type="text" readonly value="([^"]+)"/.exec(created.html)![1]!;
  t.true(secret.length >= 40);

  const as = await discover(gh.issuer);
  const exchange = async (password: string) => {
    const { code, verifier } = await obtainCode(as, { client_id: clientId }, new UserAgent(), ALICE, redirect, { resource: gh.resource });
    return postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect }, {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(password)}`).toString('base64')}`,
    });
  };
  t.is((await exchange('wrong-secret')).status, 401);
  const good = await exchange(secret);
  t.is(good.status, 200);
  t.is(await initializeStatus(String(good.json.access_token)), 200);

  const detail = await admin.page(`/admin/clients/${clientId}`);
  t.false(detail.html.includes(secret), 'the detail page never shows the secret');
  t.true(detail.html.includes('confidential (has a secret)'));
  const audit = await gh.gatehouse.store.all<{ detail: string | null }>('SELECT detail FROM audit_log');
  t.false(audit.some((row) => (row.detail ?? '').includes(secret)), 'nor does the audit log');
});

test('hand registration refuses redirect URIs no legitimate client needs, and says why', async (t) => {
  for (const [uris, reason] of [
    ['javascript:alert(1)', /javascript: scheme/],
    ['http://evil.example/cb', /only allowed on loopback/],
    ['https://app.example.com/cb#frag', /fragment/],
    ['not a uri', /absolute URIs/],
    ['', /at least one redirect URI/],
  ] as const) {
    const refused = await admin.post('/admin/clients', { name: 'Bad', redirect_uris: uris, type: 'public' });
    t.is(refused.status, 400, uris);
    t.regex(noticeOf(refused.html) ?? '', reason);
  }
  t.regex(noticeOf((await admin.post('/admin/clients', { name: ' ', redirect_uris: 'https://a.example/cb' })).html)!, /name/);
});

test('stale self-registered clients without grants are cleaned up; used, granted and pre-registered ones stay', async (t) => {
  const own = await startGatehouse();
  t.teardown(() => own.close());
  const agent = await signedIn(own.url, ADMIN);
  const old = Date.now() - 40 * DAY;
  const [stale1, stale2] = await seedClients(own.gatehouse.store, 2, () => ({ createdAt: old }));
  const [manualOld] = await seedClients(own.gatehouse.store, 1, () => ({ createdAt: old, gatehouse_kind: 'manual' }));
  const [recent] = await seedClients(own.gatehouse.store, 1);
  const [usedRecently] = await seedClients(own.gatehouse.store, 1, () => ({ createdAt: old }));
  await own.gatehouse.store.run('UPDATE client_index SET last_used_at = ? WHERE client_id = ?', [Date.now() - DAY, usedRecently]);
  const granted = await tokensFor(own, ALICE, { clientName: 'Old but granted' });
  await own.gatehouse.store.run('UPDATE client_index SET created_at = ?, last_used_at = ? WHERE client_id = ?', [old, old, granted.clientId]);

  const policy = await agent.page('/admin/policy');
  t.regex(policy.html, /<strong>2 self-registered clients<\/strong> have no grant/);
  t.is((await agent.post('/admin/clients/cleanup', { days: '30' })).status, 400, 'needs the confirmation');
  const after = await agent.act('/admin/clients/cleanup', { days: '30', confirm: 'yes' });
  t.is(noticeOf(after.html), 'Deleted 2 stale clients.');
  const left = (await own.gatehouse.store.all<{ client_id: string }>('SELECT client_id FROM client_index')).map((row) => row.client_id);
  t.false(left.includes(stale1!) || left.includes(stale2!));
  for (const kept of [manualOld!, recent!, usedRecently!, granted.clientId]) t.true(left.includes(kept));
  t.is(await own.gatehouse.store.get("SELECT 1 AS x FROM oidc_models WHERE model = 'Client' AND id = ?", [stale1]), undefined);
  t.is(await initializeStatus(granted.accessToken, own), 200, 'the granted client still works');
  const recorded = await own.gatehouse.store.get<{ detail: string }>("SELECT detail FROM audit_log WHERE event = 'clients.cleaned'");
  t.deepEqual(JSON.parse(recorded!.detail), { deleted: 2, olderThanDays: 30 });
});

test('RFC 7592 updates and deletions by the client itself reach the list', async (t) => {
  const response = await fetch(`${gh.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:49730/cb'], token_endpoint_auth_method: 'none', client_name: 'Before Update' }),
  });
  const registered = (await response.json()) as { client_id: string; registration_client_uri: string; registration_access_token: string };
  // The index row is written just after the registration answer leaves (src/oauth/events.ts), as for the update below.
  t.is((await until(() => clientRow(registered.client_id)))?.name, 'Before Update');
  const headers = { authorization: `Bearer ${registered.registration_access_token}`, 'content-type': 'application/json' };
  const update = await fetch(registered.registration_client_uri, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ client_id: registered.client_id, redirect_uris: ['https://moved.example.com/cb'], token_endpoint_auth_method: 'none', client_name: 'After Update' }),
  });
  t.is(update.status, 200);
  const updated = await until(async () => {
    const row = await clientRow(registered.client_id);
    return row?.name === 'After Update' ? row : undefined;
  });
  t.is(updated.kind, 'dcr');
  const list = await admin.page('/admin/clients?q=moved.example.com');
  t.true(idsOn(list.html).includes(registered.client_id), 'found by its new redirect host');

  t.is((await fetch(registered.registration_client_uri, { method: 'DELETE', headers })).status, 204);
  await until(async () => ((await clientRow(registered.client_id)) ? undefined : true));
  t.pass();
});
