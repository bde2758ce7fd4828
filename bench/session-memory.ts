import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pool, residentMb, startGatehouse, tempDatabase, ADMIN, type Running } from './lib.ts';

const METRICS_TOKEN = 'bench-metrics-token-0123456789';
const WARM_UP = 2000;
/** Both readings are taken once the process has been quiet this long. */
const SETTLE_MS = 5000;

/**
 * What the process holds after a full garbage collection: a heap snapshot
 * (asked for with SIGUSR2; taking one collects first) gives the heap that is
 * reachable, and resident memory is read right after it. Garbage left from
 * a burst of requests counts in neither.
 */
async function collect(server: Running, dir: string): Promise<{ heapMb: number; rssMb: number }> {
  const before = new Set(readdirSync(dir));
  server.child.kill('SIGUSR2');
  let file: string | undefined;
  let size = -1;
  for (let i = 0; i < 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    file ??= readdirSync(dir).find((name) => name.endsWith('.heapsnapshot') && !before.has(name));
    if (!file) continue;
    const now = statSync(join(dir, file)).size;
    if (now > 0 && now === size) break;
    size = now;
  }
  if (!file) throw new Error('no heap snapshot was written');
  const rssMb = residentMb(server.child.pid!);
  const snapshot = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
  rmSync(join(dir, file));
  const fields = snapshot.snapshot.meta.node_fields;
  const stride = fields.length;
  const selfSize = fields.indexOf('self_size');
  let bytes = 0;
  for (let i = 0; i < snapshot.nodes.length; i += stride) bytes += snapshot.nodes[i + selfSize]!;
  return { heapMb: bytes / 1024 / 1024, rssMb };
}

/**
 * Opens `count` idle legacy sessions (after a warm-up of the same load) and
 * reports what the server holds for them: the reachable heap and resident
 * memory after a full collection, before and after, and the sessions it
 * still holds live (with a server and transport).
 */
export async function sessionMemory(count = 10_000, databaseUrl = tempDatabase()) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-heap-'));
  const env = {
    DATABASE_URL: databaseUrl,
    MCP_SESSION_CACHE_SIZE: String(count + WARM_UP),
    RATE_LIMIT_MCP_PER_MINUTE: '0',
    METRICS_TOKEN,
    NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`,
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
    // includes what a burst of initialize requests grows the process to.
    await pool(WARM_UP, 64, open);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const before = await collect(server, dir);
    const started = performance.now();
    await pool(count, 64, (i) => open(WARM_UP + i));
    const seconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const after = await collect(server, dir);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const live = Number(/^gatehouse_mcp_sessions_live (\S+)/m.exec(metrics)?.[1] ?? NaN);
    const perSessionKb = (mb: number) => Math.round(((mb * 1024) / count) * 100) / 100;
    return {
      sessions: count,
      liveAfter: live,
      heapPerSessionKb: perSessionKb(after.heapMb - before.heapMb),
      rssBeforeMb: before.rssMb,
      rssAfterMb: after.rssMb,
      perSessionKb: perSessionKb(after.rssMb - before.rssMb),
      initializePerSecond: Math.round(count / seconds),
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 10_000);
  console.log(await sessionMemory(count));
}
