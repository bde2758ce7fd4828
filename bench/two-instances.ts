import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createUser } from '../src/domain/accounts.ts';
import { issuePersonalToken } from '../src/domain/personal-tokens.ts';
import { migrate } from '../src/data/migrate.ts';
import { openStore } from '../src/data/engines/open.ts';
import { cpuSeconds, freePort, startGatehouse, table, tempPostgresDatabase } from './lib.ts';

/**
 * Two instances on one PostgreSQL database, driven by concurrent legacy-era
 * clients whose every request goes to the other instance than their last
 * (what a round-robin proxy without sticky sessions does to a client), so
 * each session lives on both instances at once. Half are v1 SDK clients that
 * send their bearer every time; half are Claude.ai-like raw clients that send
 * it only on initialize and lean on the session-bound fallback. Every client
 * ends its session (DELETE, on whichever instance is next) and opens a new
 * one every `callsPerSession` calls. Any answer other than a result is an error.
 */
export async function twoInstances(options: { clients?: number; seconds?: number; callsPerSession?: number } = {}) {
  const clients = options.clients ?? 50;
  const seconds = options.seconds ?? 60;
  const callsPerSession = options.callsPerSession ?? 20;
  const database = await tempPostgresDatabase();
  const publicUrl = `http://127.0.0.1:${await freePort()}`;
  const env = { DATABASE_URL: database.url, PUBLIC_URL: publicUrl, RATE_LIMIT_MCP_PER_MINUTE: '0', RATE_LIMIT_TOKEN_PER_MINUTE: '0' };
  const instances = await Promise.all([startGatehouse(env), startGatehouse(env)]);
  const store = openStore(database.url, { poolSize: 3 });
  try {
    await migrate(store);
    const tokens: string[] = [];
    for (let i = 0; i < clients; i++) {
      const user = await createUser(store, { email: `bench-${i}@example.test`, password: `bench-password-${i}-long` });
      tokens.push((await issuePersonalToken(store, { ownerId: user.id, name: `bench ${i}`, scopes: ['mcp:tools', 'mcp:write'], expiresAt: null }, { actor: 'test' })).token);
    }

    const stats = { calls: 0, sessions: 0, deletes: 0, errors: 0, latencies: [] as number[], perInstance: instances.map(() => 0), firstErrors: [] as string[] };
    const fail = (what: string) => {
      stats.errors++;
      if (stats.firstErrors.length < 5) stats.firstErrors.push(what);
    };
    // Each client alternates instances request by request.
    const alternating = (start: number) => {
      let next = start;
      return (input: string | URL | Request, init?: RequestInit) => {
        const index = next++ % instances.length;
        stats.perInstance[index]!++;
        const url = new URL(input instanceof Request ? input.url : input);
        const target = new URL(instances[index]!.url);
        url.host = target.host;
        return fetch(url, init);
      };
    };
    const deadline = Date.now() + seconds * 1000;
    const timed = async <T>(work: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await work();
      stats.latencies.push(performance.now() - started);
      return result;
    };

    async function sdkClient(index: number) {
      const fetchVia = alternating(index);
      while (Date.now() < deadline) {
        const transport = new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${tokens[index]}` } },
          fetch: fetchVia,
        });
        const client = new Client({ name: `bench-sdk-${index}`, version: '1.0' });
        try {
          await client.connect(transport);
          stats.sessions++;
          for (let call = 0; call < callsPerSession && Date.now() < deadline; call++) {
            const result = await timed(() =>
              call % 3 === 0
                ? client.callTool({ name: 'notes_add', arguments: { text: `note ${call}` } })
                : client.callTool({ name: call % 3 === 1 ? 'whoami' : 'notes_list', arguments: {} }),
            );
            if (result.isError) fail(`sdk ${index}: tool error ${JSON.stringify(result.content)}`);
            else stats.calls++;
          }
          await transport.terminateSession();
          stats.deletes++;
        } catch (error) {
          fail(`sdk ${index}: ${(error as Error).message}`);
        } finally {
          await client.close().catch(() => {});
        }
      }
    }

    async function bearerOnInitializeClient(index: number) {
      const fetchVia = alternating(index);
      const post = (body: unknown, headers: Record<string, string>) =>
        fetchVia(`${publicUrl}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
          body: JSON.stringify(body),
        });
      while (Date.now() < deadline) {
        const init = await post(
          { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: `bench-raw-${index}`, version: '1' } } },
          { authorization: `Bearer ${tokens[index]}` },
        );
        await init.arrayBuffer();
        const sessionId = init.headers.get('mcp-session-id');
        if (init.status !== 200 || !sessionId) {
          fail(`raw ${index}: initialize ${init.status}`);
          continue;
        }
        stats.sessions++;
        const initialized = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sessionId });
        await initialized.arrayBuffer();
        if (initialized.status !== 202) fail(`raw ${index}: initialized ${initialized.status}`);
        for (let call = 1; call <= callsPerSession && Date.now() < deadline; call++) {
          const name = call % 3 === 0 ? 'notes_add' : call % 3 === 1 ? 'whoami' : 'notes_list';
          const answer = await timed(async () => {
            const response = await post({ jsonrpc: '2.0', id: call, method: 'tools/call', params: { name, arguments: name === 'notes_add' ? { text: `raw ${call}` } : {} } }, { 'mcp-session-id': sessionId });
            return { status: response.status, text: await response.text() };
          });
          if (answer.status !== 200 || !answer.text.includes('"result"') || answer.text.includes('"isError":true')) fail(`raw ${index}: ${name} ${answer.status} ${answer.text.slice(0, 200)}`);
          else stats.calls++;
        }
        const deleted = await fetchVia(`${publicUrl}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': sessionId } });
        await deleted.arrayBuffer();
        if (deleted.status !== 200) fail(`raw ${index}: DELETE ${deleted.status}`);
        else stats.deletes++;
      }
    }

    const cpuBefore = instances.map((instance) => cpuSeconds(instance.child.pid!));
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, (_, index) => (index % 2 ? bearerOnInitializeClient(index) : sdkClient(index))));
    const elapsed = (performance.now() - started) / 1000;
    const serverCpu = instances.reduce((sum, instance, i) => sum + cpuSeconds(instance.child.pid!) - cpuBefore[i]!, 0);
    const requests = stats.perInstance.reduce((sum, n) => sum + n, 0);
    const sorted = stats.latencies.sort((a, b) => a - b);
    const percentile = (p: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0) * 10) / 10;
    return {
      clients,
      seconds: Math.round(elapsed),
      toolCalls: stats.calls,
      toolCallsPerSecond: Math.round(stats.calls / elapsed),
      httpRequestsPerSecond: Math.round(requests / elapsed),
      requestsToA: stats.perInstance[0]!,
      requestsToB: stats.perInstance[1]!,
      sessionsOpened: stats.sessions,
      sessionsDeleted: stats.deletes,
      callP50Ms: percentile(50),
      callP99Ms: percentile(99),
      serverCpuMsPerRequest: Math.round((serverCpu * 1000 * 10) / requests) / 10,
      errors: stats.errors,
      firstErrors: stats.firstErrors,
    };
  } finally {
    await Promise.all(instances.map((instance) => instance.stop()));
    await store.close();
    await database.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.argv[2] ?? 60);
  const clients = Number(process.argv[3] ?? 50);
  const { firstErrors, ...figures } = await twoInstances({ seconds, clients });
  console.log(table([figures]));
  if (firstErrors.length) console.log('first errors:\n' + firstErrors.join('\n'));
  process.exit(figures.errors ? 1 : 0);
}
