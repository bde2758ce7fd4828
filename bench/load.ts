import autocannon from 'autocannon';
import { Agent, request } from 'node:http';

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
  /** CPU time the server spent per request, when measured (see bench/run.ts). */
  serverCpuUs?: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Run for this long… */
  seconds?: number;
  /** …or until this many requests were sent. */
  amount?: number;
  method?: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  /** The body; `[<id>]` in it becomes a fresh JSON-RPC id on every request. */
  body?: string;
  /** Per-connection headers (a session each, for example), by connection index. */
  headersFor?: (connection: number) => Record<string, string>;
  /** Builds each request's body; `context` is shared by a request and its answer. */
  bodyFor?: (context: Record<string, unknown>) => string;
  onBody?: (context: Record<string, unknown>, status: number, body: string) => void;
}

/** One load run with autocannon; latencies in milliseconds. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  let connection = 0;
  let id = 0;
  // A fixed amount is timed from the first answer to the last: autocannon itself ends on its next
  // one-second tick, which made 750 requests to the bare ceiling server read as 734/s.
  let firstAnswer = 0;
  let lastAnswer = 0;
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 5 }),
    method: options.method ?? 'POST',
    headers: options.headers,
    // autocannon's own idReplacement breaks per-client headers, so ids are numbered here.
    setupClient: options.headersFor
      ? (client: { setHeaders(headers: Record<string, string>): void }) => client.setHeaders({ ...(options.headers ?? {}), ...options.headersFor!(connection++) })
      : undefined,
    requests: [
      {
        setupRequest: (request: Record<string, unknown>, context: Record<string, unknown>) => ({
          ...request,
          body: options.bodyFor ? options.bodyFor(context) : options.body?.replace('"[<id>]"', String(++id)),
        }),
        ...(options.onBody
          ? { onResponse: (status: number, body: string, context: Record<string, unknown>) => options.onBody!(context, status, body) }
          : {}),
      },
    ],
  } as autocannon.Options) as Promise<autocannon.Result> & autocannon.Instance;
  instance.on('response', () => {
    lastAnswer = performance.now();
    firstAnswer ||= lastAnswer;
  });
  const result = await instance;
  return {
    requestsPerSecond: Math.round(options.amount ? ((result.requests.total - 1) * 1000) / Math.max(1, lastAnswer - firstAnswer) : result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

/** A chain of refresh tokens of one client: each grant rotates it. */
export interface RefreshChain {
  refreshToken: string;
  clientId: string;
}

/**
 * refresh_token grants with rotation at `tokenUrl`, 16 at a time: each
 * request takes a chain's newest refresh token and puts back its replacement,
 * so no chain is used by two requests at once.
 */
export function refreshLoad(tokenUrl: string, chains: RefreshChain[], seconds: number): Promise<LoadResult> {
  return load({
    url: tokenUrl,
    connections: chains.length,
    seconds,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    bodyFor: (context) => {
      const chain = chains.shift()!;
      context.chain = chain;
      return new URLSearchParams({ grant_type: 'refresh_token', refresh_token: chain.refreshToken, client_id: chain.clientId }).toString();
    },
    onBody: (context, status, body) => {
      const chain = context.chain as RefreshChain;
      if (status === 200) chain.refreshToken = (JSON.parse(body) as { refresh_token: string }).refresh_token;
      chains.push(chain);
    },
  });
}

export interface SequentialTarget {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The body; `[<id>]` in it becomes a fresh JSON-RPC id on every request. */
  body: string;
}

/**
 * One client, one request at a time, each timed to the microsecond:
 * autocannon's latencies are whole milliseconds, too coarse to tell what a
 * hop adds. The targets take turns in blocks, so a busy moment of a shared
 * machine falls on all of them alike. Percentiles in microseconds.
 */
export async function sequentialLatency(targets: SequentialTarget[], calls: number, block = 250): Promise<Map<string, { p50: number; p90: number; p99: number }>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let id = 0;
  const send = (target: SequentialTarget) =>
    new Promise<void>((resolve, reject) => {
      const body = target.body.replace('"[<id>]"', String(++id));
      const req = request(target.url, { method: 'POST', headers: { ...target.headers, 'content-length': Buffer.byteLength(body) }, agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${target.name}: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  const samples = new Map(targets.map((target) => [target.name, [] as number[]]));
  for (const target of targets) for (let i = 0; i < block; i++) await send(target); // warm-up
  for (let done = 0; done < calls; done += block) {
    for (const target of targets) {
      for (let i = 0; i < block; i++) {
        const started = performance.now();
        await send(target);
        samples.get(target.name)!.push((performance.now() - started) * 1000);
      }
    }
  }
  agent.destroy();
  const at = (sorted: number[], p: number) => Math.round(sorted[Math.floor(p * (sorted.length - 1))]!);
  return new Map(
    [...samples].map(([name, list]) => {
      const sorted = list.sort((a, b) => a - b);
      return [name, { p50: at(sorted, 0.5), p90: at(sorted, 0.9), p99: at(sorted, 0.99) }];
    }),
  );
}
