import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * A loopback load balancer for tests, like a proxy without sticky sessions:
 * each request goes to the next instance in turn, or to the one a test pins.
 * An instance that refuses the connection (killed) is skipped, as a proxy
 * would retry the next upstream. Responses stream through (event streams too).
 */
export interface Balancer {
  url: string;
  /** The instances' base URLs, in turn order. */
  targets: string[];
  /** Sends every request to this instance from now on; `undefined` goes back to round-robin. */
  pin(target: string | undefined): void;
  /** Requests each instance answered. */
  served: Map<string, number>;
  close(): Promise<void>;
}

export async function startBalancer(port = 0, targets: string[] = []): Promise<Balancer> {
  let next = 0;
  let pinned: string | undefined;
  const served = new Map<string, number>();
  const balancer: Balancer = {
    url: '',
    targets,
    pin: (target) => (pinned = target),
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, tried: number): void {
    const target = pinned ?? balancer.targets[next++ % balancer.targets.length]!;
    const upstream = request(new URL(req.url!, target), { method: req.method, headers: req.headers }, (answer) => {
      served.set(target, (served.get(target) ?? 0) + 1);
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
      // The instance died mid-answer: the client sees its connection end, as behind a real proxy.
      answer.on('close', () => {
        if (!answer.complete) res.destroy();
      });
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' && !pinned && tried + 1 < balancer.targets.length) return forward(req, res, body, tried + 1);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), 0));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  balancer.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return balancer;
}
