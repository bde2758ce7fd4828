import { execFileSync } from 'node:child_process';
import { pool, residentMb, startGatehouse, tempDatabase, ADMIN } from './lib.ts';

/** Opens `count` idle legacy sessions and reports the server's resident memory before and after. */
export async function sessionMemory(count = 10_000, databaseUrl = tempDatabase()) {
  const env = { DATABASE_URL: databaseUrl, MCP_SESSION_CACHE_SIZE: String(count), RATE_LIMIT_MCP_PER_MINUTE: '0' };
  const server = await startGatehouse(env);
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'create', '--user', ADMIN.email, '--name', 'bench'], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    }).toString();
    const token = /(gatehouse_pat_\S+)/.exec(out)![1]!;
    const initialize = (i: number) =>
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: `bench-${i}`, version: '1' } } });
    // Warm up so the baseline includes the code paths, not just an idle process.
    for (let i = 0; i < 20; i++) {
      await fetch(`${server.url}/mcp`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' }, body: initialize(i) });
    }
    global.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = residentMb(server.child.pid!);
    const started = performance.now();
    await pool(count, 64, async (i) => {
      const response = await fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: initialize(i),
      });
      if (response.status !== 200) throw new Error(`initialize ${i}: ${response.status}`);
      await response.arrayBuffer();
    });
    const seconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = residentMb(server.child.pid!);
    return { sessions: count, rssBeforeMb: before, rssAfterMb: after, perSessionKb: Math.round(((after - before) * 1024) / count * 10) / 10, initializePerSecond: Math.round(count / seconds) };
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 10_000);
  console.log(await sessionMemory(count));
}
