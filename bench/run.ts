/**
 * `npm run bench`: Gatehouse measured side by side with the MCP SDK's own
 * server (no auth at all), on this machine, in one run. Prints markdown tables.
 *
 * BENCH_SECONDS (default 5) sets each load run's length, BENCH_ROUNDS (3) how
 * many runs each throughput figure is the median of; BENCH_PG_URL a
 * PostgreSQL server to create a scratch database on (default
 * postgres://postgres@127.0.0.1:5432/postgres; skipped when unreachable).
 * BENCH_COMPARE_BUNDLE: the dist/gatehouse.js of an earlier build (its own
 * checkout, built there), measured in the same run as "earlier build" rows
 * (tools/call throughput, the gateway, sessions and the token endpoint).
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { discover, obtainCode, register } from '../test/helpers/oauth.ts';
import { UserAgent } from '../test/helpers/user-agent.ts';
import { accessToken, ADMIN, cpuSeconds, freePort, personalToken, startBaseline, startGatehouse, table, tempDatabase, type Running } from './lib.ts';
import { load, refreshLoad, sequentialLatency, type LoadResult, type RefreshChain } from './load.ts';
import { CALL, initialize, LEGACY, MODERN, MODERN_CALL } from './requests.ts';
import { sdkDispatch } from './sdk-dispatch.ts';
import { sessionMemory } from './session-memory.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Each throughput cell is the median of this many runs. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = [1, 16, 64];
const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** BENCH_ONLY=throughput,dispatch,gateway,sessions,memory runs a subset while working on one part. */
const COMPARE_BUNDLE = process.env.BENCH_COMPARE_BUNDLE;
const ONLY = new Set((process.env.BENCH_ONLY ?? 'throughput,dispatch,gateway,sessions,memory').split(','));

async function post(url: string, body: string, headers: Record<string, string>): Promise<Response> {
  const response = await fetch(url, { method: 'POST', headers, body });
  if (response.status >= 300) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return response;
}

async function openSessions(mcp: string, count: number, headers: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await post(mcp, initialize(`bench-${i}`), { ...LEGACY, ...headers });
    await response.arrayBuffer();
    const id = response.headers.get('mcp-session-id')!;
    await (await post(mcp, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), { ...LEGACY, ...headers, 'mcp-session-id': id })).arrayBuffer();
    ids.push(id);
  }
  return ids;
}

const percent = (value: number, of: number) => `${Math.round((value / of) * 1000) / 10}%`;

/** A row per concurrency level: throughput, latency, share of the ceiling and ratio to the SDK. */
function row(name: string, results: LoadResult[], ceiling: LoadResult[], sdk: LoadResult[]): Record<string, string | number>[] {
  return results.map((result, i) => ({
    server: name,
    clients: CONCURRENCY[i]!,
    'req/s': result.requestsPerSecond,
    'p50 ms': result.p50,
    'p99 ms': result.p99,
    'of ceiling': percent(result.requestsPerSecond, ceiling[i]!.requestsPerSecond),
    'vs SDK': percent(result.requestsPerSecond, sdk[i]!.requestsPerSecond),
    'server CPU µs/req': result.serverCpuUs ?? '–',
    'errors/non-2xx': `${result.errors}/${result.non2xx}`,
  }));
}

type Variant = { name: string; server: Running; url: string; headers: Record<string, string>; body: string; headersFor: (connection: number) => Record<string, string> };

/**
 * A load run, with the CPU time the server process spent per answered
 * request: what a path costs, whatever else the machine is doing (req/s on a
 * shared 2-core machine also depends on how much CPU the load generator got).
 */
async function withServerCpu(server: Running, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const pid = server.child.pid!;
  const before = cpuSeconds(pid);
  const result = await run();
  return { ...result, serverCpuUs: Math.round(((cpuSeconds(pid) - before) * 1e6) / Math.max(1, result.total)) };
}

/** The median run of several, by throughput. */
function median(results: LoadResult[]): LoadResult {
  return [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(results.length / 2)]!;
}

/**
 * The baseline and every Gatehouse variant run side by side: both servers are
 * up the whole time, each cell is measured ROUNDS times in interleaved order,
 * and the median run counts, so drift on a shared machine hits all alike.
 */
async function throughput(): Promise<string> {
  const ceilingServer = await startBaseline('bench/ceiling-server.mjs');
  const baselineServer = await startBaseline();
  const baselineSessions = await openSessions(`${baselineServer.url}/mcp`, 64, {});
  const databaseUrl = tempDatabase();
  const env = { DATABASE_URL: databaseUrl, TOOLS_MODULES: 'bench/bench-tools.ts', RATE_LIMIT_MCP_PER_MINUTE: '0', RATE_LIMIT_TOKEN_PER_MINUTE: '0' };
  const server = await startGatehouse(env);
  const mcp = `${server.url}/mcp`;
  const earlier = COMPARE_BUNDLE ? await startGatehouse({ ...env, DATABASE_URL: tempDatabase() }, undefined, COMPARE_BUNDLE) : undefined;
  try {
    const { accessToken: jwt } = await accessToken(server.url);
    const pat = await personalToken(databaseUrl);
    const jwtSessions = await openSessions(mcp, 64, { authorization: `Bearer ${jwt}` });
    const patSessions = await openSessions(mcp, 64, { authorization: `Bearer ${pat}` });
    const earlierVariants: Variant[] = [];
    if (earlier) {
      const { accessToken: earlierJwt } = await accessToken(earlier.url);
      const earlierSessions = await openSessions(`${earlier.url}/mcp`, 64, { authorization: `Bearer ${earlierJwt}` });
      earlierVariants.push(
        { name: 'earlier build, JWT bearer', server: earlier, url: `${earlier.url}/mcp`, headers: { ...LEGACY, authorization: `Bearer ${earlierJwt}` }, body: CALL, headersFor: (i) => ({ 'mcp-session-id': earlierSessions[i % 64]! }) },
        {
          name: 'earlier build, 2026-07-28 stateless, JWT',
          server: earlier,
          url: `${earlier.url}/mcp`,
          headers: { ...MODERN, authorization: `Bearer ${earlierJwt}` },
          body: MODERN_CALL,
          headersFor: () => ({}),
        },
      );
    }
    const variants: Variant[] = [
      { name: 'bare node:http, same answer (ceiling)', server: ceilingServer, url: `${ceilingServer.url}/mcp`, headers: LEGACY, body: CALL, headersFor: () => ({}) },
      { name: 'MCP SDK server, no auth (baseline)', server: baselineServer, url: `${baselineServer.url}/mcp`, headers: LEGACY, body: CALL, headersFor: (i) => ({ 'mcp-session-id': baselineSessions[i % 64]! }) },
      { name: 'Gatehouse, JWT bearer', server, url: mcp, headers: { ...LEGACY, authorization: `Bearer ${jwt}` }, body: CALL, headersFor: (i) => ({ 'mcp-session-id': jwtSessions[i % 64]! }) },
      { name: 'Gatehouse, session-bound auth', server, url: mcp, headers: LEGACY, body: CALL, headersFor: (i) => ({ 'mcp-session-id': jwtSessions[i % 64]! }) },
      { name: 'Gatehouse, personal access token', server, url: mcp, headers: { ...LEGACY, authorization: `Bearer ${pat}` }, body: CALL, headersFor: (i) => ({ 'mcp-session-id': patSessions[i % 64]! }) },
      {
        name: 'MCP SDK server, no auth, 2026-07-28 stateless',
        server: baselineServer,
        url: `${baselineServer.url}/mcp`,
        headers: MODERN,
        body: MODERN_CALL,
        headersFor: () => ({}),
      },
      {
        name: 'Gatehouse, 2026-07-28 stateless, JWT',
        server,
        url: mcp,
        headers: { ...MODERN, authorization: `Bearer ${jwt}` },
        body: MODERN_CALL,
        headersFor: () => ({}),
      },
      ...earlierVariants,
    ];
    for (const variant of variants) await load({ ...variant, connections: 16, seconds: 2 }); // warm-up, not counted
    const runs = new Map<string, LoadResult[][]>(variants.map((variant) => [variant.name, CONCURRENCY.map(() => [])]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [level, connections] of CONCURRENCY.entries()) {
        for (const variant of variants) runs.get(variant.name)![level]!.push(await withServerCpu(variant.server, () => load({ ...variant, connections, seconds: SECONDS })));
      }
    }
    const medians = new Map([...runs].map(([name, levels]) => [name, levels.map(median)]));
    const ceiling = medians.get(variants[0]!.name)!;
    const sdk = medians.get(variants[1]!.name)!;
    return table(variants.flatMap((variant) => row(variant.name, medians.get(variant.name)!, ceiling, sdk)));
  } finally {
    await server.stop();
    await earlier?.stop();
    await baselineServer.stop();
    await ceilingServer.stop();
  }
}

/**
 * The gateway's cost: tools/call to an HTTP upstream (the SDK's own server,
 * no auth) called directly, and through Gatehouse at /mcp/<name> (bearer
 * checked, policy, identity JWT, the upstream session of each caller).
 */
async function gateway(): Promise<string> {
  const upstream = await startBaseline();
  const databaseUrl = tempDatabase();
  const upstreams = `${databaseUrl.replace(/^sqlite:/, '')}.upstreams.json`;
  writeFileSync(upstreams, JSON.stringify({ baseline: { url: `${upstream.url}/mcp` } }));
  const env = { UPSTREAMS: upstreams, RATE_LIMIT_MCP_PER_MINUTE: '0', RATE_LIMIT_TOKEN_PER_MINUTE: '0' };
  const server = await startGatehouse({ ...env, DATABASE_URL: databaseUrl });
  const earlier = COMPARE_BUNDLE ? await startGatehouse({ ...env, DATABASE_URL: tempDatabase() }, undefined, COMPARE_BUNDLE) : undefined;
  try {
    const throughGateway = async (name: string, base: string) => {
      const proxied = `${base}/mcp/baseline`;
      const { accessToken: jwt } = await accessToken(base, proxied);
      const sessions = await openSessions(proxied, 16, { authorization: `Bearer ${jwt}` });
      return { name, url: proxied, headers: { ...LEGACY, authorization: `Bearer ${jwt}` }, body: CALL, headersFor: (i: number) => ({ 'mcp-session-id': sessions[i % 16]! }) };
    };
    const direct = await openSessions(`${upstream.url}/mcp`, 16, {});
    const variants = [
      { name: 'HTTP upstream called directly', url: `${upstream.url}/mcp`, headers: LEGACY, body: CALL, headersFor: (i: number) => ({ 'mcp-session-id': direct[i % 16]! }) },
      await throughGateway('the same through the gateway (JWT)', server.url),
      ...(earlier ? [await throughGateway('earlier build, through the gateway (JWT)', earlier.url)] : []),
    ];
    for (const variant of variants) await load({ ...variant, connections: 16, seconds: 2 }); // warm-up: upstream sessions open
    const levels = [1, 16];
    const runs = variants.map(() => levels.map((): LoadResult[] => []));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [level, connections] of levels.entries()) {
        for (const [index, variant] of variants.entries()) runs[index]![level]!.push(await load({ ...variant, connections, seconds: SECONDS }));
      }
    }
    const medians = runs.map((perLevel) => perLevel.map(median));
    const calls = Math.max(1000, SECONDS * 400);
    const sequential = await sequentialLatency(
      variants.map((variant) => ({ name: variant.name, url: variant.url, headers: { ...variant.headers, ...variant.headersFor(0) }, body: variant.body })),
      calls,
    );
    const directLatency = sequential.get(variants[0]!.name)!;
    const precise = table(
      variants.map((variant, index) => {
        const result = sequential.get(variant.name)!;
        return { path: variant.name, calls, 'p50 µs': result.p50, 'p90 µs': result.p90, 'p99 µs': result.p99, 'added p50 µs': index === 0 ? '–' : result.p50 - directLatency.p50 };
      }),
    );
    const throughput = table(
      variants.flatMap((variant, index) =>
        levels.map((connections, level) => {
          const result = medians[index]![level]!;
          const base = medians[0]![level]!;
          return {
            path: variant.name,
            clients: connections,
            'req/s': result.requestsPerSecond,
            'p50 ms': result.p50,
            'p99 ms': result.p99,
            'added p50 ms': index === 0 ? '–' : Math.round((result.p50 - base.p50) * 100) / 100,
            'added p99 ms': index === 0 ? '–' : Math.round((result.p99 - base.p99) * 100) / 100,
            'errors/non-2xx': `${result.errors}/${result.non2xx}`,
          };
        }),
      ),
    );
    return `${throughput}\n\nOne client, one call at a time, timed to the microsecond (the targets take turns in blocks of 250):\n\n${precise}`;
  } finally {
    await server.stop();
    await earlier?.stop();
    await upstream.stop();
  }
}

/** What the per-principal rate limit costs when it counts in the Store: JWT bearer at 16 clients, limit on and off. */
async function rateLimitCost(): Promise<string> {
  const results: Record<string, string | number>[] = [];
  for (const limit of ['0', '100000000']) {
    const server = await startGatehouse({ DATABASE_URL: tempDatabase(), TOOLS_MODULES: 'bench/bench-tools.ts', RATE_LIMIT_MCP_PER_MINUTE: limit });
    try {
      const { accessToken: jwt } = await accessToken(server.url);
      const sessions = await openSessions(`${server.url}/mcp`, 64, { authorization: `Bearer ${jwt}` });
      const variant = { url: `${server.url}/mcp`, headers: { ...LEGACY, authorization: `Bearer ${jwt}` }, body: CALL, headersFor: (i: number) => ({ 'mcp-session-id': sessions[i % 64]! }) };
      await load({ ...variant, connections: 16, seconds: 2 });
      const list: LoadResult[] = [];
      for (let round = 0; round < ROUNDS; round++) list.push(await load({ ...variant, connections: 16, seconds: SECONDS }));
      const measured = median(list);
      results.push({ 'rate limit': limit === '0' ? 'off' : 'on (counted in the Store)', clients: 16, 'req/s': measured.requestsPerSecond, 'p50 ms': measured.p50, 'p99 ms': measured.p99 });
    } finally {
      await server.stop();
    }
  }
  return table(results);
}

/** Scratch PostgreSQL database for one measurement, or undefined when no server answers. */
async function postgresDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await admin.connect();
  } catch {
    return undefined;
  }
  const name = `gatehouse_bench_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

async function sessionsAndTokens(engine: string, databaseUrl: string, bundle?: string): Promise<Record<string, string | number>> {
  const env = { DATABASE_URL: databaseUrl, TOOLS_MODULES: 'bench/bench-tools.ts', RATE_LIMIT_MCP_PER_MINUTE: '0', RATE_LIMIT_TOKEN_PER_MINUTE: '0' };
  const port = await freePort();
  let server = await startGatehouse(env, port, bundle);
  const mcp = `${server.url}/mcp`;
  const pat = await personalToken(databaseUrl);

  const creation = await load({ url: mcp, connections: 16, seconds: SECONDS, headers: { ...LEGACY, authorization: `Bearer ${pat}` }, body: initialize('load') });

  // Rebuild: sessions opened, the process restarted, then each session's first call.
  const ids = await openSessions(mcp, 300, { authorization: `Bearer ${pat}` });
  await server.stop();
  server = await startGatehouse(env, port, bundle);
  const timeCall = async (id: string) => {
    const started = performance.now();
    await (await post(mcp, CALL.replace('"[<id>]"', '2'), { ...LEGACY, 'mcp-session-id': id })).arrayBuffer();
    return performance.now() - started;
  };
  const first: number[] = [];
  const warm: number[] = [];
  for (const id of ids) first.push(await timeCall(id));
  for (const id of ids) warm.push(await timeCall(id));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

  // Token endpoint: authorization codes prepared in advance, then redeemed under load.
  const redirect = 'http://127.0.0.1:49998/callback';
  const as = await discover(server.url);
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: 'bench-codes' });
  const agent = new UserAgent();
  const codes: { code: string; verifier: string }[] = [];
  const codeCount = Math.max(200, SECONDS * 400);
  for (let i = 0; i < codeCount; i++) codes.push(await obtainCode(as, client, agent, { ...ADMIN, remember: true }, redirect));
  let next = 0;
  const codeRun = await withServerCpu(server, () => load({
    url: `${server.url}/token`,
    connections: 16,
    amount: codes.length,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    bodyFor: () => {
      const { code, verifier } = codes[next++]!;
      return new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: client.client_id }).toString();
    },
  }));

  // Refresh: 16 chains of rotating refresh tokens (see refreshLoad).
  const chains: RefreshChain[] = [];
  for (let i = 0; i < 16; i++) chains.push(await accessToken(server.url));
  const refreshRun = await withServerCpu(server, () => refreshLoad(`${server.url}/token`, chains, SECONDS));
  await server.stop();
  return {
    engine,
    'initialize/s (16 clients)': creation.requestsPerSecond,
    'first call after restart p50 ms': Math.round(median(first) * 100) / 100,
    'warm call p50 ms': Math.round(median(warm) * 100) / 100,
    'rebuild ≈ ms': Math.round((median(first) - median(warm)) * 100) / 100,
    'authorization_code/s': `${codeRun.requestsPerSecond} (${codeRun.non2xx} non-2xx)`,
    'server CPU per code µs': codeRun.serverCpuUs!,
    'refresh_token/s': `${refreshRun.requestsPerSecond} (${refreshRun.non2xx} non-2xx)`,
    'server CPU per refresh µs': refreshRun.serverCpuUs!,
  };
}

async function main() {
  const started = Date.now();
  console.log(`Gatehouse benchmark — ${new Date().toISOString()}, Node ${process.version}, ${SECONDS}s per load run\n`);
  if (ONLY.has('throughput')) {
    console.log(`## tools/call throughput (one trivial tool; each cell the median of ${ROUNDS} runs of ${SECONDS} s)\n`);
    console.log(`${await throughput()}\n`);
    console.log('## The /mcp rate limit\n');
    console.log(`${await rateLimitCost()}\n`);
  }
  if (ONLY.has('dispatch')) {
    console.log('## The floor under every /mcp row: the MCP SDK\'s own dispatch, in-process, no HTTP\n');
    console.log(`${table(await sdkDispatch())}\n`);
  }
  if (ONLY.has('gateway')) {
    console.log(`## The gateway: tools/call to an HTTP upstream, directly and through /mcp/<name> (each cell the median of ${ROUNDS} runs of ${SECONDS} s)\n`);
    console.log(`${await gateway()}\n`);
  }
  if (ONLY.has('sessions')) await sessionsSection();
  if (ONLY.has('memory')) {
    console.log('## Memory\n');
    const memory = await sessionMemory(10_000);
    console.log(
      `${table([
        {
          'idle sessions': memory.sessions,
          'held live after': memory.liveAfter,
          'RSS before MB': memory.rssBeforeMb,
          'RSS after MB': memory.rssAfterMb,
          'RSS per session KB': memory.perSessionKb,
          'reachable heap per session KB': memory.heapPerSessionKb,
        },
      ])}\n`,
    );
  }
  console.log(`(${Math.round((Date.now() - started) / 1000)} s)`);
}

async function sessionsSection() {
  console.log('## Sessions and the token endpoint\n');
  const builds: { label: string; bundle?: string }[] = [{ label: '' }];
  if (COMPARE_BUNDLE) builds.push({ label: ', earlier build', bundle: COMPARE_BUNDLE });
  const rows: Record<string, string | number>[] = [];
  for (const { label, bundle } of builds) rows.push(await sessionsAndTokens(`SQLite${label}`, tempDatabase(), bundle));
  for (const { label, bundle } of builds) {
    const postgres = await postgresDatabase();
    if (!postgres) {
      console.log(`(PostgreSQL at ${PG_ADMIN_URL} did not answer: its rows are left out.)\n`);
      break;
    }
    try {
      rows.push(await sessionsAndTokens(`PostgreSQL${label}`, postgres.url, bundle));
    } finally {
      await postgres.drop();
    }
  }
  console.log(`${table(rows)}\n`);
}

await main();
