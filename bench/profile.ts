/**
 * CPU profile of Gatehouse under load: `node --import tsx bench/profile.ts [jwt|session|pat|modern|refresh|gateway]`
 * (tools/call on /mcp in its four ways, refresh_token grants with rotation at /token, or tools/call
 * through the gateway at /mcp/baseline to bench/baseline-server.mjs, a JWT for that resource).
 * BENCH_SECONDS (8) and BENCH_CONNECTIONS (16) shape the load.
 * Writes a .cpuprofile under ./profiles (open it in Chrome DevTools) and prints the hottest functions.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { accessToken, personalToken, startBaseline, startGatehouse, tempDatabase } from './lib.ts';
import { load, refreshLoad, type RefreshChain } from './load.ts';
import { CALL, initialize, JSON_HEADERS, MODERN, MODERN_CALL } from './requests.ts';

const mode = process.argv[2] ?? 'jwt';
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
mkdirSync('profiles', { recursive: true });
const databaseUrl = tempDatabase();
const env: Record<string, string> = {
  DATABASE_URL: databaseUrl,
  NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=profiles',
  TOOLS_MODULES: 'bench/bench-tools.ts',
  RATE_LIMIT_TOKEN_PER_MINUTE: '0',
  RATE_LIMIT_MCP_PER_MINUTE: process.env.RATE_LIMIT_MCP_PER_MINUTE ?? '0',
};
const upstream = mode === 'gateway' ? await startBaseline() : undefined;
if (upstream) {
  env.UPSTREAMS = `${databaseUrl.replace(/^sqlite:/, '')}.upstreams.json`;
  writeFileSync(env.UPSTREAMS, JSON.stringify({ baseline: { url: `${upstream.url}/mcp` } }));
}
const server = await startGatehouse(env);
const mcp = upstream ? `${server.url}/mcp/baseline` : `${server.url}/mcp`;

const jwt = (await accessToken(server.url, upstream ? mcp : undefined)).accessToken;
const token = mode === 'pat' ? await personalToken(databaseUrl) : jwt;
const headers: Record<string, string> = { ...JSON_HEADERS };
let body = CALL;
if (mode === 'modern') {
  Object.assign(headers, MODERN, { authorization: `Bearer ${jwt}` });
  body = MODERN_CALL;
} else if (mode !== 'refresh') {
  const init = await fetch(mcp, { method: 'POST', headers: { ...headers, authorization: `Bearer ${token}` }, body: initialize('profile') });
  headers['mcp-session-id'] = init.headers.get('mcp-session-id')!;
  if (mode !== 'session') headers.authorization = `Bearer ${token}`;
}
if (mode === 'refresh') {
  // 16 chains of rotating refresh tokens (see refreshLoad).
  const chains: RefreshChain[] = [];
  for (let i = 0; i < 16; i++) chains.push(await accessToken(server.url));
  console.log(await refreshLoad(`${server.url}/token`, chains, seconds));
} else {
  console.log(await load({ url: mcp, connections: Number(process.env.BENCH_CONNECTIONS ?? 16), seconds, headers, body }));
}
await server.stop();
await upstream?.stop();

// The main thread's profile is the largest (tsx's loader thread writes a small one too).
const latest = readdirSync('profiles')
  .filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${server.child.pid}.`))
  .sort((a, b) => statSync(`profiles/${b}`).size - statSync(`profiles/${a}`).size)[0]!;
const profile = JSON.parse(readFileSync(`profiles/${latest}`, 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] }[] };
const total = profile.nodes.reduce((sum, node) => sum + node.hitCount, 0);
/** A frame as people read it: function, then the package or our own file, then the line. */
const nameOf = (node: (typeof profile.nodes)[number]) =>
  `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/')}:${node.callFrame.lineNumber}`;
const byFunction = new Map<string, number>();
for (const node of profile.nodes) byFunction.set(nameOf(node), (byFunction.get(nameOf(node)) ?? 0) + node.hitCount);
console.log(`profiles/${latest}: self time, top 30`);
for (const [where, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${where}`);

// Inclusive time (a function and everything it called), for our own code: where a path's time goes.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const nodeById = new Map(profile.nodes.map((node) => [node.id, node]));
const inclusive = new Map<string, number>();
for (const node of profile.nodes) {
  if (!node.hitCount) continue;
  const seen = new Set<string>();
  for (let at: number | undefined = node.id; at !== undefined; at = parent.get(at)) {
    const name = nameOf(nodeById.get(at)!);
    if (!seen.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + node.hitCount);
    seen.add(name);
  }
}
console.log('inclusive time, top 40 (excluding the event loop roots)');
for (const [where, hits] of [...inclusive].filter(([name]) => !name.startsWith('(root)')).sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${where}`);
