/**
 * Rebuilding idle sessions with many stored: `node --import tsx bench/session-rebuild.ts [stored]`.
 * Opens 200 real sessions, stores `stored` (100,000) more beside them, lets
 * the 200 go idle (only their records remain), then times each one's next
 * call (rebuilt from its record) and a second call (warm), on SQLite.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openStore } from '../src/data/engines/open.ts';
import { hashSessionId } from '../src/mcp/sessions/registry.ts';
import { ADMIN, startGatehouse, table, tempDatabase } from './lib.ts';

const REAL = 200;

export async function sessionRebuild(stored = 100_000, databaseUrl = tempDatabase()): Promise<Record<string, string | number>> {
  const server = await startGatehouse({ DATABASE_URL: databaseUrl, TOOLS_MODULES: 'bench/bench-tools.ts', RATE_LIMIT_MCP_PER_MINUTE: '0', MCP_SESSION_WARM: '1s' });
  const mcp = `${server.url}/mcp`;
  const headers = { 'content-type': 'application/json', accept: 'application/json', 'mcp-protocol-version': '2025-11-25' };
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'token', 'create', '--user', ADMIN.email, '--name', 'bench'], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    }).toString();
    const token = /(gatehouse_pat_\S+)/.exec(out)![1]!;
    const ids: string[] = [];
    for (let i = 0; i < REAL; i++) {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: { roots: {} }, clientInfo: { name: `c-${i}`, version: '1' } } });
      const response = await fetch(mcp, { method: 'POST', headers: { ...headers, authorization: `Bearer ${token}` }, body });
      await response.arrayBuffer();
      ids.push(response.headers.get('mcp-session-id')!);
    }
    // The other sessions: records like the first one's, under ids nobody holds.
    const store = openStore(databaseUrl);
    try {
      const template = hashSessionId(ids[0]!);
      const copy = `INSERT INTO mcp_sessions (id_hash, user_id, client_id, principal_kind, grant_id, pat_id, token_id, scopes, token_expires_at,
        protocol_version, transport, initialize_request, upstream, created_at, last_used_at)
        SELECT ?, user_id, client_id, principal_kind, grant_id, pat_id, token_id, scopes, token_expires_at,
        protocol_version, transport, initialize_request, upstream, created_at, last_used_at FROM mcp_sessions WHERE id_hash = ?`;
      for (let done = 0; done < stored; done += 5000) {
        await store.transaction(async (tx) => {
          for (let i = done; i < Math.min(stored, done + 5000); i++) await tx.run(copy, [hashSessionId(randomBytes(32).toString('base64url')), template]);
        });
      }
    } finally {
      await store.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 2500)); // past MCP_SESSION_WARM: only records remain
    const call = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } });
    const timeCall = async (id: string) => {
      const started = performance.now();
      const response = await fetch(mcp, { method: 'POST', headers: { ...headers, 'mcp-session-id': id }, body: call });
      if (response.status !== 200) throw new Error(`call: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
      return performance.now() - started;
    };
    const first: number[] = [];
    const warm: number[] = [];
    for (const id of ids) first.push(await timeCall(id));
    for (const id of ids) warm.push(await timeCall(id));
    const median = (values: number[]) => Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]! * 100) / 100;
    return {
      'stored sessions': stored + REAL,
      'first call of an idle session p50 ms (rebuilt from its record)': median(first),
      'next call p50 ms (warm)': median(warm),
      'rebuild ≈ ms': Math.round((median(first) - median(warm)) * 100) / 100,
    };
  } finally {
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(table([await sessionRebuild(Number(process.argv[2] ?? 100_000))]));
}
