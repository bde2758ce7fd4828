/**
 * CPU profile of Gatehouse under load: `node --import tsx bench/profile.ts [jwt|session|pat|modern|refresh|gateway]`
 * (tools/call on /mcp in its four ways, refresh_token grants with rotation at /token, or tools/call
 * through the gateway at /mcp/baseline to bench/baseline-server.mjs, a JWT for that resource).
 * BENCH_SECONDS (8) and BENCH_CONNECTIONS (16) shape the load.
 * Writes a .cpuprofile under ./profiles (open it in Chrome DevTools) and prints the hottest functions.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { findUserByEmail } from '../src/domain/accounts.ts';
import { issuePersonalToken } from '../src/domain/personal-tokens.ts';
import { openStore } from '../src/data/engines/open.ts';
import { discover, obtainCode, postForm, register } from '../test/helpers/oauth.ts';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { ADMIN, freePort, tempDatabase } from './lib.ts';
import { load, refreshLoad, type RefreshChain } from './load.ts';
import { CALL, initialize, JSON_HEADERS, MODERN, MODERN_CALL } from './requests.ts';

const mode = process.argv[2] ?? 'jwt';
execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
mkdirSync('profiles', { recursive: true });
const port = await freePort();
const databaseUrl = tempDatabase();
const url = `http://127.0.0.1:${port}`;
const gatewayEnv: Record<string, string> = {};
let upstream: ReturnType<typeof spawn> | undefined;
if (mode === 'gateway') {
  const upstreamPort = await freePort();
  upstream = spawn(process.execPath, ['bench/baseline-server.mjs'], { env: { ...process.env, PORT: String(upstreamPort) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => upstream!.stdout!.once('data', () => resolve()));
  gatewayEnv.UPSTREAMS = `${databaseUrl.replace(/^sqlite:/, '')}.upstreams.json`;
  writeFileSync(gatewayEnv.UPSTREAMS, JSON.stringify({ baseline: { url: `http://127.0.0.1:${upstreamPort}/mcp` } }));
}
const mcp = mode === 'gateway' ? `${url}/mcp/baseline` : `${url}/mcp`;
const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir=profiles', 'dist/gatehouse.js', 'serve'], {
  env: { ...process.env, PORT: String(port), PUBLIC_URL: url, DATABASE_URL: databaseUrl, RATE_LIMIT_TOKEN_PER_MINUTE: '0', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, LOG_LEVEL: 'warn', TOOLS_MODULES: 'bench/bench-tools.ts', RATE_LIMIT_MCP_PER_MINUTE: process.env.RATE_LIMIT_MCP_PER_MINUTE ?? '0', ...gatewayEnv },
  stdio: 'inherit',
});
for (let i = 0; i < 200 && !(await fetch(`${url}/readyz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));

const redirect = 'http://127.0.0.1:49997/callback';
const as = await discover(url);
const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none' });
const { code, verifier } = await obtainCode(as, client, new UserAgent(), ADMIN, redirect, mode === 'gateway' ? { resource: mcp } : {});
const jwt = String((await postForm(`${url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: client.client_id })).json.access_token);
const store = openStore(databaseUrl);
const pat = (await issuePersonalToken(store, { ownerId: (await findUserByEmail(store, ADMIN.email))!.id, name: 'p', scopes: ['mcp:tools'], expiresAt: null }, { actor: 'test' })).token;
await store.close();
const token = mode === 'pat' ? pat : jwt;
const headers: Record<string, string> = { ...JSON_HEADERS };
let body = CALL;
if (mode === 'modern') {
  Object.assign(headers, MODERN, { authorization: `Bearer ${jwt}` });
  body = MODERN_CALL;
} else {
  const init = await fetch(mcp, { method: 'POST', headers: { ...headers, authorization: `Bearer ${token}` }, body: initialize('profile') });
  headers['mcp-session-id'] = init.headers.get('mcp-session-id')!;
  if (mode !== 'session') headers.authorization = `Bearer ${token}`;
}
if (mode === 'refresh') {
  // 16 chains of rotating refresh tokens (see refreshLoad).
  const chains: RefreshChain[] = [];
  for (let i = 0; i < 16; i++) {
    const issued = await obtainCode(as, client, new UserAgent(), ADMIN, redirect);
    const tokens = await postForm(`${url}/token`, { grant_type: 'authorization_code', code: issued.code, code_verifier: issued.verifier, redirect_uri: redirect, client_id: client.client_id });
    chains.push({ refreshToken: String(tokens.json.refresh_token), clientId: client.client_id });
  }
  console.log(await refreshLoad(`${url}/token`, chains, Number(process.env.BENCH_SECONDS ?? 8)));
} else {
  console.log(await load({ url: mcp, connections: Number(process.env.BENCH_CONNECTIONS ?? 16), seconds: Number(process.env.BENCH_SECONDS ?? 8), headers, body }));
}
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
upstream?.kill('SIGTERM');

// The main thread's profile is the largest (tsx's loader thread writes a small one too).
const latest = readdirSync('profiles')
  .filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${child.pid}.`))
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
