/**
 * Finding 2: clients identified by a Client ID Metadata Document skip the
 * redirect-URI rules (https or loopback only) and the registration policy's
 * allowed redirect hosts, which self-registered (DCR) clients meet. And the
 * policy must hold from the first request after a start.
 */
import test from 'ava';
import { savePolicy, signedInAdmin } from '../helpers/admin-pages.ts';
import { cimdEnv, publicClientDocument, startCimdHost, type CimdHost } from '../helpers/cimd.ts';
import { authorizationUrl, discover } from '../helpers/oauth.ts';
import { ADMIN, createTestDatabase, freePort, spawnGatehouse, startGatehouse, type GatehouseProcess } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let documents: CimdHost;
let server: GatehouseProcess;
test.before(async () => {
  documents = await startCimdHost();
  server = await spawnGatehouse({ port: await freePort(), env: { ...cimdEnv(documents), LOG_LEVEL: 'warn' } });
});
test.after.always(async () => {
  await server?.stop();
  await documents?.close();
});

/**
 * Walks an authorization for this client and redirect URI as a person would
 * (sign in, allow), and says where the browser was sent back to, if anywhere.
 * An error page on the way (the request was refused) leaves `landed` undefined.
 */
async function authorizeWith(clientId: string, redirectUri: string): Promise<{ landed?: URL; refusal?: string }> {
  const url = await authorizationUrl(await discover(server.url), clientId, redirectUri);
  try {
    return { landed: await new UserAgent().authorize(url, ADMIN) };
  } catch (error) {
    return { refusal: (error as Error).message.slice(0, 300) };
  }
}

test.serial('a metadata document listing a plain-http redirect off loopback never gets a code sent there', async (t) => {
  const good = documents.publish('/clients/loopback.json', publicClientDocument('Loopback CIMD client', ['http://127.0.0.1:49820/callback']));
  const control = await authorizeWith(good, 'http://127.0.0.1:49820/callback');
  t.is(control.landed?.origin, 'http://127.0.0.1:49820', `CIMD works in this setup: ${control.refusal}`);
  t.truthy(control.landed?.searchParams.get('code'));

  const evil = documents.publish('/clients/plain-http.json', publicClientDocument('Plain http CIMD client', ['http://evil.test/cb']));
  const answer = await authorizeWith(evil, 'http://evil.test/cb');
  t.true(documents.fetched.includes('/clients/plain-http.json'), 'Gatehouse read the document');
  t.not(answer.landed?.hostname, 'evil.test', `the browser was sent to ${answer.landed?.href} with the code`);
});

test.serial('a metadata document listing a redirect host outside the allowed redirect hosts never gets a code sent there', async (t) => {
  const admin = await signedInAdmin(server.url);
  await savePolicy(admin, { redirectHosts: ['claude.ai'] });
  t.teardown(() => savePolicy(admin, {}));

  const allowed = documents.publish('/clients/claude.json', publicClientDocument('Allowed CIMD client', ['https://claude.ai/api/mcp/auth_callback']));
  const control = await authorizeWith(allowed, 'https://claude.ai/api/mcp/auth_callback');
  t.is(control.landed?.origin, 'https://claude.ai', `a host on the list works: ${control.refusal}`);

  const evil = documents.publish('/clients/evil-https.json', publicClientDocument('Evil CIMD client', ['https://evil.test/cb']));
  const answer = await authorizeWith(evil, 'https://evil.test/cb');
  t.true(documents.fetched.includes('/clients/evil-https.json'), 'Gatehouse read the document');
  t.not(answer.landed?.hostname, 'evil.test', `the browser was sent to ${answer.landed?.href} with the code`);
});

test('after a restart, the first registration with a redirect host outside the saved allow-list is refused', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const first = await startGatehouse({ database });
  await savePolicy(await signedInAdmin(first.url), { redirectHosts: ['claude.ai'] });
  await first.close();

  const restarted = await startGatehouse({ database, users: false });
  t.teardown(() => restarted.close());
  const response = await fetch(`${restarted.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: ['https://evil.test/cb'], token_endpoint_auth_method: 'none' }),
  });
  const body = (await response.json()) as { error?: string };
  t.not(response.status, 201, 'registered outside the saved allow-list');
  t.true(response.status >= 400 && response.status < 500 && typeof body.error === 'string', `${response.status} ${JSON.stringify(body)}`);
});
