import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/**
 * Reads a small request body and leaves it readable for the next reader.
 * oidc-provider parses /token bodies itself straight from the request stream;
 * this lets the rate limiter learn the client_id first without taking the body
 * away from it. Bodies over `limit` are not read (undefined), and the request
 * is left as it was for oidc-provider to refuse.
 */
export async function peekBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (!(declared <= limit)) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of req.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  Object.defineProperty(req, 'readable', { value: true, configurable: true });
  req.iterator = ((options?: { destroyOnReturn?: boolean }) => Readable.from([body]).iterator(options)) as IncomingMessage['iterator'];
  return body;
}
