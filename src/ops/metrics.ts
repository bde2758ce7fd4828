import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Counters a component keeps itself; read at scrape time so it need not know about Prometheus. */
type Tally = () => number;

/**
 * Gatehouse's Prometheus metrics, on a registry of its own (so several
 * instances in one test process do not collide), plus Node's default process
 * metrics (event-loop lag, memory, handles).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly httpRequests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time to the end of the response, by route and method (event streams excluded)',
    labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly mcpRequests = new Counter({
    name: 'gatehouse_mcp_requests_total',
    help: 'MCP JSON-RPC requests and notifications by method, tool (for tools/call) and protocol era',
    labelNames: ['method', 'tool', 'era'],
    registers: [this.registry],
  });
  private readonly authFailures = new Counter({
    name: 'gatehouse_auth_failures_total',
    help: 'Refused credentials by reason (bearer tokens at /mcp, passwords at sign-in)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly tokensIssued = new Counter({
    name: 'gatehouse_tokens_issued_total',
    help: 'Successful token endpoint requests by grant type',
    labelNames: ['grant_type'],
    registers: [this.registry],
  });
  private readonly deleteDrains = new Histogram({
    name: 'gatehouse_mcp_delete_drain_seconds',
    help: 'How long a DELETEd session waited for its calls in flight to finish',
    buckets: [0, 0.01, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });

  private readonly upstreamCalls = new Counter({
    name: 'gatehouse_upstream_calls_total',
    help: 'Requests the gateway sent to upstream MCP servers, by upstream and outcome (ok, error: the upstream answered with one; unavailable, timeout, busy, cancelled)',
    labelNames: ['upstream', 'outcome'],
    registers: [this.registry],
  });
  private readonly upstreamDuration = new Histogram({
    name: 'gatehouse_upstream_call_duration_seconds',
    help: 'Time the gateway waited for upstream MCP servers, by upstream',
    labelNames: ['upstream'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
  }

  private readonly requestChildren = perLabels((route: string, method: string, status: string) => ({
    count: this.httpRequests.labels(route, method, status),
    time: this.httpDuration.labels(route, method),
  }));

  /** `route` is a route pattern from the route table (or `unmatched`): a bounded set of values. */
  httpRequest(route: string, method: string, status: number, seconds: number | undefined): void {
    const children = this.requestChildren(route, method, String(status));
    children.count.inc();
    if (seconds !== undefined) children.time.observe(seconds);
  }

  mcpRequest(method: string, tool: string, era: 'legacy' | 'modern'): void {
    this.mcpRequests.inc({ method, tool, era });
  }

  authFailure(reason: string): void {
    this.authFailures.inc({ reason });
  }

  tokenIssued(grantType: string): void {
    this.tokensIssued.inc({ grant_type: grantType });
  }

  private readonly upstreamChildren = perLabels((upstream: string, outcome: string) => ({
    count: this.upstreamCalls.labels(upstream, outcome),
    time: this.upstreamDuration.labels(upstream),
  }));

  /** Once per proxied call. */
  upstreamCall(upstream: string, outcome: string, seconds: number): void {
    const children = this.upstreamChildren(upstream, outcome);
    children.count.inc();
    children.time.observe(seconds);
  }

  deleteDrained(seconds: number): void {
    this.deleteDrains.observe(seconds);
  }

  /** A gauge whose value is read when Prometheus scrapes. */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /** A counter a component keeps as a plain number, exported as it grows. */
  counter(name: string, help: string, tally: Tally): void {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const now = tally();
        this.inc(now - last);
        last = now;
      },
    });
  }

  /** The same, for a family of numbers told apart by one label. */
  labelledCounter(name: string, help: string, label: string, tallies: Record<string, Tally>): void {
    const last = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        for (const [value, tally] of Object.entries(tallies)) {
          const now = tally();
          this.inc({ [label]: value }, now - (last.get(value) ?? 0));
          last.set(value, now);
        }
      },
    });
  }
}

/**
 * `make`, called once per set of label values: label sets repeat on every
 * request, and prom-client looks a child up by hashing its labels each time.
 */
function perLabels<Labels extends string[], Children>(make: (...labels: Labels) => Children): (...labels: Labels) => Children {
  const made = new Map<string, Children>();
  return (...labels) => {
    const key = labels.join('\0');
    let children = made.get(key);
    if (!children) made.set(key, (children = make(...labels)));
    return children;
  };
}
