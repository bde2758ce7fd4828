/**
 * Finding 16: while the database is down, every request that needs it ended
 * in a 500 ("internal error"), which clients treat as a bug rather than as
 * "try again shortly". Fixed: 503 with `Retry-After`, in each protocol's own
 * error shape (JSON-RPC at /mcp, OAuth JSON at /token, a page for people),
 * never a 500; and once the database is back, everything carries on without a
 * restart, on the same sessions, with nothing lost.
 *
 * The outage itself is tested only on the PostgreSQL run: it needs a database
 * server the test can stop and start (its own, see postgres-server.ts). An
 * SQLite file has no "server down"; its closest real equivalent is another
 * process (a backup, the sqlite3 shell) holding the database locked, so that
 * writes fail with SQLITE_BUSY once the busy timeout is over: the SQLite run
 * tests that instead (registerLockedDatabaseTests), not the outage.
 */
import test from 'ava';
import { signedInAdmin, type AdminAgent } from '../helpers/admin-pages.ts';
import { ClientV1, ClientV2, initializeRequest, mcpPost, modernPost, openSession, StreamableV1, StreamableV2, toolText } from '../helpers/mcp.ts';
import { authorizeAndExchange, discover, postForm, register, type Tokens } from '../helpers/oauth.ts';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server.ts';
import { openSql, type Sql } from '../helpers/sql.ts';
import { ALICE, startGatehouse, testEngine, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

if (testEngine() === 'postgres') registerOutageTests();
else registerLockedDatabaseTests();

function registerOutageTests() {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const CALL_TIMEOUT = { timeout: 5000 };

  let database: PostgresServer;
  let gh: RunningGatehouse;
  let tokens: Tokens;
  let client: Record<string, unknown> & { client_id: string };
  let admin: AdminAgent;
  let loginPage: { agent: UserAgent; csrf: string };
  let legacy: { client: ClientV1; transport: StreamableV1 };
  let modern: ClientV2;
  let legacySessionId: string | undefined;
  /** Every answer the SDK clients received, through the whole run. */
  const seen: { method: string; status: number }[] = [];
  /** The looping clients' calls: when, which, and whether they succeeded. */
  const calls: { who: 'legacy' | 'modern'; at: number; ok: boolean }[] = [];
  let looping = true;
  let loop: Promise<void> | undefined;

  const recordingFetch = async (url: string | URL | Request, init?: RequestInit) => {
    const response = await fetch(url, init);
    seen.push({ method: init?.method ?? 'GET', status: response.status });
    return response;
  };

  test.before(async () => {
    database = await startPostgresServer();
    gh = await startGatehouse({ env: { DATABASE_URL: database.url, GRANT_CHECK_CACHE: '1s', LOG_LEVEL: 'warn' } });
    const as = await discover(gh.issuer);
    const redirect = 'http://127.0.0.1:49870/callback';
    client = (await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'Outage survivor' })) as never;
    tokens = await authorizeAndExchange(as, client as never, new UserAgent(), ALICE, { redirectUri: redirect, resource: gh.resource });
    admin = await signedInAdmin(gh.url);
    // The sign-in form, fetched while the database is up, to be posted during the outage.
    const agent = new UserAgent();
    const html = await (await agent.request(`${gh.url}/login`)).text();
    loginPage = { agent, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '' };

    const headers = { Authorization: `Bearer ${tokens.access_token}` };
    const legacyTransport = new StreamableV1(new URL(gh.resource), { requestInit: { headers }, fetch: recordingFetch });
    const legacyClient = new ClientV1({ name: 'outage-legacy', version: '1.0.0' });
    await legacyClient.connect(legacyTransport);
    legacy = { client: legacyClient, transport: legacyTransport };
    legacySessionId = legacyTransport.sessionId;
    await legacyClient.callTool({ name: 'notes_add', arguments: { text: 'written before the outage' } });
    modern = new ClientV2({ name: 'outage-modern', version: '2.0.0' }, { capabilities: {}, versionNegotiation: { mode: 'auto' } });
    await modern.connect(new StreamableV2(new URL(gh.resource), { requestInit: { headers }, fetch: recordingFetch } as never));

    loop = (async () => {
      while (looping) {
        for (const who of ['legacy', 'modern'] as const) {
          const ok = await (who === 'legacy'
            ? legacy.client.callTool({ name: 'whoami', arguments: {} }, undefined, CALL_TIMEOUT)
            : modern.callTool({ name: 'whoami', arguments: {} }, CALL_TIMEOUT)
          ).then(
            (result) => !result.isError,
            () => false,
          );
          calls.push({ who, at: Date.now(), ok });
        }
        await sleep(250);
      }
    })();
  });

  test.after.always(async () => {
    looping = false;
    await loop;
    await legacy?.client.close().catch(() => {});
    await modern?.close().catch(() => {});
    await gh?.close();
    await database?.close();
  });

  let outage: Promise<void> | undefined;
  /** Stops PostgreSQL (once) and waits until Gatehouse has noticed and its caches no longer stand in for it. */
  const databaseDown = () =>
    (outage ??= (async () => {
      await database.stop();
      const deadline = Date.now() + 15_000;
      while ((await fetch(`${gh.url}/readyz`)).status !== 503 && Date.now() < deadline) await sleep(100);
      // Past GRANT_CHECK_CACHE, so every request below needs the database itself (a deliberate time bound).
      await sleep(1500);
    })());
  let recovery: Promise<void> | undefined;
  const databaseBack = () =>
    (recovery ??= (async () => {
      await databaseDown();
      await database.start();
    })());

  const retryAfter = (headers: Headers) => Number(headers.get('retry-after'));

  test.serial('while PostgreSQL is down, /readyz answers 503', async (t) => {
    await databaseDown();
    const ready = await fetch(`${gh.url}/readyz`);
    t.is(ready.status, 503);
  });

  test.serial('while PostgreSQL is down, MCP requests get 503 with Retry-After and a JSON-RPC error (legacy session and stateless)', async (t) => {
    await databaseDown();
    const bearer = { authorization: `Bearer ${tokens.access_token}` };
    const answers = {
      'legacy session call': await mcpPost(gh.resource, { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { ...bearer, 'mcp-session-id': legacySessionId ?? '' }),
      'legacy initialize': await mcpPost(gh.resource, initializeRequest(), bearer),
      'stateless 2026-07-28 call': await modernPost(gh.resource, { id: 12, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, bearer),
    };
    for (const [what, answer] of Object.entries(answers)) {
      t.is(answer.status, 503, `${what}: ${answer.status} ${answer.text.slice(0, 160)}`);
      t.true(retryAfter(answer.headers) > 0, `${what}: Retry-After`);
      t.is(answer.json?.jsonrpc, '2.0', `${what}: a JSON-RPC body`);
      t.is(typeof answer.json?.error?.code, 'number', `${what}: a JSON-RPC error`);
    }
  });

  test.serial('while PostgreSQL is down, POST /token gets 503 with Retry-After and OAuth JSON temporarily_unavailable', async (t) => {
    await databaseDown();
    const answer = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: client.client_id });
    t.is(answer.status, 503, `${answer.status} ${answer.text.slice(0, 160)}`);
    t.true(retryAfter(answer.headers) > 0, 'Retry-After');
    t.is(answer.json.error, 'temporarily_unavailable');
  });

  test.serial('while PostgreSQL is down, pages (POST /login, /admin) get 503 with Retry-After and an HTML page', async (t) => {
    await databaseDown();
    const login = await loginPage.agent.request(`${gh.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.url },
      body: new URLSearchParams({ csrf: loginPage.csrf, email: ALICE.email, password: ALICE.password }),
    });
    const adminPage = await admin.request(`${gh.url}/admin/clients`);
    for (const [what, response] of [
      ['POST /login', login],
      ['GET /admin/clients', adminPage],
    ] as const) {
      const html = await response.text();
      t.is(response.status, 503, `${what}: ${response.status} ${html.slice(0, 120)}`);
      t.true(retryAfter(response.headers) > 0, `${what}: Retry-After`);
      t.regex(response.headers.get('content-type') ?? '', /text\/html/, `${what}: a page`);
      t.regex(html, /<!doctype html>/i, `${what}: a page`);
    }
  });

  test.serial('once PostgreSQL is back, the clients’ calls succeed again within seconds, on their same sessions, without restarting Gatehouse', async (t) => {
    await databaseBack();
    const back = Date.now();
    const deadline = back + 20_000;
    const recovered = (who: 'legacy' | 'modern') => calls.some((call) => call.who === who && call.ok && call.at > back);
    while (!(recovered('legacy') && recovered('modern')) && Date.now() < deadline) await sleep(100);
    t.true(recovered('legacy'), 'the legacy client’s calls succeed again');
    t.true(recovered('modern'), 'the stateless client’s calls succeed again');
    const firstSuccess = (who: 'legacy' | 'modern') => Math.min(...calls.filter((call) => call.who === who && call.ok && call.at > back).map((call) => call.at)) - back;
    t.log(`first successful call after the start: legacy ${firstSuccess('legacy')} ms, stateless ${firstSuccess('modern')} ms`);
    t.is(legacy.transport.sessionId, legacySessionId, 'the legacy client is still on the session it opened before the outage');
    const onSession = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 21, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { 'mcp-session-id': legacySessionId ?? '' });
    t.is(onSession.status, 200, `the session answers (with its bound credential): ${onSession.text.slice(0, 160)}`);
    t.true(calls.some((call) => !call.ok), 'the outage was felt by the looping clients');
  });

  test.serial('nothing written before the outage is lost: the note, the refresh token and grant, the client registration', async (t) => {
    await databaseBack();
    const deadline = Date.now() + 20_000;
    while ((await fetch(`${gh.url}/readyz`)).status !== 200 && Date.now() < deadline) await sleep(100);
    const notes = await legacy.client.callTool({ name: 'notes_list', arguments: {} }, undefined, CALL_TIMEOUT);
    t.regex(toolText(notes as never), /written before the outage/);
    const refreshed = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: client.client_id });
    t.is(refreshed.status, 200, refreshed.text.slice(0, 160));
    const registration = await fetch(String(client.registration_client_uri), { headers: { authorization: `Bearer ${String(client.registration_access_token)}` } });
    t.is(registration.status, 200, 'the client registration is still there (RFC 7592 read)');
  });

  test.serial('no request during the whole run was answered 500', async (t) => {
    await databaseBack();
    const failures = seen.filter((answer) => answer.status >= 500 && answer.status !== 503);
    t.deepEqual(failures, [], `the SDK clients got ${failures.length} answers with a 5xx other than 503`);
    t.true(seen.some((answer) => answer.status === 503), 'the SDK clients were told to come back later (503) during the outage');
  });
}

/** SQLite: the database locked by another process, the closest real equivalent of a database that is down. */
function registerLockedDatabaseTests() {
  let gh: RunningGatehouse;
  let tokens: Tokens;
  let clientId: string;
  let sessionId: string;
  let loginPage: { agent: UserAgent; csrf: string };
  let lockHolder: Sql;
  let locked: Promise<void> | undefined;
  let released: Promise<void> | undefined;

  test.before(async () => {
    gh = await startGatehouse({ env: { GRANT_CHECK_CACHE: '1s', LOG_LEVEL: 'warn' } });
    const as = await discover(gh.issuer);
    const redirect = 'http://127.0.0.1:49871/callback';
    const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'Lock survivor' });
    clientId = client.client_id;
    tokens = await authorizeAndExchange(as, client, new UserAgent(), ALICE, { redirectUri: redirect, resource: gh.resource });
    sessionId = await openSession(gh.resource, tokens.access_token);
    const agent = new UserAgent();
    const html = await (await agent.request(`${gh.url}/login`)).text();
    loginPage = { agent, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '' };
    lockHolder = openSql(gh.databaseUrl);
  });
  test.after.always(async () => {
    await lockHolder?.exec('ROLLBACK').catch(() => {});
    await lockHolder?.close();
    await gh?.close();
  });

  /** Another connection takes the database's write lock and keeps it (once). */
  const databaseLocked = () => (locked ??= lockHolder.exec('BEGIN EXCLUSIVE'));
  const lockReleased = () =>
    (released ??= (async () => {
      await databaseLocked();
      await lockHolder.exec('ROLLBACK');
    })());
  const retryAfter = (headers: Headers) => Number(headers.get('retry-after'));

  test.serial('while another process holds the SQLite database locked, an MCP initialize gets 503 with Retry-After and a JSON-RPC error, not 500', async (t) => {
    await databaseLocked();
    const answer = await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${tokens.access_token}` });
    t.is(answer.status, 503, `${answer.status} ${answer.text.slice(0, 160)}`);
    t.true(retryAfter(answer.headers) > 0, 'Retry-After');
    t.is(answer.json?.jsonrpc, '2.0');
    t.is(typeof answer.json?.error?.code, 'number');
  });

  test.serial('while the SQLite database is locked, POST /token gets 503 with Retry-After and OAuth JSON temporarily_unavailable', async (t) => {
    await databaseLocked();
    const answer = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: clientId });
    t.is(answer.status, 503, `${answer.status} ${answer.text.slice(0, 160)}`);
    t.true(retryAfter(answer.headers) > 0, 'Retry-After');
    t.is(answer.json.error, 'temporarily_unavailable');
  });

  test.serial('while the SQLite database is locked, POST /login gets 503 with Retry-After and an HTML page', async (t) => {
    await databaseLocked();
    const response = await loginPage.agent.request(`${gh.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gh.url },
      body: new URLSearchParams({ csrf: loginPage.csrf, email: ALICE.email, password: ALICE.password }),
    });
    const html = await response.text();
    t.is(response.status, 503, `${response.status} ${html.slice(0, 120)}`);
    t.true(retryAfter(response.headers) > 0, 'Retry-After');
    t.regex(response.headers.get('content-type') ?? '', /text\/html/);
  });

  test.serial('once the lock is released, the session, the refresh token and sign-in work again without a restart', async (t) => {
    await lockReleased();
    const onSession = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'whoami', arguments: {} } }, { 'mcp-session-id': sessionId });
    t.is(onSession.status, 200, onSession.text.slice(0, 160));
    const refreshed = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: clientId });
    t.is(refreshed.status, 200, refreshed.text.slice(0, 160));
    const signIn = await new UserAgent().request(`${gh.url}/login`);
    t.is(signIn.status, 200);
  });
}
