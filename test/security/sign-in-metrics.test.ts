/**
 * Finding 11: sign-in is written twice (the OAuth sign-in page and the admin
 * /login page) and the copies drifted: failed sign-ins at /login never reach
 * `gatehouse_auth_failures_total`, so an attack on administrator accounts is
 * invisible on the dashboards that watch the OAuth page.
 */
import test from 'ava';
import { AdminAgent } from '../helpers/admin-pages.ts';
import { series } from '../helpers/metrics.ts';
import { authorizationUrl, discover, register } from '../helpers/oauth.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

async function failures(gh: RunningGatehouse): Promise<{ password: number; locked: number }> {
  const text = await (await fetch(`${gh.url}/metrics`)).text();
  return {
    password: series(text, 'gatehouse_auth_failures_total', { reason: 'login_password' }) ?? 0,
    locked: series(text, 'gatehouse_auth_failures_total', { reason: 'login_locked' }) ?? 0,
  };
}

test('one failed sign-in at /login adds one to gatehouse_auth_failures_total{reason="login_password"}', async (t) => {
  const gh = await startGatehouse();
  t.teardown(() => gh.close());
  const before = await failures(gh);
  const answer = await new AdminAgent(gh.url).signIn({ email: ALICE.email, password: 'not-her-password' });
  t.is(answer.status, 401);
  t.is((await failures(gh)).password, before.password + 1);
});

test('sign-ins at /login refused because the account name is locked count as login_locked', async (t) => {
  const gh = await startGatehouse();
  t.teardown(() => gh.close());
  const before = await failures(gh);
  const target = { email: `locked-${Date.now()}@example.test`, password: 'guess-number-0' };
  const statuses: number[] = [];
  // Five wrong passwords lock an account name; keep going until two attempts were refused as locked.
  for (let i = 0; statuses.filter((status) => status === 429).length < 2 && i < 12; i++) {
    statuses.push((await new AdminAgent(gh.url).signIn({ ...target, password: `guess-number-${i}` })).status);
  }
  const refusedForPassword = statuses.filter((status) => status === 401).length;
  const refusedLocked = statuses.filter((status) => status === 429).length;
  t.is(refusedLocked, 2, `statuses: ${statuses.join(', ')}`);
  const after = await failures(gh);
  t.is(after.password, before.password + refusedForPassword, 'each wrong password before the lock');
  t.is(after.locked, before.locked + refusedLocked, 'each attempt refused as locked');
});

test('a failed sign-in on the OAuth sign-in page still counts as login_password', async (t) => {
  const gh = await startGatehouse();
  t.teardown(() => gh.close());
  const as = await discover(gh.issuer);
  const redirect = 'http://127.0.0.1:49840/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const before = await failures(gh);
  const agent = new UserAgent();
  const first = await agent.request(await authorizationUrl(as, client.client_id, redirect));
  const page = new URL(first.headers.get('location')!, gh.url);
  const html = await (await agent.request(page)).text();
  const response = await agent.submitForm(page.href, html, `${page.pathname}/login`, { email: ALICE.email, password: 'not-her-password' });
  t.is(response.status, 401);
  t.is((await failures(gh)).password, before.password + 1);
});
