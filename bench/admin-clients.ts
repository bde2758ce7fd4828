import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { StoreAdapter } from '../src/oauth/adapter.ts';
import { createUser } from '../src/domain/accounts.ts';
import { ClientIndex, type ClientMetadata } from '../src/data/client-index.ts';
import { migrate } from '../src/data/migrate.ts';
import { openStore } from '../src/data/engines/open.ts';
import { ADMIN, startGatehouse, tempDatabase } from './lib.ts';

/**
 * Seeds `count` clients as registration stores them (an oidc_models Client
 * row and a client_index row each), a grant on every tenth and an MCP session
 * on every twentieth, so the counts on the page have rows to count.
 */
async function seed(databaseUrl: string, count: number): Promise<{ seconds: number; sampleClientId: string }> {
  const started = performance.now();
  const store = openStore(databaseUrl);
  try {
    await migrate(store);
    const admin = await createUser(store, { ...ADMIN, isAdmin: true });
    const clients = new StoreAdapter('Client', store);
    const grants = new StoreAdapter('Grant', store);
    const index = new ClientIndex(store);
    const now = Date.now();
    let sampleClientId = '';
    for (let i = 0; i < count; i++) {
      const metadata: ClientMetadata & Record<string, unknown> = {
        client_id: randomUUID(),
        client_name: i % 3 === 0 ? `Claude ${i}` : i % 3 === 1 ? `Visual Studio Code ${i}` : `Cursor ${i}`,
        redirect_uris: i % 3 === 0 ? ['https://claude.ai/api/mcp/auth_callback'] : [`http://127.0.0.1:${33_000 + (i % 1000)}/callback`],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_id_issued_at: Math.floor((now - (count - i) * 60_000) / 1000),
      };
      await clients.upsert(metadata.client_id, metadata as never);
      await index.record(metadata, 'dcr');
      if (i % 10 === 0) {
        const grantId = randomUUID();
        await grants.upsert(grantId, { jti: grantId, kind: 'Grant', accountId: admin.id, clientId: metadata.client_id, resources: { 'http://localhost/mcp': 'mcp:tools' } } as never, 365 * 86_400);
      }
      if (i % 20 === 0) {
        await store.run(
          `INSERT INTO mcp_sessions (id_hash, user_id, client_id, principal_kind, scopes, token_expires_at, protocol_version, transport, initialize_request, created_at, last_used_at)
           VALUES (?, ?, ?, 'oauth', 'mcp:tools', ?, '2025-11-25', 'streamable', '{}', ?, ?)`,
          [randomUUID(), admin.id, metadata.client_id, now + 3600_000, now, now],
        );
      }
      if (i === Math.floor(count / 2)) sampleClientId = metadata.client_id;
    }
    return { seconds: Math.round((performance.now() - started) / 100) / 10, sampleClientId };
  } finally {
    await store.close();
  }
}

/** Signs in on /login as a browser does and returns the admin session cookie. */
async function signIn(url: string): Promise<string> {
  const page = await fetch(`${url}/login`);
  const nonce = page.headers.getSetCookie().find((line) => line.startsWith('gh_login='))!.split(';')[0]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const answer = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: nonce, origin: url },
    body: new URLSearchParams({ ...ADMIN, csrf }),
  });
  const session = answer.headers.getSetCookie().find((line) => line.startsWith('gh_admin='));
  if (answer.status !== 303 || !session) throw new Error(`sign-in failed: ${answer.status}`);
  return session.split(';')[0]!;
}

interface Figures {
  p50Ms: number;
  p99Ms: number;
  requestsPerSecond: number;
  errors: number;
}

async function measure(url: string, cookie: string, seconds: number): Promise<Figures> {
  const result = await autocannon({ url, connections: 8, duration: seconds, headers: { cookie } });
  return {
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requestsPerSecond: Math.round(result.requests.average),
    errors: result.errors + result.non2xx,
  };
}

/**
 * The admin client list with `count` registered clients: the first page, a
 * search, a page deep in the list and a client's detail, measured with
 * autocannon against the built server. Reports numbers; asserts nothing.
 */
export async function adminClientsBenchmark(count = 10_000, databaseUrl = tempDatabase(), seconds = 5) {
  const seeded = await seed(databaseUrl, count);
  const server = await startGatehouse({ DATABASE_URL: databaseUrl });
  try {
    const cookie = await signIn(server.url);
    const coldStarted = performance.now();
    const cold = await fetch(`${server.url}/admin/clients`, { headers: { cookie } });
    await cold.text();
    const coldFirstPageMs = Math.round((performance.now() - coldStarted) * 10) / 10;

    // A keyset cursor 100 pages in: what "Older ›" leads to after many clicks.
    let deepPath = '/admin/clients';
    for (let page = 0; page < 100; page++) {
      const html = await (await fetch(`${server.url}${deepPath}`, { headers: { cookie } })).text();
      const next = /href="([^"]+)" rel="next"/.exec(html)?.[1];
      if (!next) break;
      deepPath = next.replace(/&amp;/g, '&');
    }

    return {
      clients: count,
      engine: databaseUrl.startsWith('postgres') ? 'postgres' : 'sqlite',
      seedSeconds: seeded.seconds,
      coldFirstPageMs,
      firstPage: await measure(`${server.url}/admin/clients`, cookie, seconds),
      searchByName: await measure(`${server.url}/admin/clients?q=${encodeURIComponent('visual studio code 77')}`, cookie, seconds),
      searchByHost: await measure(`${server.url}/admin/clients?q=claude.ai`, cookie, seconds),
      deepPage: await measure(`${server.url}${deepPath}`, cookie, seconds),
      detail: await measure(`${server.url}/admin/clients/${seeded.sampleClientId}`, cookie, seconds),
    };
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 10_000);
  console.log(await adminClientsBenchmark(count, process.argv[3] ?? tempDatabase()));
}
