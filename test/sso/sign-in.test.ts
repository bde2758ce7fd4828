import test from 'ava';
import { auth as authV2 } from '@modelcontextprotocol/client';
import { findUserByEmail } from '../../src/domain/accounts.ts';
import { AdminAgent, signedInAdmin } from '../helpers/admin-pages.ts';
import { browse, startCompanyIdp, type CompanyIdp } from '../helpers/company-idp.ts';
import { connectV2 } from '../helpers/mcp.ts';
import { MemoryOAuthProvider } from '../helpers/sdk-oauth.ts';
import { ALICE, freePort, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/**
 * Signing in through the company's identity provider, against a real second
 * oidc-provider on loopback. Serial: some tests make the provider misbehave.
 */

let gh: RunningGatehouse;
let idp: CompanyIdp;

test.before(async () => {
  const port = await freePort();
  idp = await startCompanyIdp({ gatehouseCallback: `http://127.0.0.1:${port}/sso/callback` });
  gh = await startGatehouse({ port, env: idp.env({ SSO_ALLOWED_DOMAINS: 'corp.test,example.test', SSO_ADMIN_GROUPS: 'gatehouse-admins' }) });
});
test.after.always(async () => {
  await gh?.close();
  await idp?.close();
});

const store = () => gh.gatehouse.store;
const userCount = async () => Number((await store().get<{ n: number }>('SELECT COUNT(*) AS n FROM users'))?.n);
const signInAtLogin = (email: string, next = '') => browse(new UserAgent(), `${gh.url}/login${next ? `?next=${encodeURIComponent(next)}` : ''}`, { idpEmail: email });

test.serial('a new person signs in through the company provider and completes an MCP client\'s OAuth flow', async (t) => {
  const carol = idp.addPerson({ email: 'carol@corp.test', email_verified: true, name: 'Carol Corp', groups: ['engineering'] });
  const redirect = 'http://127.0.0.1:49510/callback';
  const oauth = new MemoryOAuthProvider(redirect);
  t.is(await authV2(oauth as never, { serverUrl: gh.resource }), 'REDIRECT');

  const agent = new UserAgent();
  const done = await browse(agent, oauth.authorizationUrl!, { idpEmail: carol.email, stopAt: redirect });
  t.truthy(done.callback, `ended on ${done.url} (${done.status})`);
  t.true(agent.pages.some((shown) => shown.html.includes('Continue with Acme Corp')), 'the sign-in page offers the company provider');
  t.is(
    await authV2(oauth as never, { serverUrl: gh.resource, authorizationCode: done.callback!.searchParams.get('code')!, iss: done.callback!.searchParams.get('iss')! }),
    'AUTHORIZED',
  );

  const { client } = await connectV2(gh, oauth.accessToken!);
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  const who = JSON.parse((result.content as { text: string }[])[0]!.text) as { user: { email: string; name: string } };
  t.is(who.user.email, 'carol@corp.test');
  t.is(who.user.name, 'Carol Corp');
  await client.close();

  const created = await findUserByEmail(store(), 'carol@corp.test');
  t.truthy(created);
  t.false(created!.isAdmin);
  t.false(created!.hasPassword, 'created just in time, with no Gatehouse password');
});

test.serial('an administrator by group lands on /admin; losing the group takes the role away at the next sign-in', async (t) => {
  const dave = idp.addPerson({ email: 'dave@corp.test', email_verified: true, name: 'Dave Admin', groups: ['staff', 'gatehouse-admins'] });
  const first = await signInAtLogin(dave.email, '/admin/users');
  t.is(first.status, 200, first.html.slice(0, 300));
  t.is(new URL(first.url).pathname, '/admin/users');
  t.regex(first.html, /dave@corp\.test/);
  t.true((await findUserByEmail(store(), dave.email))!.isAdmin);

  dave.groups = ['staff'];
  const second = await signInAtLogin(dave.email);
  t.is(new URL(second.url).pathname, '/account');
  t.false((await findUserByEmail(store(), dave.email))!.isAdmin);
});

test.serial('a person with a password account and the same verified email is linked, never duplicated', async (t) => {
  const before = await findUserByEmail(store(), ALICE.email);
  const users = await userCount();
  idp.addPerson({ email: ALICE.email, email_verified: true, name: 'Alice Example' });
  const signedIn = await signInAtLogin(ALICE.email);
  t.is(new URL(signedIn.url).pathname, '/account');
  t.is(await userCount(), users, 'no second account');
  const after = await findUserByEmail(store(), ALICE.email);
  t.is(after!.id, before!.id);
  t.is(after!.name, 'Alice Example', 'the name comes from the provider');
  t.truthy(await store().get('SELECT 1 AS ok FROM identity_links WHERE user_id = ? AND issuer = ?', [before!.id, idp.issuer]));

  // The password still works, and the admin page shows both ways in.
  const admin = await signedInAdmin(gh.url);
  const list = await admin.page(`/admin/users?q=${encodeURIComponent(ALICE.email)}`);
  t.regex(list.html, /class="identity-source">Acme Corp, password</);
  await new AdminAgent(gh.url).signIn(ALICE);
});

test.serial('a wrong email domain is refused with a page, and nothing is created', async (t) => {
  const users = await userCount();
  idp.addPerson({ email: 'eve@other.test', email_verified: true, name: 'Eve' });
  const refused = await signInAtLogin('eve@other.test');
  t.is(refused.status, 403);
  t.regex(refused.html, /email domain is not allowed/);
  t.is(await userCount(), users);
  t.is(await findUserByEmail(store(), 'eve@other.test'), undefined);
});

test.serial('an unverified email is refused, and nothing is created', async (t) => {
  const users = await userCount();
  idp.addPerson({ email: 'grace@corp.test', email_verified: false, name: 'Grace' });
  const refused = await signInAtLogin('grace@corp.test');
  t.is(refused.status, 403);
  t.regex(refused.html, /did not confirm your email/);
  t.is(await userCount(), users);
});

test.serial('a disabled person stays out', async (t) => {
  const frank = idp.addPerson({ email: 'frank@corp.test', email_verified: true, name: 'Frank' });
  t.is(new URL((await signInAtLogin(frank.email)).url).pathname, '/account');
  const user = await findUserByEmail(store(), frank.email);
  await gh.gatehouse.access.disablePerson(user!.id, { actor: 'test' });
  const refused = await signInAtLogin(frank.email);
  t.is(refused.status, 403);
  t.regex(refused.html, /disabled/);
});

test.serial('an ID token for another audience is refused, and nothing is created', async (t) => {
  const users = await userCount();
  const henry = idp.addPerson({ email: 'henry@corp.test', email_verified: true, name: 'Henry' });
  idp.misbehave.idTokenAudience = 'someone-else';
  try {
    const refused = await signInAtLogin(henry.email);
    t.is(refused.status, 403);
    t.regex(refused.html, /did not confirm who you are/);
  } finally {
    delete idp.misbehave.idTokenAudience;
  }
  t.is(await userCount(), users);
});

test.serial('a tampered state is refused and signs nobody in; a callback without its cookie has expired', async (t) => {
  const ivy = idp.addPerson({ email: 'ivy@corp.test', email_verified: true, name: 'Ivy' });
  const agent = new UserAgent();
  const atCallback = await browse(agent, `${gh.url}/sso/start/company`, { idpEmail: ivy.email, stopAt: `${gh.url}/sso/callback` });
  const tampered = new URL(atCallback.callback!);
  tampered.searchParams.set('state', `${tampered.searchParams.get('state')}x`);
  const refused = await agent.request(tampered);
  t.is(refused.status, 403);
  t.regex(await refused.text(), /did not confirm who you are/);
  t.is((await agent.request(`${gh.url}/account`)).status, 302, 'not signed in');
  t.is(await findUserByEmail(store(), ivy.email), undefined);

  const stranger = await new UserAgent().request(atCallback.callback!);
  t.is(stranger.status, 400);
  t.regex(await stranger.text(), /expired/);
});

test.serial('providers added on the admin page apply at once, and go when removed', async (t) => {
  const second = await startCompanyIdp({ gatehouseCallback: `${gh.url}/sso/callback` });
  t.teardown(() => second.close());
  const admin = await signedInAdmin(gh.url);
  const saved = await admin.act('/admin/providers', {
    id: 'partner',
    name: 'Partner Inc',
    issuer: second.issuer,
    client_id: 'gatehouse',
    client_secret: second.env().SSO_CLIENT_SECRET!,
    allowed_domains: 'partner.test',
    admin_groups: '',
  });
  t.regex(saved.html, /Partner Inc/);
  const login = await new UserAgent().request(`${gh.url}/login`);
  t.regex(await login.text(), /Continue with Partner Inc/);

  second.addPerson({ email: 'pat@partner.test', email_verified: true, name: 'Pat Partner' });
  const signedIn = await browse(new UserAgent(), `${gh.url}/login`, { idpEmail: 'pat@partner.test', provider: 'partner' });
  t.is(new URL(signedIn.url).pathname, '/account');
  t.truthy(await findUserByEmail(store(), 'pat@partner.test'));

  const bad = await admin.post('/admin/providers', { id: 'plain', name: 'Plain', issuer: 'http://idp.example.com', client_id: 'x', client_secret: 'y' });
  t.is(bad.status, 400);
  t.regex(bad.html, /must be https/);

  // A provider that does not answer gets a page that says so, never a 500.
  await admin.act('/admin/providers', { id: 'down', name: 'Down Corp', issuer: 'http://127.0.0.1:9', client_id: 'gatehouse', client_secret: 'whatever' });
  const down = await new UserAgent().request(`${gh.url}/sso/start/down`);
  t.is(down.status, 502);
  t.regex(await down.text(), /could not reach Down Corp/);
  await admin.act('/admin/providers/down/delete');

  await admin.act('/admin/providers/partner/delete');
  t.notRegex(await (await new UserAgent().request(`${gh.url}/login`)).text(), /Partner Inc/);
  const gone = await new UserAgent().request(`${gh.url}/sso/start/partner`);
  t.is(gone.status, 404);
});

test.serial('nothing secret from the provider reaches a log line', (t) => {
  const logs = gh.logs.join('\n');
  t.true(idp.secretsIssued.size > 5, 'the provider issued codes and tokens during these tests');
  for (const secret of idp.secretsIssued) t.false(logs.includes(secret), 'a code, token or client secret was logged');
});
