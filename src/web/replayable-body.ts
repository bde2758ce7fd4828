import type { IncomingMessage } from 'node:http';

/** Bodies already read from their request, so a second reader before oidc-provider does not read them again. */
const peeked = new WeakMap<IncomingMessage, Buffer>();

/**
 * Makes `body` what the next reader of the request (oidc-provider's own
 * parser, which iterates the request) reads: one chunk from a generator, not
 * a stream built for it.
 */
function replay(req: IncomingMessage, body: Buffer): void {
  peeked.set(req, body);
  Object.defineProperty(req, 'readable', { value: true, configurable: true });
  req.iterator = (async function* () {
    yield body;
  }) as IncomingMessage['iterator'];
}

/**
 * Reads a small request body and leaves it readable for the next reader.
 * oidc-provider parses /token bodies itself straight from the request stream;
 * this lets the rate limiter learn the client_id first without taking the body
 * away from it. Bodies over `limit` are not read (undefined), and the request
 * is left as it was for oidc-provider to refuse. A body peeked at before is
 * handed out again as it stands.
 */
export async function peekBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const earlier = peeked.get(req);
  if (earlier) return earlier;
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (!(declared <= limit)) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of req.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  replay(req, body);
  return body;
}

/** Replaces a body already peeked at: the next reader gets `body`, with a Content-Length to match. */
export function replaceBody(req: IncomingMessage, body: Buffer): void {
  req.headers['content-length'] = String(body.length);
  replay(req, body);
}
