import { execFileSync } from 'node:child_process';
import { pool, residentMb, startGatehouse, tempDatabase, ADMIN } from './lib.ts';

const METRICS_TOKEN = 'bench-metrics-token-0123456789';
const WARM_UP = 2000;
/** Both readings are taken once the process has been quiet this long (V8 shrinks its heap after a burst when idle). */
const SETTLE_MS = 10_000;

/** Opens `count` idle legacy sessions (after a warm-up of the same load) and reports the server's resident memory before and after. */
export async function sessionMemory(count = 10_000, databaseUrl = tempDatabase()) {
  const env = { DATABASE_URL: databaseUrl, MCP_SESSION_CACHE_SIZE: String(count), RATE_LIMIT_MCP_PER_MINUTE: '0', METRICS_TOKEN: METRICS_TOKEN };
  /** A figure from /metrics: the V8 heap in use, and the sessions held live, beside the resident memory. */
  const metric = async (name: string) => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  };
  const server = await startGatehouse(env);
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'create', '--user', ADMIN.email, '--name', 'bench'], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    }).toString();
    const token = /(gatehouse_pat_\S+)/.exec(out)![1]!;
    const initialize = (i: number) =>
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: `bench-${i}`, version: '1' } } });
    const open = async (i: number) => {
      const response = await fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: initialize(i),
      });
      if (response.status !== 200) throw new Error(`initialize ${i}: ${response.status}`);
      await response.arrayBuffer();
    };
    // Warm up with the same load (2,000 sessions, kept open) so "before" already
    // includes what a burst of initialize requests grows the heap to; the
    // difference is then what the sessions themselves hold.
    await pool(WARM_UP, 64, open);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const before = residentMb(server.child.pid!);
    const heapBefore = await metric('gatehouse_nodejs_heap_size_used_bytes');
    const committedBefore = await metric('gatehouse_nodejs_heap_size_total_bytes');
    const started = performance.now();
    await pool(count, 64, (i) => open(WARM_UP + i));
    const seconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const after = residentMb(server.child.pid!);
    const heapAfter = await metric('gatehouse_nodejs_heap_size_used_bytes');
    const live = await metric('gatehouse_mcp_sessions_live');
    const committedAfter = await metric('gatehouse_nodejs_heap_size_total_bytes');
    return {
      sessions: count,
      liveAfter: live,
      heapPerSessionKb: Math.round(((heapAfter - heapBefore) / 1024 / count) * 10) / 10,
      heapCommittedGrowthMb: Math.round((committedAfter - committedBefore) / 1024 / 1024),
      rssBeforeMb: before,
      rssAfterMb: after, perSessionKb: Math.round(((after - before) * 1024) / count * 10) / 10, initializePerSecond: Math.round(count / seconds) };
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 10_000);
  console.log(await sessionMemory(count));
}
