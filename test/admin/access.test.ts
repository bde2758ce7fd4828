import { createHash } from 'node:crypto';
import test from 'ava';
import { findUserByEmail } from '../../src/domain/accounts.ts';
import { ADMIN, ALICE, BOB, freePort, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { AdminAgent, noticeOf, signedIn } from './admin-agent.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

const auditRows = (event: string) =>
  gh.gatehouse.store.all<{ actor: string | null; subject: string | null; ip: string | null; detail: string | null }>('SELECT actor, subject, ip, detail FROM audit_log WHERE event = ? ORDER BY at', [event]);

test('signed-out visitors are sent to sign in and come back; a signed-out POST is refused', async (t) => {
  const agent = new AdminAgent(gh.url);
  const page = await agent.page('/admin/clients?q=claude');
  t.is(page.status, 302);
  t.is(page.location, '/login?next=%2Fadmin%2Fclients%3Fq%3Dclaude');
  t.is((await agent.page('/account')).location, '/login?next=%2Faccount');
  const post = await agent.post('/admin/policy', { dcr: 'on' }, { csrf: 'anything' });
  t.is(post.status, 401);

  const back = await agent.signIn(ADMIN, '/admin/clients?q=claude');
  t.is(back.status, 303);
  t.is(back.location, '/admin/clients?q=claude');
});

test('pages carry the strict headers: CSP with form-action, no framing, no referrer, no caching', async (t) => {
  const agent = await signedIn(gh.url, ADMIN);
  for (const path of ['/login', '/admin/clients', '/account']) {
    const page = path === '/login' ? await new AdminAgent(gh.url).page(path) : await agent.page(path);
    const csp = page.headers.get('content-security-policy') ?? '';
    t.true(csp.includes("default-src 'none'") && csp.includes("form-action 'self'") && csp.includes("frame-ancestors 'none'"), `${path}: ${csp}`);
    t.false(csp.includes('script-src'), 'no script is allowed at all');
    t.is(page.headers.get('referrer-policy'), 'no-referrer');
    t.is(page.headers.get('x-frame-options'), 'DENY');
    t.is(page.headers.get('cache-control'), 'no-store');
    t.false(/<script|\sstyle=|\son[a-z]+=/i.test(page.html), `${path} has no inline script, style or handler`);
  }
});

test('the sign-in cookie is httpOnly, SameSite=Lax, and only its hash is stored', async (t) => {
  const agent = new AdminAgent(gh.url);
  const login = await agent.page('/login');
  const response = await agent.submitForm(`${gh.url}/login`, login.html, '/login', ADMIN);
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith('gh_admin='))!;
  t.truthy(cookie);
  t.regex(cookie, /; path=\//i);
  t.regex(cookie, /; httponly/i);
  t.regex(cookie, /; samesite=lax/i);
  t.regex(cookie, /; expires=/i);
  t.notRegex(cookie, /; secure/i, 'not Secure on a plain-http PUBLIC_URL');
  const id = /^gh_admin=([^;]+)/.exec(cookie)![1]!;
  const stored = await gh.gatehouse.store.all<{ id_hash: string }>('SELECT id_hash FROM admin_sessions');
  t.false(stored.some((row) => row.id_hash === id));
  t.true(stored.some((row) => row.id_hash === createHash('sha256').update(id).digest('hex')));
});

test('on an https PUBLIC_URL the cookie is Secure and __Host- prefixed', async (t) => {
  const port = await freePort();
  const secure = await startGatehouse({ port, env: { PUBLIC_URL: 'https://gatehouse.example', TRUST_PROXY: 'on' } });
  t.teardown(() => secure.close());
  // As behind a TLS-terminating proxy: plain HTTP on loopback, X-Forwarded-Proto https.
  const agent = new AdminAgent(`http://127.0.0.1:${port}`);
  const login = await agent.request(`http://127.0.0.1:${port}/login`, { headers: { 'x-forwarded-proto': 'https' } });
  const html = await login.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  const response = await agent.request(`http://127.0.0.1:${port}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https', origin: 'https://gatehouse.example' },
    body: new URLSearchParams({ ...ADMIN, csrf }),
  });
  t.is(response.status, 303);
  const cookie = response.headers.getSetCookie().find((line) => line.startsWith('__Host-gh_admin='));
  t.truthy(cookie);
  t.regex(cookie!, /; secure/i);
  t.regex(cookie!, /; path=\//i);
  t.notRegex(cookie!, /; domain=/i);
});

test('next only ever leads to a path on this server', async (t) => {
  for (const [next, expected] of [
    ['/admin/users?q=a', '/admin/users?q=a'],
    ['//evil.example/x', '/admin'],
    ['https://evil.example/', '/admin'],
    ['/\\evil.example', '/admin'],
    ['javascript:alert(1)', '/admin'],
    ['/%0d%0aSet-Cookie:x=y', '/%0d%0aSet-Cookie:x=y'],
  ] as const) {
    const agent = new AdminAgent(gh.url);
    const answer = await agent.signIn(ADMIN, next);
    t.is(answer.location, expected, next);
  }
  const already = await signedIn(gh.url, ADMIN);
  t.is((await already.page('/login?next=//evil.example')).location, '/admin', 'already signed in: straight on, still local');
});

test('wrong passwords are refused with the same words and recorded; a good sign-in is recorded too', async (t) => {
  const agent = new AdminAgent(gh.url);
  const wrong = await agent.signIn({ email: 'carol-admin-page@example.test', password: 'not-the-password' });
  t.is(wrong.status, 401);
  t.is(noticeOf(wrong.html), 'The email or password is not right.');
  const failures = await auditRows('login.failed');
  t.true(failures.some((row) => row.subject === 'carol-admin-page@example.test' && row.ip !== null && JSON.parse(row.detail!).page === 'admin'));
  t.false(failures.some((row) => (row.detail ?? '').includes('not-the-password')), 'the password never reaches the log');

  const good = await agent.signIn(BOB);
  t.is(good.status, 303);
  t.is(good.location, '/account', 'a person without the role lands on their account page');
  const bob = await findUserByEmail(gh.gatehouse.store, BOB.email);
  t.true((await auditRows('login.succeeded')).some((row) => row.actor === bob!.id && JSON.parse(row.detail!).page === 'admin'));
});

test('a sign-in form without its CSRF token or from another site is refused', async (t) => {
  const agent = new AdminAgent(gh.url);
  const login = await agent.page('/login');
  const noToken = await agent.request(`${gh.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(ADMIN),
  });
  t.is(noToken.status, 403);
  const csrf = /name="csrf" value="([^"]+)"/.exec(login.html)![1]!;
  const otherBrowser = new AdminAgent(gh.url);
  const borrowed = await otherBrowser.request(`${gh.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...ADMIN, csrf }),
  });
  t.is(borrowed.status, 403, 'the token is bound to the browser that loaded the form');
  const foreign = await agent.request(`${gh.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
    body: new URLSearchParams({ ...ADMIN, csrf }),
  });
  t.is(foreign.status, 403);
});

test('a person without the admin role gets 403 on every admin page and 200 on their account page', async (t) => {
  const alice = await signedIn(gh.url, ALICE);
  for (const path of ['/admin', '/admin/clients', '/admin/clients/new', '/admin/clients/some-id', '/admin/sessions', '/admin/tokens', '/admin/users', '/admin/policy', '/admin/audit']) {
    const page = await alice.page(path);
    t.is(page.status, 403, path);
    t.true(page.html.includes('Administrators only'));
  }
  // An address that is no page is no page, for everyone: the same 404 whatever the role.
  t.is((await alice.page('/admin/nothing-here')).status, 404);
  t.is((await alice.post('/admin/policy', { dcr: 'on', retention_days: '1' })).status, 403);
  const account = await alice.page('/account');
  t.is(account.status, 200);
  t.true(account.html.includes(ALICE.email));
});

test('sign-out ends the session: the old cookie no longer opens anything', async (t) => {
  const agent = await signedIn(gh.url, ADMIN);
  const out = await agent.post('/logout');
  t.is(out.status, 303);
  t.is(out.location, '/login');
  t.is((await agent.page('/admin/clients')).status, 302);
  t.is(await gh.gatehouse.store.get('SELECT 1 AS live FROM admin_sessions WHERE id_hash = ?', [agent.sessionHash]), undefined);
  const admin = await findUserByEmail(gh.gatehouse.store, ADMIN.email);
  t.true((await auditRows('logout')).some((row) => row.actor === admin!.id));
});

test('an expired admin session is refused', async (t) => {
  const agent = await signedIn(gh.url, ADMIN);
  t.is((await agent.page('/admin/clients')).status, 200);
  await gh.gatehouse.store.run('UPDATE admin_sessions SET expires_at = ? WHERE id_hash = ?', [Date.now() - 1, agent.sessionHash]);
  t.is((await agent.page('/admin/clients')).status, 302);
});

test('a disabled account or a removed admin role takes effect on the open session at once', async (t) => {
  const { createUser } = await import('../../src/domain/accounts.ts');
  const dana = { email: 'dana-admin@example.test', password: 'dana-password-123' };
  const user = await createUser(gh.gatehouse.store, { ...dana, isAdmin: true });
  const agent = await signedIn(gh.url, dana);
  t.is((await agent.page('/admin/users')).status, 200);
  await gh.gatehouse.store.run('UPDATE users SET is_admin = 0 WHERE id = ?', [user.id]);
  t.is((await agent.page('/admin/users')).status, 403);
  await gh.gatehouse.store.run('UPDATE users SET disabled_at = ? WHERE id = ?', [Date.now(), user.id]);
  t.is((await agent.page('/account')).status, 302);
});
