import test from 'ava';
import { createUser, findUserByEmail } from '../../src/domain/accounts.ts';
import { issuePersonalToken } from '../../src/domain/personal-tokens.ts';
import { hashSessionId } from '../../src/mcp/sessions/registry.ts';
import { initializeRequest, mcpPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { ADMIN, ALICE, BOB, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { AdminAgent, noticeOf, signedIn } from './admin-agent.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

const initializeStatus = async (token: string) => (await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${token}` })).status;
const register = (body: Record<string, unknown>) =>
  fetch(`${gh.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token_endpoint_auth_method: 'none', ...body }) });
let people = 0;
/** A fresh person for a test that changes them. */
async function person(options: { isAdmin?: boolean } = {}) {
  const credentials = { email: `person-${++people}-${Date.now()}@example.test`, password: 'a-long-enough-password' };
  const user = await createUser(gh.gatehouse.store, { ...credentials, ...options });
  return { ...credentials, user };
}

test.serial('the registration policy: closing DCR and an allow-list of redirect hosts apply at once; bad input is refused', async (t) => {
  const admin = await signedIn(gh.url, ADMIN);
  const page = await admin.page('/admin/policy');
  t.regex(page.html, /name="dcr" value="on" checked/);

  const refused = await admin.post('/admin/policy', { dcr: 'on', cimd: 'on', redirect_hosts: 'https://claude.ai/path', retention_days: '30' });
  t.is(refused.status, 400);
  t.regex(noticeOf(refused.html)!, /not a host name/);
  t.true(refused.html.includes('https://claude.ai/path'), 'what was typed stays in the form');
  t.is((await admin.post('/admin/policy', { dcr: 'on', retention_days: '-1' })).status, 400);

  const saved = await admin.act('/admin/policy', { cimd: 'on', redirect_hosts: 'claude.ai\n*.example.com', cimd_domains: '', retention_days: '14' });
  t.is(noticeOf(saved.html), 'Saved. Every instance applies the new policy within a second.');
  const closed = await register({ redirect_uris: ['http://127.0.0.1:49740/cb'] });
  t.is(closed.status, 403, 'open registration is off');
  t.is(((await closed.json()) as { error: string }).error, 'access_denied');

  await admin.act('/admin/policy', { dcr: 'on', cimd: 'on', redirect_hosts: 'claude.ai\n*.example.com', retention_days: '14' });
  t.is((await register({ redirect_uris: ['https://evil.example/cb'] })).status, 400, 'a host outside the list is refused');
  t.is((await register({ redirect_uris: ['https://app.example.com/cb'] })).status, 201);
  t.is((await register({ redirect_uris: ['http://127.0.0.1:49741/cb'] })).status, 201, 'loopback is always allowed');

  const audit = await gh.gatehouse.store.all<{ detail: string }>("SELECT detail FROM audit_log WHERE event = 'policy.changed' ORDER BY at");
  t.deepEqual(JSON.parse(audit.at(-1)!.detail).after, { dcr: true, cimd: true, redirectHosts: ['claude.ai', '*.example.com'], cimdDomains: [], staleClientRetentionDays: 14 });
  await admin.act('/admin/policy', { dcr: 'on', cimd: 'on', retention_days: '30' });
});

test('personal access tokens: an administrator creates one for a person (shown once), it works, then revokes it', async (t) => {
  const admin = await signedIn(gh.url, ADMIN);
  const created = await admin.post('/admin/tokens', { user: ALICE.email, name: 'scripted', 'scope:mcp:write': 'on', expires: '7' });
  t.is(created.status, 201);
  const token = /id="token-value" type="text" readonly value="([^"]+)"/.exec(created.html)![1]!;
  t.regex(token, /^gatehouse_pat_/);
  t.is(await initializeStatus(token), 200);
  const record = (await gh.gatehouse.store.get<{ id: string; scopes: string; expires_at: number }>("SELECT id, scopes, expires_at FROM personal_access_tokens WHERE name = 'scripted'"))!;
  t.is(record.scopes, 'mcp:tools mcp:write');
  t.true(Math.abs(Number(record.expires_at) - (Date.now() + 7 * 86_400_000)) < 60_000);

  const list = await admin.page(`/admin/tokens?user=${encodeURIComponent(ALICE.email)}`);
  t.true(list.html.includes('scripted'));
  t.false(list.html.includes(token), 'the list never shows the secret');
  const revoked = await admin.act(`/admin/tokens/${record.id}/revoke`);
  t.regex(noticeOf(revoked.html)!, /Revoked the token/);
  t.is(await initializeStatus(token), 401);
  t.is((await admin.post(`/admin/tokens/${record.id}/revoke`)).status, 404, 'already revoked');

  const unknown = await admin.post('/admin/tokens', { user: 'nobody@example.test', name: 'x' });
  t.is(unknown.status, 400);
  t.regex(noticeOf(unknown.html)!, /no user with the email/);
  t.is((await admin.post('/admin/tokens', { user: ALICE.email, name: '' })).status, 400);
  t.is((await admin.post('/admin/tokens', { user: ALICE.email, name: 'x', expires: '9999' })).status, 400);
});

test('sessions: listed with person, client, transport and protocol; ending one makes /mcp answer 404', async (t) => {
  const admin = await signedIn(gh.url, ADMIN);
  const issued = await tokensFor(gh, BOB, { clientName: 'Session Lister' });
  const sessionId = await openSession(gh.resource, issued.accessToken, '2025-03-26');
  const page = await admin.page(`/admin/sessions?client=${encodeURIComponent(issued.clientId)}`);
  const row = page.html.slice(page.html.indexOf('<tbody>'));
  t.true(row.includes(BOB.email));
  t.true(row.includes('Session Lister'));
  t.true(row.includes('Streamable HTTP'));
  t.true(row.includes('2025-03-26'));
  t.false(page.html.includes(sessionId), 'the session id itself never appears');
  const byUser = await admin.page(`/admin/sessions?user=${encodeURIComponent(BOB.email)}`);
  t.true(byUser.html.includes(hashSessionId(sessionId)));

  const ended = await admin.act(`/admin/sessions/${hashSessionId(sessionId)}/end`, { return_to: '/admin/sessions' });
  t.regex(noticeOf(ended.html)!, /Ended the session/);
  const answer = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { authorization: `Bearer ${issued.accessToken}`, 'mcp-session-id': sessionId });
  t.is(answer.status, 404);
  t.is(await initializeStatus(issued.accessToken), 200, 'the client can open a new session');
  t.is((await admin.post(`/admin/sessions/${hashSessionId(sessionId)}/end`)).status, 404);
});

test('users: create with a generated password shown once, who can then sign in', async (t) => {
  const admin = await signedIn(gh.url, ADMIN);
  const created = await admin.post('/admin/users', { email: 'Generated.Person@Example.test', name: 'Gen', password: '' });
  t.is(created.status, 201);
  const password = /id="password-value" type="text" readonly value="([^"]+)"/.exec(created.html)![1]!;
  const agent = new AdminAgent(gh.url);
  t.is((await agent.signIn({ email: 'generated.person@example.test', password })).status, 303);
  t.is((await admin.post('/admin/users', { email: 'generated.person@example.test', password: '' })).status, 400, 'duplicate');
  t.is((await admin.post('/admin/users', { email: 'short@example.test', password: 'short' })).status, 400, 'too short');
  const chosen = await admin.post('/admin/users', { email: 'chosen@example.test', password: 'a-chosen-password', admin: 'on' });
  t.is(chosen.status, 303, 'a chosen password is not shown back');
  t.true((await findUserByEmail(gh.gatehouse.store, 'chosen@example.test'))!.isAdmin);
});

test('users: disabling ends grants, tokens, sessions and sign-ins at once; enabling lets them sign in again', async (t) => {
  const admin = await signedIn(gh.url, ADMIN);
  const carol = await person();
  const issued = await tokensFor(gh, carol, { clientName: 'Carol’s app' });
  const sessionId = await openSession(gh.resource, issued.accessToken);
  const pat = await issuePersonalToken(gh.gatehouse.store, { ownerId: carol.user.id, name: 'carol', scopes: ['mcp:tools'], expiresAt: null }, { actor: 'test' });
  const carolsBrowser = await signedIn(gh.url, carol);

  t.is((await admin.post(`/admin/users/${carol.user.id}/disable`)).status, 400, 'needs the confirmation');
  const disabled = await admin.act(`/admin/users/${carol.user.id}/disable`, { confirm: 'yes' });
  t.regex(noticeOf(disabled.html)!, /grants, tokens and sessions have ended/);
  t.is(await initializeStatus(issued.accessToken), 401);
  t.is(await initializeStatus(pat.token), 401);
  t.is((await mcpPost(gh.resource, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': sessionId })).status, 404);
  t.is((await carolsBrowser.page('/account')).status, 302, 'their open admin-page sign-in ended');
  t.is((await new AdminAgent(gh.url).signIn(carol)).status, 401);

  await admin.act(`/admin/users/${carol.user.id}/enable`);
  t.is((await new AdminAgent(gh.url).signIn(carol)).status, 303);
  t.is(await initializeStatus(issued.accessToken), 401, 'what was revoked stays revoked');
});

test('users: the admin role can be granted and removed, never by someone to themselves; passwords can be reset', async (t) => {
  const admin = await signedIn(gh.url, ADMIN);
  const dave = await person();
  const daveBrowser = await signedIn(gh.url, dave);
  t.is((await daveBrowser.page('/admin/clients')).status, 403);
  await admin.act(`/admin/users/${dave.user.id}/admin`, { admin: 'on' });
  t.is((await daveBrowser.page('/admin/clients')).status, 200, 'the role applies to the open session');

  const self = await daveBrowser.post(`/admin/users/${dave.user.id}/admin`, {});
  t.is(self.status, 400);
  t.regex(noticeOf(self.html) ?? self.html, /cannot remove your own administrator role/);
  const selfDisable = await daveBrowser.post(`/admin/users/${dave.user.id}/disable`, { confirm: 'yes' });
  t.is(selfDisable.status, 400);
  await admin.act(`/admin/users/${dave.user.id}/admin`, {});
  t.is((await daveBrowser.page('/admin/clients')).status, 403);

  const reset = await admin.post(`/admin/users/${dave.user.id}/password`);
  t.is(reset.status, 200);
  const password = /id="password-value" type="text" readonly value="([^"]+)"/.exec(reset.html)![1]!;
  t.is((await daveBrowser.page('/account')).status, 302, 'their sign-ins ended');
  t.is((await new AdminAgent(gh.url).signIn(dave)).status, 401, 'the old password no longer works');
  t.is((await new AdminAgent(gh.url).signIn({ email: dave.email, password })).status, 303);
  t.is((await admin.post('/admin/users/no-such-user/enable')).status, 400);
  t.is((await admin.page('/admin/users/no-such-user')).status, 404);
});

test('the audit log records admin actions with who and from where, and filters by event, person and time, with paging', async (t) => {
  const own = await startGatehouse();
  t.teardown(() => own.close());
  const admin = await signedIn(own.url, ADMIN);
  const adminUser = (await findUserByEmail(own.gatehouse.store, ADMIN.email))!;
  await new AdminAgent(own.url).signIn({ email: ALICE.email, password: 'wrong-password-here' });
  for (let i = 0; i < 60; i++) await own.gatehouse.store.run("INSERT INTO audit_log (id, at, event, actor, subject) VALUES (?, ?, 'token.created', 'cli', ?)", [`old-${i}`, Date.UTC(2024, 0, 1, 0, i), `token-${i}`]);

  const failed = await admin.page(`/admin/audit?event=login.failed&who=${encodeURIComponent(ALICE.email)}`);
  const rows = failed.html.slice(failed.html.indexOf('<tbody>'));
  t.is((rows.match(/<tr>/g) ?? []).length, 1);
  t.true(rows.includes('login.failed') && rows.includes(ALICE.email) && rows.includes('127.0.0.1'));

  const mine = await admin.page(`/admin/audit?who=${encodeURIComponent(ADMIN.email)}`);
  t.true(mine.html.includes('login.succeeded'));
  t.true(mine.html.includes(adminUser.id));

  const january = await admin.page('/admin/audit?event=token.created&from=2024-01-01T00:10&to=2024-01-01T00:19');
  t.is((january.html.match(/<tr>/g) ?? []).length - 1, 10, 'ten rows (plus the header) in the range');
  const all = await admin.page('/admin/audit?event=token.created');
  t.is((all.html.match(/<tr>/g) ?? []).length - 1, 50);
  const next = /href="([^"]+)" rel="next"/.exec(all.html)![1]!.replace(/&amp;/g, '&');
  t.regex(next, /event=token.created/);
  const older = await admin.page(next);
  t.is((older.html.match(/<tr>/g) ?? []).length - 1, 10);
  t.true(older.html.includes('token-0<'));

  const bad = await admin.page('/admin/audit?from=yesterday');
  t.is(bad.status, 200);
  t.regex(noticeOf(bad.html)!, /Could not read the "from" time/);
});

test('the account page: a person sees and manages only their own tokens and apps', async (t) => {
  const erin = await person();
  const frank = await person();
  const erinApp = await tokensFor(gh, erin, { clientName: 'Erin’s Assistant' });
  const frankApp = await tokensFor(gh, frank, { clientName: 'Frank’s Assistant' });
  const frankPat = await issuePersonalToken(gh.gatehouse.store, { ownerId: frank.user.id, name: 'franks', scopes: ['mcp:tools'], expiresAt: null }, { actor: 'test' });
  const erinBrowser = await signedIn(gh.url, erin);

  const page = await erinBrowser.page('/account');
  t.true(page.html.includes('Erin’s Assistant'));
  t.false(page.html.includes('Frank’s Assistant'));
  t.false(page.html.includes('franks'));

  const frankGrant = (await gh.gatehouse.store.get<{ grant_id: string }>("SELECT grant_id FROM oidc_models WHERE model = 'Grant' AND client_id = ?", [frankApp.clientId]))!.grant_id;
  t.is((await erinBrowser.post(`/account/apps/${frankGrant}/revoke`)).status, 404, 'someone else’s app is not found');
  t.is((await erinBrowser.post(`/account/tokens/${frankPat.record.id}/revoke`)).status, 404, 'someone else’s token is not found');
  t.is(await initializeStatus(frankApp.accessToken), 200);
  t.is(await initializeStatus(frankPat.token), 200);

  const erinGrant = (await gh.gatehouse.store.get<{ grant_id: string }>("SELECT grant_id FROM oidc_models WHERE model = 'Grant' AND client_id = ?", [erinApp.clientId]))!.grant_id;
  const after = await erinBrowser.act(`/account/apps/${erinGrant}/revoke`);
  t.regex(noticeOf(after.html)!, /Disconnected the app/);
  t.is(await initializeStatus(erinApp.accessToken), 401);

  const created = await erinBrowser.post('/account/tokens', { name: 'erin script', expires: 'never', user: frank.email });
  t.is(created.status, 201);
  const token = /id="token-value" type="text" readonly value="([^"]+)"/.exec(created.html)![1]!;
  const owner = await gh.gatehouse.store.get<{ user_id: string; scopes: string; expires_at: number | null }>("SELECT user_id, scopes, expires_at FROM personal_access_tokens WHERE name = 'erin script'");
  t.deepEqual(owner, { user_id: erin.user.id, scopes: 'mcp:tools', expires_at: null }, 'always for the signed-in person, whatever the form says');
  t.is(await initializeStatus(token), 200);
});
