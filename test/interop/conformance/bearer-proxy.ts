import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';

export interface BearerProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A loopback reverse proxy that adds `Authorization: Bearer <token>` to every
 * request and changes nothing else: Host and Origin pass through as the
 * client sent them (so Gatehouse's DNS-rebinding guard judges the client's
 * own headers), and answers stream back as they come (event streams too).
 * The conformance suite's server runner has no way to send a token itself.
 */
export async function startBearerProxy(target: string, token: string): Promise<BearerProxy> {
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    const headers: IncomingHttpHeaders = { ...incoming.headers, authorization: `Bearer ${token}` };
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers, setHost: false },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
        outgoing.flushHeaders();
        answer.pipe(outgoing);
      },
    );
    forward.once('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502).end();
      else outgoing.destroy();
    });
    // A client that hangs up (the end of an event stream) ends the upstream request too.
    outgoing.once('close', () => forward.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
