import test from 'ava';
import { discover, insecure, oauth, authorizeAndExchange, register } from '../helpers/oauth.ts';
import { ALICE, createTestDatabase, freePort, startGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

test('clients, refresh tokens and signing keys survive a restart on the same database', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const port = await freePort();
  const redirect = 'http://127.0.0.1:49300/callback';

  const first = await startGatehouse({ database, port });
  const as = await discover(first.issuer);
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'Survivor' });
  const tokens = await authorizeAndExchange(as, client, new UserAgent(), ALICE, { redirectUri: redirect, resource: first.resource });
  const jwksBefore = await fetch(as.jwks_uri!).then((r) => r.json());
  await first.close();
  // Let the client notice its keep-alive sockets were closed by the old process.
  await new Promise((resolve) => setTimeout(resolve, 100));

  const second = await startGatehouse({ database, port });
  t.teardown(() => second.close());
  t.deepEqual(await fetch(as.jwks_uri!).then((r) => r.json()), jwksBefore, 'the same signing keys');

  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, insecure),
  );
  t.truthy(refreshed.access_token);

  // The client registered before the restart can still run a whole new flow.
  const again = await authorizeAndExchange(as, client, new UserAgent(), ALICE, { redirectUri: redirect, resource: second.resource });
  t.truthy(again.access_token);
});
