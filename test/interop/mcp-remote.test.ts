/**
 * mcp-remote, the stdio bridge Claude Desktop and others run as
 * `npx mcp-remote https://host/mcp`, against a real Gatehouse: its own OAuth
 * client (discovery, registration, PKCE, its loopback callback), a headless
 * Chromium in place of the person's browser, and JSON-RPC over its stdio as
 * the host application speaks it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import test from 'ava';
import { findUserByEmail } from '../../src/domain/accounts.ts';
import { issuePersonalToken } from '../../src/domain/personal-tokens.ts';
import { ensureChromium } from '../helpers/browser.ts';
import { ALICE, BOB, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { StdioClient } from '../helpers/stdio-client.ts';

const BROWSER_SCRIPT = resolve('test/interop/browser.mjs');

let gh: RunningGatehouse;
test.before(async () => {
  // $BROWSER (browser.mjs) launches the Chromium named by CHROMIUM_PATH, which this leaves in the environment.
  await ensureChromium();
  gh = await startGatehouse();
});
test.after.always(async () => gh?.close());

interface Bridge {
  client: StdioClient;
  /** What the browser script did, one line per step ('' when it never ran). */
  browserLog(): string;
}

/**
 * The browser script's log once it has closed the browser: mcp-remote goes on
 * as soon as its callback has the code, which may be before the script has
 * written its last lines.
 */
async function finishedBrowserLog(bridge: Bridge): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (!bridge.browserLog().includes('browser closed') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return bridge.browserLog();
}

/** Starts `npx mcp-remote <url> …args` the way a desktop host does, with a browser that signs in as `person`. */
function startMcpRemote(configDir: string, args: string[], person = ALICE): Bridge {
  const browserLog = join(configDir, 'browser.log');
  const client = StdioClient.start('npx', ['--no-install', 'mcp-remote', gh.resource, ...args], {
    ...process.env,
    // No desktop here: mcp-remote's opener falls back to $BROWSER.
    DISPLAY: '',
    WAYLAND_DISPLAY: '',
    BROWSER: BROWSER_SCRIPT,
    BROWSER_LOG: browserLog,
    SIGN_IN_EMAIL: person.email,
    SIGN_IN_PASSWORD: person.password,
    MCP_REMOTE_CONFIG_DIR: configDir,
  });
  return { client, browserLog: () => (existsSync(browserLog) ? readFileSync(browserLog, 'utf8') : '') };
}

async function handshake(client: StdioClient, protocolVersion = '2025-06-18') {
  const init = await client.request('initialize', { protocolVersion, capabilities: {}, clientInfo: { name: 'claude-desktop-like-host', version: '1.0.0' } });
  client.notify('notifications/initialized');
  return init;
}

async function whoami(client: StdioClient) {
  const answer = await client.request('tools/call', { name: 'whoami', arguments: {} });
  if (!answer.result) throw new Error(`whoami failed: ${JSON.stringify(answer)}\n${client.log}`);
  return JSON.parse(answer.result.content[0].text);
}

// mcp-remote's token store for the two tests that share a sign-in; it holds live tokens, so it goes afterwards.
const sessionDir = mkdtempSync(join(tmpdir(), 'mcp-remote-oauth-'));
test.after.always(() => rmSync(sessionDir, { recursive: true, force: true }));

test.serial('mcp-remote signs in through a real browser (Chromium via $BROWSER), then lists and calls tools over stdio', async (t) => {
  const bridge = startMcpRemote(sessionDir, []);
  const { client } = bridge;
  t.teardown(() => client.close());
  const init = await handshake(client);
  t.truthy(init.result, `initialize answered: ${JSON.stringify(init)}\n${client.log}`);
  t.is(init.result.serverInfo.name, 'gatehouse');

  const listed = await client.request('tools/list', {});
  const names = listed.result.tools.map((tool: { name: string }) => tool.name);
  t.true(names.includes('whoami'));
  t.true(names.includes('notes_add'));

  const who = await whoami(client);
  t.is(who.user.email, ALICE.email);
  t.is(who.client.name, 'MCP CLI Proxy', 'the client mcp-remote registered for itself');
  t.is(who.credential, 'OAuth access token');
  t.true(who.scopes.includes('mcp:tools'));
  t.is(who.era, 'legacy');

  const steps = await finishedBrowserLog(bridge);
  t.regex(steps, /open \/authorize/);
  t.regex(steps, /signed in/);
  t.regex(steps, /landed on http:\/\/localhost:\d+\/oauth\/callback/, 'the redirect reached mcp-remote\'s own callback');
  t.is(await client.close(), 0);
});

test.serial('a second mcp-remote start reuses the tokens it stored: no browser, and --protocol auto speaks 2026-07-28', async (t) => {
  const before = readFileSync(join(sessionDir, 'browser.log'), 'utf8');
  const { client, browserLog } = startMcpRemote(sessionDir, ['--protocol', 'auto']);
  t.teardown(() => client.close());
  const init = await handshake(client);
  t.truthy(init.result, JSON.stringify(init));
  const who = await whoami(client);
  t.is(who.user.email, ALICE.email);
  t.is(who.era, 'modern', 'mcp-remote found server/discover and bridged the old host to the new protocol');
  t.is(who.protocolVersion, '2026-07-28');
  t.is(browserLog(), before, 'no browser was opened');
  t.is(await client.close(), 0);
});

test('mcp-remote with --header "Authorization: Bearer <personal access token>" needs no browser at all', async (t) => {
  const bob = await findUserByEmail(gh.gatehouse.store, BOB.email);
  const { token } = await issuePersonalToken(gh.gatehouse.store, { ownerId: bob!.id, name: 'desktop bridge', scopes: ['mcp:tools', 'mcp:write'], expiresAt: null }, { actor: 'test' });
  const configDir = mkdtempSync(join(tmpdir(), 'mcp-remote-pat-'));
  t.teardown(() => rmSync(configDir, { recursive: true, force: true }));
  const { client, browserLog } = startMcpRemote(configDir, ['--header', `Authorization: Bearer ${token}`], BOB);
  t.teardown(() => client.close());
  const init = await handshake(client, '2025-11-25');
  t.truthy(init.result, JSON.stringify(init));
  t.is(init.result.protocolVersion, '2025-11-25');

  const who = await whoami(client);
  t.is(who.user.email, BOB.email);
  t.is(who.credential, 'personal access token');
  t.is(who.client.name, 'personal access token "desktop bridge"');

  const added = await client.request('tools/call', { name: 'notes_add', arguments: { text: 'written through mcp-remote' } });
  t.falsy(added.result.isError, JSON.stringify(added));
  const found = await client.request('tools/call', { name: 'notes_search', arguments: { query: 'through mcp-remote' } });
  t.is(JSON.parse(found.result.content[0].text).notes.length, 1);
  t.is(browserLog(), '', 'the browser never opened');
  t.false(client.log.includes(token), 'mcp-remote did not print the token');
  t.is(await client.close(), 0);
});
