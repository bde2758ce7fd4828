/**
 * Finding 9: sessions of the old HTTP+SSE transport live in a registry of
 * their own that revocation never reaches: a revoked client or a disabled
 * person keeps an open /sse stream (and whatever the server pushes on it)
 * until the client happens to POST again. And revocation ran statement by
 * statement: a failure half-way left access half taken away.
 */
import test from 'ava';
import { addPersonOnAdminPage, disableOnAdminPage, revokeClientOnAdminPage, signedInAdmin } from '../helpers/admin-pages.ts';
import { describeRun, gatehouseCli } from '../helpers/cli.ts';
import { initializeRequest, mcpPost, openSession, tokensFor } from '../helpers/mcp.ts';
import { discover, obtainCode, postForm, register } from '../helpers/oauth.ts';
import { endsWithin, openLegacySse, type LegacySseStream } from '../helpers/sse.ts';
import { openSql } from '../helpers/sql.ts';
import { ALICE, startGatehouse, testEngine, type RunningGatehouse } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse({ env: { GRANT_CHECK_CACHE: '1s' } });
});
test.after.always(async () => gh?.close());

const STREAM_END_MS = 5000;

/** An open /sse stream for this token that has announced its endpoint. */
async function openStream(t: import('ava').ExecutionContext, token: string): Promise<LegacySseStream> {
  const stream = await openLegacySse(gh.url, token);
  t.teardown(() => stream.close());
  t.is(stream.status, 200);
  await stream.endpoint;
  t.false(stream.isEnded, 'the stream is open');
  return stream;
}

test('revoking a client on the admin page ends its open /sse streams without any further request', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'SSE client revoked on the page' });
  const stream = await openStream(t, issued.accessToken);
  const page = await revokeClientOnAdminPage(await signedInAdmin(gh.url), issued.clientId);
  t.is(page.status, 303);
  t.true(await endsWithin(stream, STREAM_END_MS), `the /sse stream of the revoked client is still open after ${STREAM_END_MS} ms`);
});

test('disabling a person on the admin page ends their open /sse streams without any further request', async (t) => {
  const admin = await signedInAdmin(gh.url);
  const person = await addPersonOnAdminPage(admin, 'sse-disabled');
  const issued = await tokensFor(gh, person, { clientName: 'SSE client of a disabled person' });
  const stream = await openStream(t, issued.accessToken);
  t.is((await disableOnAdminPage(admin, person.email)).status, 303);
  t.true(await endsWithin(stream, STREAM_END_MS), `the /sse stream of the disabled person is still open after ${STREAM_END_MS} ms`);
});

test('`gatehouse client revoke <id>` ends the client’s open /sse streams on the running server', async (t) => {
  const issued = await tokensFor(gh, ALICE, { clientName: 'SSE client revoked from the CLI' });
  const stream = await openStream(t, issued.accessToken);
  const result = await gatehouseCli(gh.databaseUrl, ['client', 'revoke', issued.clientId]);
  t.is(result.code, 0, `client revoke: ${describeRun(result)}`);
  t.true(await endsWithin(stream, STREAM_END_MS), `the /sse stream of the revoked client is still open after ${STREAM_END_MS} ms`);
});

test('`gatehouse user disable <email>` ends the person’s open /sse streams on the running server', async (t) => {
  const person = await addPersonOnAdminPage(await signedInAdmin(gh.url), 'sse-cli-disabled');
  const issued = await tokensFor(gh, person, { clientName: 'SSE client of a person disabled from the CLI' });
  const stream = await openStream(t, issued.accessToken);
  const result = await gatehouseCli(gh.databaseUrl, ['user', 'disable', person.email]);
  t.is(result.code, 0, `user disable: ${describeRun(result)}`);
  t.true(await endsWithin(stream, STREAM_END_MS), `the /sse stream of the disabled person is still open after ${STREAM_END_MS} ms`);
});

/** A trigger on the test's own database that makes deleting a remembered consent fail. */
const FAILING_DELETE =
  testEngine() === 'postgres'
    ? {
        install: `CREATE FUNCTION refuse_consent_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$;
                  CREATE TRIGGER refuse_consent_delete BEFORE DELETE ON remembered_consents FOR EACH ROW EXECUTE FUNCTION refuse_consent_delete();`,
        drop: 'DROP TRIGGER refuse_consent_delete ON remembered_consents; DROP FUNCTION refuse_consent_delete();',
      }
    : {
        install: "CREATE TRIGGER refuse_consent_delete BEFORE DELETE ON remembered_consents BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        drop: 'DROP TRIGGER refuse_consent_delete;',
      };

test.serial('revoking a client is all or nothing: when one step fails, the page says so (not a 500) and nothing was taken away', async (t) => {
  const sql = openSql(gh.databaseUrl);
  t.teardown(() => sql.close());
  // Alice allows a client and ticks "remember", so revoking it has a remembered consent to delete.
  const as = await discover(gh.issuer);
  const redirect = 'http://127.0.0.1:49830/callback';
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'Half-revoked client' });
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), { ...ALICE, remember: true }, redirect, { resource: gh.resource });
  const exchanged = await postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: client.client_id });
  t.is(exchanged.status, 200, exchanged.text);
  const accessToken = String(exchanged.json.access_token);
  let refreshToken = String(exchanged.json.refresh_token);
  const sessionId = await openSession(gh.resource, accessToken);
  t.is(Number((await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM remembered_consents WHERE client_id = ?', [client.client_id]))?.n), 1, 'her consent is remembered');

  await sql.exec(FAILING_DELETE.install);
  let triggerInstalled = true;
  t.teardown(async () => {
    if (triggerInstalled) await sql.exec(FAILING_DELETE.drop).catch(() => {});
  });
  const admin = await signedInAdmin(gh.url);
  const failed = await revokeClientOnAdminPage(admin, client.client_id);
  t.not(failed.status, 500, 'the failure is reported as a page that says what happened, not as an internal error');
  if (failed.status === 303) {
    const shown = await admin.page(failed.location!);
    t.notRegex(shown.html, /Revoked everything/, 'the page does not claim the revocation happened');
  } else {
    t.true(failed.status >= 400, `status ${failed.status}`);
    t.regex(failed.headers.get('content-type') ?? '', /text\/html/, 'a page for the administrator');
  }

  // Past GRANT_CHECK_CACHE, so a half-made revocation would show (a deliberate time bound: a negative cannot be polled).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.is((await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${accessToken}` })).status, 200, 'her access token still works');
  const session = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { 'mcp-session-id': sessionId });
  t.is(session.status, 200, `her session still answers (${session.status})`);
  const refreshed = await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id });
  t.is(refreshed.status, 200, `her refresh token still refreshes: ${refreshed.text.slice(0, 160)}`);
  if (refreshed.status === 200) refreshToken = String(refreshed.json.refresh_token);

  await sql.exec(FAILING_DELETE.drop);
  triggerInstalled = false;
  t.is((await revokeClientOnAdminPage(admin, client.client_id)).status, 303, 'with the fault gone, the revocation goes through');
  const deadline = Date.now() + 3000;
  let status = 0;
  while ((status = (await mcpPost(gh.resource, initializeRequest(), { authorization: `Bearer ${accessToken}` })).status) !== 401 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.is(status, 401, 'the access token is refused');
  t.is((await postForm(`${gh.url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id })).status, 400, 'the refresh token is refused');
  const ended = await mcpPost(gh.resource, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, { 'mcp-session-id': sessionId });
  t.true(ended.status === 404 || ended.status === 401, `the session still answers ${ended.status}`);
  t.is(Number((await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM remembered_consents WHERE client_id = ?', [client.client_id]))?.n), 0, 'the remembered consent is gone');
});
