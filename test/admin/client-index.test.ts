import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import selfsigned from 'selfsigned';
import { obtainCode } from '../helpers/oauth.ts';
import { ADMIN, ALICE, freePort, spawnGatehouse, startGatehouse, tempDbPath } from '../helpers/server.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { signedIn } from './admin-agent.ts';

/**
 * A CIMD client has no registration to index: Gatehouse learns of it when
 * oidc-provider resolves its document. The document is served from a loopback
 * https server with a test certificate (see the CIMD test in
 * test/authorization/sdk-clients.test.ts for why the SSRF guard is off here).
 */
test('a CIMD client appears in the list as CIMD once it is used, with its document on the detail page', async (t) => {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    days: 1,
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
  } as never);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cimd-admin-'));
  writeFileSync(join(dir, 'ca.pem'), pems.cert);
  const redirect = 'http://127.0.0.1:49750/callback';
  const documentPort = await freePort();
  const clientId = `https://localhost:${documentPort}/oauth/client.json`;
  const documentServer = createServer({ key: pems.private, cert: pems.cert }, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ client_id: clientId, client_name: 'Document-Described Client', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }));
  });
  await new Promise<void>((resolve) => documentServer.listen(documentPort, '127.0.0.1', resolve));
  t.teardown(() => documentServer.close());

  const port = await freePort();
  const server = await spawnGatehouse({
    port,
    env: { DATABASE_URL: `sqlite:${tempDbPath()}`, CIMD_ALLOW_PRIVATE_ADDRESSES: 'on', NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), LOG_LEVEL: 'warn' },
  });
  t.teardown(() => server.stop());

  const as = { issuer: server.url, authorization_endpoint: `${server.url}/authorize` };
  const { code } = await obtainCode(as as never, { client_id: clientId }, new UserAgent(), ADMIN, redirect, { resource: `${server.url}/mcp` });
  t.truthy(code);

  const admin = await signedIn(server.url, ADMIN);
  const list = await admin.page('/admin/clients?kind=cimd');
  t.true(list.html.includes('Document-Described Client'));
  t.true(list.html.includes(clientId));
  const detail = await admin.page(`/admin/clients/${encodeURIComponent(clientId)}`);
  t.is(detail.status, 200);
  t.true(detail.html.includes('(the document as last fetched)'));
  t.true(detail.html.includes('&quot;client_name&quot;: &quot;Document-Described Client&quot;'));
  t.true(detail.html.includes('A CIMD client comes back when it is used again'));
});

test('clients stored before the index existed are indexed at start, pre-registered ones as such', async (t) => {
  const dbPath = tempDbPath();
  const first = await startGatehouse({ dbPath });
  const { store } = first.gatehouse;
  const payload = (id: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ client_id: id, client_name: `Legacy ${id}`, redirect_uris: ['https://legacy.example.com/cb'], token_endpoint_auth_method: 'none', ...extra });
  // As a database from before migration 003 holds them: Client rows and no index rows.
  for (const [id, extra] of [['legacy-dcr', {}], ['legacy-manual', { gatehouse_kind: 'manual' }]] as const) {
    await store.run("INSERT INTO oidc_models (model, id, payload, client_id, created_at) VALUES ('Client', ?, ?, ?, ?)", [id, payload(id, extra), id, Date.UTC(2025, 0, 2)]);
  }
  await first.close();

  const second = await startGatehouse({ dbPath });
  t.teardown(() => second.close());
  const rows = await second.gatehouse.store.all<{ client_id: string; kind: string; redirect_hosts: string; created_at: number }>(
    "SELECT client_id, kind, redirect_hosts, created_at FROM client_index WHERE client_id LIKE 'legacy-%' ORDER BY client_id",
  );
  t.deepEqual(rows, [
    { client_id: 'legacy-dcr', kind: 'dcr', redirect_hosts: 'legacy.example.com', created_at: Date.UTC(2025, 0, 2) },
    { client_id: 'legacy-manual', kind: 'manual', redirect_hosts: 'legacy.example.com', created_at: Date.UTC(2025, 0, 2) },
  ]);
});

test('using a client at the token endpoint records when it was last used', async (t) => {
  const gh = await startGatehouse();
  t.teardown(() => gh.close());
  const { tokensFor } = await import('../helpers/mcp.ts');
  const issued = await tokensFor(gh, ALICE, { clientName: 'Used client' });
  const row = await gh.gatehouse.store.get<{ last_used_at: number | null; created_at: number }>('SELECT last_used_at, created_at FROM client_index WHERE client_id = ?', [issued.clientId]);
  t.truthy(row?.last_used_at);
  t.true(Number(row!.last_used_at) >= Number(row!.created_at));
});
