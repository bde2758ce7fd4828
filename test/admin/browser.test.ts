import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { StoreAdapter } from '../../src/oauth/adapter.ts';
import { ClientIndex } from '../../src/data/client-index.ts';
import { DESKTOP, launchChromium, newPage, PHONE, signIn } from '../helpers/browser.ts';
import { connectV1, initializeRequest, mcpPost, openSession, tokensFor, toolText } from '../helpers/mcp.ts';
import { ADMIN, ALICE, BOB, freePort, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';

const SCREENSHOTS = 'test-output/screenshots';
const HOSTILE_NAME = '<img src=x onerror=alert(1)>';

let gh: RunningGatehouse;
let browser: Browser;
test.before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  gh = await startGatehouse();
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
  await gh?.close();
});

/**
 * A full-page screenshot, tried again when Chromium's compositor cannot
 * capture one at that moment ("Unable to capture screenshot", seen on a
 * loaded machine): the picture is an artifact for people, not what is tested.
 */
async function capture(page: Page, path: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.screenshot({ path, fullPage: true });
      return;
    } catch (error) {
      if (attempt === 3 || !String((error as Error).message).includes('Unable to capture screenshot')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Fails the test if any script-driven dialog opens, or the page loads anything from another origin. */
function watch(page: Page) {
  const seen = { dialogs: [] as string[], foreignRequests: [] as string[] };
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== gh.url) seen.foreignRequests.push(request.url());
  });
  return seen;
}

const call = (token: string, sessionId?: string) =>
  mcpPost(gh.resource, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { authorization: `Bearer ${token}`, ...(sessionId ? { 'mcp-session-id': sessionId } : {}) });
/** The status /mcp answers a fresh initialize with this bearer: 200 while it works, 401 once revoked. */
const initializeStatus = async (token: string) => (await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${token}` })).status;

test.serial('an administrator signs in, finds a DCR client, opens it, revokes it, and its session and access token stop working on /mcp', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'Revocable Test Client' });
  const sessionId = await openSession(gh.resource, issued.accessToken);
  t.is((await call(issued.accessToken, sessionId)).status, 200, 'the client works before');

  const { context, page } = await newPage(browser);
  t.teardown(() => context.close());
  const seen = watch(page);
  await signIn(page, gh.url, ADMIN);
  t.is(new URL(page.url()).pathname, '/admin/clients');

  await page.getByLabel('Search').fill('revocable');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/q=revocable/);
  const row = page.locator('tbody tr', { hasText: 'Revocable Test Client' });
  await t.notThrowsAsync(row.waitFor());
  t.is(await row.locator('td[data-label="Kind"]').innerText(), 'DCR');
  t.is(await row.locator('td[data-label="Sessions"]').innerText(), '1');
  await capture(page, `${SCREENSHOTS}/desktop-clients-search.png`);

  await row.getByRole('link', { name: 'Revocable Test Client' }).click();
  await page.waitForURL(`${gh.url}/admin/clients/${issued.clientId}`);
  t.true((await page.locator('main').innerText()).includes(issued.clientId));
  t.is(await page.locator('#grants-title + * tbody tr').count(), 1, 'alice’s grant is listed');

  await page.getByLabel('Yes, revoke everything').check();
  await page.getByRole('button', { name: 'Revoke everything' }).click();
  await t.notThrowsAsync(page.getByRole('status').filter({ hasText: 'Revoked everything the client held: 1 grant(s), 1 session(s).' }).waitFor());
  t.true((await page.locator('main').innerText()).includes('No one has granted this client access.'));

  const withToken = await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${issued.accessToken}` });
  t.is(withToken.status, 401, 'the access token no longer works');
  t.regex(withToken.headers.get('www-authenticate') ?? '', /invalid_token/);
  const onSession = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { 'mcp-session-id': sessionId });
  t.is(onSession.status, 404, 'the session is gone');
  t.deepEqual(seen, { dialogs: [], foreignRequests: [] });
});

test.serial('an administrator creates a personal access token on the page and a v1 SDK client uses it', async (t) => {
  const { context, page } = await newPage(browser);
  t.teardown(() => context.close());
  await signIn(page, gh.url, ADMIN, '/admin/tokens');

  await page.getByText('New personal access token').click();
  await page.getByLabel('For user').fill(ALICE.email);
  await page.getByLabel(/^Name/).fill('n8n from the page');
  await page.getByRole('checkbox', { name: /mcp:write/ }).check();
  await page.getByLabel('Expires after').selectOption('30');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.waitForURL(`${gh.url}/admin/tokens`);
  const token = await page.getByRole('textbox', { name: 'Token' }).inputValue();
  t.regex(token, /^gatehouse_pat_/);
  await capture(page, `${SCREENSHOTS}/desktop-token-created.png`);

  const { client } = await connectV1(gh, token);
  t.teardown(() => client.close());
  const who = JSON.parse(toolText(await client.callTool({ name: 'whoami', arguments: {} })));
  t.is(who.user.email, ALICE.email);
  t.is(who.credential, 'personal access token');
  t.deepEqual([...who.scopes].sort(), ['mcp:tools', 'mcp:write']);

  await page.goto(`${gh.url}/admin/tokens`);
  const row = page.locator('tbody tr', { hasText: 'n8n from the page' });
  t.is(await row.locator('td[data-label="State"]').innerText(), 'active');
});

test.serial('a person without the admin role is refused /admin and manages their own tokens and apps on /account', async (t) => {
  await tokensFor(gh, BOB, { clientName: 'Bob’s Editor' });
  const { context, page } = await newPage(browser);
  t.teardown(() => context.close());
  await signIn(page, gh.url, BOB, '/admin/clients');
  t.is(new URL(page.url()).pathname, '/admin/clients');
  t.is(await page.locator('h1').innerText(), 'Administrators only');
  const refused = await page.goto(`${gh.url}/admin/users`);
  t.is(refused?.status(), 403);
  await capture(page, `${SCREENSHOTS}/desktop-refused.png`);

  const account = await page.goto(`${gh.url}/account`);
  t.is(account?.status(), 200);
  t.is(await page.locator('nav[aria-label="Admin sections"]').count(), 0, 'no admin navigation');
  const app = page.locator('tbody tr', { hasText: 'Bob’s Editor' });
  await t.notThrowsAsync(app.waitFor());
  await app.getByRole('button', { name: /Disconnect/ }).click();
  await t.notThrowsAsync(page.getByRole('status').filter({ hasText: 'Disconnected the app' }).waitFor());
  t.is(await page.locator('tbody tr', { hasText: 'Bob’s Editor' }).count(), 0);

  await page.getByLabel(/^Name/).fill('my script');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = await page.getByRole('textbox', { name: 'Token' }).inputValue();
  t.is(await initializeStatus(token), 200, 'the token works on /mcp');
  await page.getByRole('link', { name: 'Done' }).click();
  await page.locator('tbody tr', { hasText: 'my script' }).getByRole('button', { name: /Revoke/ }).click();
  await t.notThrowsAsync(page.getByRole('status').filter({ hasText: 'Revoked the token.' }).waitFor());
  t.is(await initializeStatus(token), 401, 'revoked on the page, refused on /mcp');
});

test.serial('a client that named itself with HTML and carries a javascript: logo renders as inert text, and no dialog fires', async (t) => {
  // A logo server on loopback: if any page ever loaded a client-chosen URL, it would see a request.
  const logoHits: string[] = [];
  const logoPort = await freePort();
  const logoServer: Server = createServer((req, res) => {
    logoHits.push(req.url ?? '');
    res.end();
  });
  await new Promise<void>((resolve) => logoServer.listen(logoPort, '127.0.0.1', resolve));
  t.teardown(() => logoServer.close());

  // Registration itself refuses a javascript: logo...
  const refused = await fetch(`${gh.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:49710/cb'], token_endpoint_auth_method: 'none', client_name: HOSTILE_NAME, logo_uri: 'javascript:alert(2)' }),
  });
  t.is(refused.status, 400);
  // ...but takes the name and web URLs, which the admin page must show without loading them.
  const registered = await fetch(`${gh.url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: ['http://127.0.0.1:49710/cb'],
      token_endpoint_auth_method: 'none',
      client_name: HOSTILE_NAME,
      logo_uri: `http://127.0.0.1:${logoPort}/logo.png`,
      client_uri: `http://127.0.0.1:${logoPort}/home`,
    }),
  });
  t.is(registered.status, 201);
  const dcrClient = ((await registered.json()) as { client_id: string }).client_id;
  // A stored client with a javascript: logo (from an older or hand-edited database) must be just as inert.
  const storedId = 'hostile-stored-client';
  const metadata = {
    client_id: storedId,
    client_name: `${HOSTILE_NAME}"><script>alert(3)</script>`,
    redirect_uris: ['javascript:alert(4)'],
    logo_uri: 'javascript:alert(5)',
    client_uri: 'javascript:alert(6)',
  };
  await new StoreAdapter('Client', gh.gatehouse.store).upsert(storedId, metadata as never);
  await new ClientIndex(gh.gatehouse.store).record(metadata, 'dcr');

  for (const viewport of [DESKTOP, PHONE]) {
    const { context, page } = await newPage(browser, viewport);
    const seen = watch(page);
    await signIn(page, gh.url, ADMIN);
    for (const path of ['/admin/clients', `/admin/clients/${dcrClient}`, '/admin/audit', `/admin/clients/${storedId}`]) {
      await page.goto(`${gh.url}${path}`);
      t.true((await page.locator('main').innerText()).includes(HOSTILE_NAME), `${path} shows the name as text`);
      t.is(await page.locator('main img, main script').count(), 0, `${path} has no element the client injected`);
    }
    const detail = await page.locator('main').innerText();
    t.true(detail.includes('javascript:alert(5)') && detail.includes('javascript:alert(4)'), 'the logo and redirect URIs are shown as text');
    t.is(await page.locator('a[href^="javascript:"]').count(), 0, 'and never linked');
    await capture(page, `${SCREENSHOTS}/${viewport === PHONE ? 'phone' : 'desktop'}-client-hostile.png`);
    t.deepEqual(seen, { dialogs: [], foreignRequests: [] });
    await context.close();
  }
  t.deepEqual(logoHits, [], 'no page ever fetched the client’s logo or home page');
});

test.serial('a form posted from another origin is refused, even carrying a valid CSRF token and the admin’s cookie', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'Target Client' });
  const { context, page } = await newPage(browser);
  t.teardown(() => context.close());
  await signIn(page, gh.url, ADMIN);
  await page.goto(`${gh.url}/admin/clients/${issued.clientId}`);
  const leakedCsrf = await page.locator('input[name="csrf"]').first().inputValue();

  // Same site (127.0.0.1), another origin (port): the SameSite=Lax cookie does go along.
  const attackerPort = await freePort();
  const attacker = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><form method="post" action="${gh.url}/admin/clients/${issued.clientId}/revoke">
      <input type="hidden" name="csrf" value="${leakedCsrf}"><input type="hidden" name="confirm" value="yes">
      <button type="submit">Win a prize</button></form>`);
  });
  await new Promise<void>((resolve) => attacker.listen(attackerPort, '127.0.0.1', resolve));
  t.teardown(() => attacker.close());

  await page.goto(`http://127.0.0.1:${attackerPort}/`);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/revoke')), page.getByRole('button', { name: 'Win a prize' }).click()]);
  t.is(response.status(), 403);
  t.is(await page.locator('h1').innerText(), 'Request refused');
  t.is(await initializeStatus(issued.accessToken), 200, 'the client still works');
});

test.serial('screenshots of the main pages at desktop and phone widths, none wider than the screen', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'Claude' });
  await openSession(gh.resource, issued.accessToken);
  const pages: [string, string][] = [
    ['clients', '/admin/clients'],
    ['client', `/admin/clients/${issued.clientId}`],
    ['client-new', '/admin/clients/new'],
    ['sessions', '/admin/sessions'],
    ['users', '/admin/users'],
    ['tokens', '/admin/tokens'],
    ['audit', '/admin/audit'],
    ['policy', '/admin/policy'],
    ['account', '/account'],
  ];
  for (const [label, viewport] of [['desktop', DESKTOP], ['phone', PHONE]] as const) {
    const { context, page } = await newPage(browser, viewport);
    const seen = watch(page);
    await page.goto(`${gh.url}/login`);
    await capture(page, `${SCREENSHOTS}/${label}-login.png`);
    await signIn(page, gh.url, ADMIN);
    for (const [name, path] of pages) {
      const response = await page.goto(`${gh.url}${path}`);
      t.is(response?.status(), 200, path);
      await capture(page, `${SCREENSHOTS}/${label}-${name}.png`);
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
      t.true(overflow <= 0, `${label} ${path} scrolls sideways by ${overflow}px`);
    }
    t.deepEqual(seen, { dialogs: [], foreignRequests: [] });
    await context.close();
  }
});
