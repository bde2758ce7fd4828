import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { authorizationUrl, discover, obtainCode, oauth, postForm, register } from '../helpers/oauth.ts';
import { ALICE, BOB, createTestDatabase, freePort, spawnGatehouse, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const run = promisify(execFile);
let gh: RunningGatehouse;
let as: oauth.AuthorizationServer;
test.before(async () => {
  gh = await startGatehouse();
  as = await discover(gh.issuer);
});
test.after.always(async () => gh?.close());


test('"remember my decision" spares a returning client the consent page; without it, consent is asked again', async (t) => {
  const redirect = 'http://127.0.0.1:49500/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'Returning app' });
  const agent = new UserAgent();

  await agent.authorize(await authorizationUrl(as, client.client_id, redirect), ALICE);
  const consentPages = () => agent.pages.filter((page) => page.html.includes('/consent"')).length;
  t.is(consentPages(), 1);

  await agent.authorize(await authorizationUrl(as, client.client_id, redirect), ALICE);
  t.is(consentPages(), 2, 'not remembered: asked again');

  await agent.authorize(await authorizationUrl(as, client.client_id, redirect), { ...ALICE, remember: true });
  t.is(consentPages(), 3);
  const pagesBefore = agent.pages.length;
  const callback = await agent.authorize(await authorizationUrl(as, client.client_id, redirect), ALICE);
  t.truthy(callback.searchParams.get('code'));
  t.is(agent.pages.length, pagesBefore, 'remembered: signed in and consented, no page shown at all');

  // Another person in another browser is still asked.
  const bob = new UserAgent();
  await bob.authorize(await authorizationUrl(as, client.client_id, redirect), BOB);
  t.true(bob.pages.some((page) => page.html.includes('/consent"')));
});

test('sign-in failures are generic, and repeated failures lock the account name with Retry-After', async (t) => {
  const redirect = 'http://127.0.0.1:49501/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });

  async function attempt(email: string, password: string) {
    const agent = new UserAgent();
    let response = await agent.request(await authorizationUrl(as, client.client_id, redirect));
    let url = new URL(response.headers.get('location')!, gh.url);
    response = await agent.request(url);
    const html = await response.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!;
    response = await agent.submitForm(url.href, html, action, { email, password });
    return { status: response.status, html: await response.text(), retryAfter: response.headers.get('retry-after') };
  }

  const wrong = await attempt('carol-lock@example.test', 'not the password');
  const unknown = await attempt('nobody@example.test', 'whatever-password');
  t.is(wrong.status, 401);
  t.is(unknown.status, 401);
  const message = (html: string) => /role="alert"[^>]*>([^<]+)</.exec(html)?.[1];
  t.is(message(wrong.html), message(unknown.html), 'the same words whether or not the account exists');

  const { createUser } = await import('../../src/domain/accounts.ts');
  await createUser(gh.gatehouse.store, { email: 'carol-lock@example.test', password: 'carol-password-123' });
  for (let i = 0; i < 3; i++) await attempt('carol-lock@example.test', 'still wrong');
  const locked = await attempt('carol-lock@example.test', 'still wrong');
  t.is(locked.status, 429);
  t.truthy(Number(locked.retryAfter) > 0);
  const evenRight = await attempt('carol-lock@example.test', 'carol-password-123');
  t.is(evenRight.status, 429, 'while locked, even the right password waits');
});

test('interaction forms without the CSRF token are refused', async (t) => {
  const redirect = 'http://127.0.0.1:49502/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const agent = new UserAgent();
  const first = await agent.request(await authorizationUrl(as, client.client_id, redirect));
  const interaction = new URL(first.headers.get('location')!, gh.url);
  await agent.request(interaction);
  const response = await agent.request(new URL(`${interaction.pathname}/login`, gh.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: ALICE.email, password: ALICE.password, csrf: 'forged' }),
  });
  t.is(response.status, 403);

  // Another browser (no interaction cookie) cannot submit someone else's sign-in.
  const stranger = new UserAgent();
  const html = await (await agent.request(interaction)).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  const hijack = await stranger.request(new URL(`${interaction.pathname}/login`, gh.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: ALICE.email, password: ALICE.password, csrf }),
  });
  t.is(hijack.status, 400);
});

test('the sign-in page is a real page: labelled fields, no inline script, strict CSP, escaped client names', async (t) => {
  const redirect = 'http://127.0.0.1:49503/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: '<img src=x onerror=alert(1)>' });
  const agent = new UserAgent();
  const first = await agent.request(await authorizationUrl(as, client.client_id, redirect));
  const page = await agent.request(new URL(first.headers.get('location')!, gh.url));
  const html = await page.text();
  t.regex(html, /<label for="email">/);
  t.regex(html, /<label for="password">/);
  t.notRegex(html, /<script/);
  t.notRegex(html, /<img src=x/);
  t.regex(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  t.regex(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  t.regex(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  t.is(page.headers.get('cache-control'), 'no-store');
  const css = await fetch(`${gh.url}/assets/gatehouse.css`);
  t.is(css.status, 200);
});

test('without ADMIN_EMAIL the first start prints a one-time setup link that creates the administrator once', async (t) => {
  const port = await freePort();
  const server = await spawnGatehouse({ port, env: { ADMIN_EMAIL: '', ADMIN_PASSWORD: '' } });
  t.teardown(() => server.stop());
  const link = /(http:\/\/127\.0\.0\.1:\d+\/setup\/[\w-]+)/.exec(server.output.join(''))?.[1];
  t.truthy(link, server.output.join(''));
  t.false(server.output.join('').split('\n').some((line) => line.startsWith('{') && line.includes('/setup/')), 'the link never goes into the structured log');

  const agent = new UserAgent();
  const page = await agent.request(link!);
  t.is(page.status, 200);
  const html = await page.text();
  const mismatch = await agent.submitForm(link!, html, new URL(link!).pathname, { email: 'root@example.test', password: 'root-password-1234', confirm: 'different-password' });
  t.is(mismatch.status, 400);
  const created = await agent.submitForm(link!, html, new URL(link!).pathname, { email: 'root@example.test', password: 'root-password-1234', confirm: 'root-password-1234' });
  t.is(created.status, 201);
  const reused = await agent.request(link!);
  t.is(reused.status, 404);
});

test('gatehouse user add and migrate work from the command line', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const env = { ...process.env, DATABASE_URL: database.url };
  const migrated = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'migrate'], { env });
  t.regex(migrated.stdout, /applied: 001_foundation/);
  const again = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'migrate'], { env });
  t.regex(again.stdout, /already up to date/);

  const child = execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', 'user', 'add', 'dave@example.test', '--admin', '--password-stdin'], { env });
  child.stdin!.end('dave-password-1234\n');
  const output = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
  });
  t.regex(output, /created administrator dave@example\.test/);

  const generated = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'user', 'add', 'erin@example.test'], { env });
  t.regex(generated.stdout, /password \(shown once\): \S{20,}/);
  const duplicate = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'user', 'add', 'erin@example.test'], { env }).catch((error) => error);
  t.is(duplicate.code, 1);
  t.regex(duplicate.stderr, /already exists/);
});

test('signing keys rotate without invalidating live tokens, and retired keys can be pruned', async (t) => {
  const { rotateSigningKeys, pruneRetiredKeys } = await import('../../src/domain/signing-keys.ts');
  const { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } = await import('jose');
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const port = await freePort();
  const redirect = 'http://127.0.0.1:49504/callback';

  const tokenFrom = async (server: RunningGatehouse, clientId: string) => {
    const issuerAs = await discover(server.issuer);
    const { code, verifier } = await obtainCode(issuerAs, { client_id: clientId }, new UserAgent(), ALICE, redirect);
    const result = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: clientId });
    return String(result.json.access_token);
  };

  const before = await startGatehouse({ database, port });
  const client = await register(await discover(before.issuer), { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
  const oldToken = await tokenFrom(before, client.client_id);
  const oldKid = decodeProtectedHeader(oldToken).kid!;
  const newKids = await rotateSigningKeys(before.gatehouse.store);
  t.false(newKids.includes(oldKid));
  await before.close();
  await new Promise((resolve) => setTimeout(resolve, 100));

  const after = await startGatehouse({ database, port });
  t.teardown(() => after.close());
  const jwks = createRemoteJWKSet(new URL(`${after.url}/jwks`));
  await t.notThrowsAsync(jwtVerify(oldToken, jwks, { audience: after.resource }), 'a token signed before the rotation still verifies');
  const newToken = await tokenFrom(after, client.client_id);
  t.true(newKids.includes(decodeProtectedHeader(newToken).kid!), 'new tokens use the new key');

  t.deepEqual(await pruneRetiredKeys(after.gatehouse.store, 60 * 60_000), [], 'recently retired keys are kept');
  t.true((await pruneRetiredKeys(after.gatehouse.store, 0)).includes(oldKid));
});
