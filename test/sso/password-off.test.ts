import test from 'ava';
import { auth as authV2 } from '@modelcontextprotocol/client';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { browse, startCompanyIdp, type CompanyIdp } from '../helpers/company-idp.ts';
import { MemoryOAuthProvider } from '../helpers/sdk-oauth.ts';
import { ADMIN, ALICE, freePort, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/** PASSWORD_LOGIN=off: the company's provider is the only way in, on every sign-in page. */

let gh: RunningGatehouse;
let idp: CompanyIdp;

test.before(async () => {
  const port = await freePort();
  idp = await startCompanyIdp({ gatehouseCallback: `http://127.0.0.1:${port}/sso/callback`, name: 'Okta' });
  gh = await startGatehouse({ port, env: idp.env({ PASSWORD_LOGIN: 'off' }) });
});
test.after.always(async () => {
  await gh?.close();
  await idp?.close();
});

test('/login offers only the company provider and refuses a posted password', async (t) => {
  const agent = new UserAgent();
  const page = await agent.request(`${gh.url}/login`);
  const html = await page.text();
  t.regex(html, /Continue with Okta/);
  t.notRegex(html, /type="password"/);

  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const posted = await agent.request(`${gh.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.url },
    body: new URLSearchParams({ csrf, email: ADMIN.email, password: ADMIN.password }),
  });
  t.is(posted.status, 403);
  t.regex(await posted.text(), /password is turned off/);
  t.is((await agent.request(`${gh.url}/admin/clients`)).status, 302, 'not signed in');
});

test('the OAuth sign-in page hides the password form and refuses one posted anyway; the company provider signs the person in', async (t) => {
  const redirect = 'http://127.0.0.1:49520/callback';
  const oauth = new MemoryOAuthProvider(redirect);
  t.is(await authV2(oauth as never, { serverUrl: gh.resource }), 'REDIRECT');
  const agent = new UserAgent();
  let response = await agent.request(oauth.authorizationUrl!);
  let url = new URL(oauth.authorizationUrl!);
  while (response.status >= 300 && response.status < 400) {
    url = new URL(response.headers.get('location')!, url);
    response = await agent.request(url);
  }
  const html = await response.text();
  t.regex(html, /Continue with Okta/);
  t.notRegex(html, /type="password"/);
  const posted = await agent.submitForm(url.href, html, `${url.pathname}/login`, { email: ALICE.email, password: ALICE.password });
  t.is(posted.status, 403);
  t.regex(await posted.text(), /password is turned off/);

  idp.addPerson({ email: ALICE.email, email_verified: true, name: 'Alice' });
  const done = await browse(agent, url, { idpEmail: ALICE.email, stopAt: redirect });
  t.truthy(done.callback?.searchParams.get('code'), `ended on ${done.url}`);
});

test('PASSWORD_LOGIN=off without a provider, and a provider on plain http off loopback, are configuration errors', (t) => {
  t.throws(() => loadConfig({ PASSWORD_LOGIN: 'off' }), { instanceOf: ConfigError, message: /PASSWORD_LOGIN=off needs SSO_ISSUER/ });
  t.throws(() => loadConfig({ SSO_ISSUER: 'http://idp.example.com', SSO_CLIENT_ID: 'a', SSO_CLIENT_SECRET: 'b' }), { instanceOf: ConfigError, message: /must be https/ });
  t.throws(() => loadConfig({ SSO_ISSUER: 'https://idp.example.com' }), { instanceOf: ConfigError, message: /go together/ });
  for (const issuer of ['http://127.0.0.1:8080', 'http://localhost:8080/realms/acme', 'http://[::1]:8080', 'https://acme.okta.com/oauth2/default']) {
    t.is(loadConfig({ SSO_ISSUER: issuer, SSO_CLIENT_ID: 'a', SSO_CLIENT_SECRET: 'b' }).sso?.issuer, issuer);
  }
});
