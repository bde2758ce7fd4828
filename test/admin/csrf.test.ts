import test from 'ava';
import { findUserByEmail } from '../../src/domain/accounts.ts';
import { issuePersonalToken } from '../../src/domain/personal-tokens.ts';
import { hashSessionId } from '../../src/mcp/sessions/registry.ts';
import { openSession, tokensFor } from '../helpers/mcp.ts';
import { ADMIN, ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { signedIn, type AdminAgent } from './admin-agent.ts';

let gh: RunningGatehouse;
let admin: AdminAgent;
let alice: AdminAgent;
/** Every state-changing route of the admin and account pages, with a real target each. */
let routes: { path: string; agent: () => AdminAgent; fields: Record<string, string> }[];

const snapshot = async () => {
  const store = gh.gatehouse.store;
  return {
    models: await store.all('SELECT model, id FROM oidc_models ORDER BY model, id'),
    clients: await store.all('SELECT client_id FROM client_index ORDER BY client_id'),
    sessions: await store.all('SELECT id_hash FROM mcp_sessions ORDER BY id_hash'),
    tokens: await store.all('SELECT id, revoked_at FROM personal_access_tokens ORDER BY id'),
    users: await store.all('SELECT id, is_admin, disabled_at, password_hash FROM users ORDER BY id'),
    settings: await store.all('SELECT key, value FROM settings ORDER BY key'),
    adminSessions: await store.all('SELECT id_hash FROM admin_sessions ORDER BY id_hash'),
  };
};

test.before(async () => {
  gh = await startGatehouse();
  admin = await signedIn(gh.url, ADMIN);
  alice = await signedIn(gh.url, ALICE);
  const issued = await tokensFor(gh, ALICE, { clientName: 'CSRF target' });
  const sessionHash = hashSessionId(await openSession(gh.resource, issued.accessToken));
  const grantId = (await gh.gatehouse.store.get<{ grant_id: string }>("SELECT grant_id FROM oidc_models WHERE model = 'Grant' AND client_id = ?", [issued.clientId]))!.grant_id;
  const aliceUser = (await findUserByEmail(gh.gatehouse.store, ALICE.email))!;
  const pat = await issuePersonalToken(gh.gatehouse.store, { ownerId: aliceUser.id, name: 'target', scopes: ['mcp:tools'], expiresAt: null }, { actor: 'test' });
  const asAdmin = () => admin;
  const asAlice = () => alice;
  const client = `/admin/clients/${issued.clientId}`;
  const user = `/admin/users/${aliceUser.id}`;
  routes = [
    { path: '/logout', agent: asAdmin, fields: {} },
    { path: '/admin/clients', agent: asAdmin, fields: { name: 'Forged', redirect_uris: 'https://evil.example/cb', type: 'confidential' } },
    { path: `${client}/revoke`, agent: asAdmin, fields: { confirm: 'yes' } },
    { path: `${client}/delete`, agent: asAdmin, fields: { confirm: 'yes' } },
    { path: '/admin/clients/cleanup', agent: asAdmin, fields: { days: '1', confirm: 'yes' } },
    { path: `/admin/grants/${grantId}/revoke`, agent: asAdmin, fields: {} },
    { path: '/admin/policy', agent: asAdmin, fields: { retention_days: '1' } },
    { path: '/admin/tokens', agent: asAdmin, fields: { user: ALICE.email, name: 'forged', expires: 'never' } },
    { path: `/admin/tokens/${pat.record.id}/revoke`, agent: asAdmin, fields: {} },
    { path: `/admin/sessions/${sessionHash}/end`, agent: asAdmin, fields: {} },
    { path: '/admin/users', agent: asAdmin, fields: { email: 'forged@example.test', admin: 'on', password: 'forged-password-123' } },
    { path: `${user}/disable`, agent: asAdmin, fields: { confirm: 'yes' } },
    { path: `${user}/enable`, agent: asAdmin, fields: {} },
    { path: `${user}/admin`, agent: asAdmin, fields: { admin: 'on' } },
    { path: `${user}/password`, agent: asAdmin, fields: {} },
    { path: '/account/tokens', agent: asAlice, fields: { name: 'forged', expires: 'never' } },
    { path: `/account/tokens/${pat.record.id}/revoke`, agent: asAlice, fields: {} },
    { path: `/account/apps/${grantId}/revoke`, agent: asAlice, fields: {} },
  ];
});
test.after.always(async () => gh?.close());

test.serial('every state-changing form is refused without this session’s CSRF token, and nothing changes', async (t) => {
  const before = await snapshot();
  for (const route of routes) {
    const agent = route.agent();
    const other = agent === admin ? alice : admin;
    t.is((await agent.post(route.path, route.fields, { csrf: null })).status, 403, `${route.path} without a token`);
    t.is((await agent.post(route.path, route.fields, { csrf: 'forged' })).status, 403, `${route.path} with a made-up token`);
    t.is((await agent.post(route.path, route.fields, { csrf: other.csrf })).status, 403, `${route.path} with another session's token`);
  }
  t.deepEqual(await snapshot(), before);
});

test.serial('every state-changing form is refused when the browser says it came from another origin, even with the right token', async (t) => {
  const before = await snapshot();
  const foreign: Record<string, string>[] = [
    { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' },
    { origin: 'https://evil.example', 'sec-fetch-site': '' },
    { origin: 'null', 'sec-fetch-site': 'cross-site' },
    { origin: 'null', 'sec-fetch-site': '' },
    { origin: '', 'sec-fetch-site': 'cross-site' },
  ];
  for (const route of routes) {
    for (const headers of foreign) {
      const sent = Object.fromEntries(Object.entries(headers).filter(([, value]) => value));
      const answer = await route.agent().request(new URL(route.path, gh.url), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...sent },
        body: new URLSearchParams({ csrf: route.agent().csrf, ...route.fields }),
      });
      t.is(answer.status, 403, `${route.path} from ${JSON.stringify(sent)}`);
    }
  }
  t.deepEqual(await snapshot(), before);
});

test.serial('the same form from our own page goes through', async (t) => {
  // What Chromium sends from our no-referrer pages: Origin null, Sec-Fetch-Site same-origin.
  const saved = await admin.post('/admin/policy', { dcr: 'on', cimd: 'on', retention_days: '7' });
  t.is(saved.status, 303);
  // And what a browser that keeps the Origin sends.
  const again = await admin.post('/admin/policy', { dcr: 'on', cimd: 'on', retention_days: '8' }, { headers: { origin: gh.url, 'sec-fetch-site': 'same-origin' } });
  t.is(again.status, 303);
  const { value } = (await gh.gatehouse.store.get<{ value: string }>("SELECT value FROM settings WHERE key = 'registration_policy'"))!;
  t.is(JSON.parse(value).staleClientRetentionDays, 8);
});
