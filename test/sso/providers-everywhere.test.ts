import test from 'ava';
import { signedInAdmin } from '../helpers/admin-pages.ts';
import { createTestDatabase, startGatehouse, testEngine } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

/** An identity provider added, changed or removed on one instance's admin page applies on another at once, without a restart. */
test('a provider change on one instance is what the other offers at its next sign-in', async (t) => {
  const database = await createTestDatabase(testEngine(), { migrated: true });
  const one = await startGatehouse({ database });
  const other = await startGatehouse({ database, users: false });
  t.teardown(async () => {
    await other.close();
    await one.close();
    await database.drop();
  });
  const offered = async () => (await (await new UserAgent().request(`${other.url}/login`)).text()).match(/Continue with ([^<]+)</g) ?? [];
  t.deepEqual(await offered(), []);

  const admin = await signedInAdmin(one.url);
  const provider = { id: 'acme', name: 'Acme SSO', issuer: 'https://login.acme.example', client_id: 'gatehouse', client_secret: 'secret-1', allowed_domains: 'acme.example', admin_groups: '' };
  await admin.act('/admin/providers', provider);
  t.deepEqual(await offered(), ['Continue with Acme SSO<']);

  await admin.act('/admin/providers', { ...provider, name: 'Acme Okta', client_secret: '' });
  t.deepEqual(await offered(), ['Continue with Acme Okta<'], 'changed (the secret kept)');
  const stored = await one.gatehouse.store.get<{ client_secret: string }>('SELECT client_secret FROM identity_providers WHERE id = ?', ['acme']);
  t.is(stored?.client_secret, 'secret-1');

  await admin.act('/admin/providers/acme/delete');
  t.deepEqual(await offered(), []);
  t.is((await new UserAgent().request(`${other.url}/sso/start/acme`)).status, 404);
});
