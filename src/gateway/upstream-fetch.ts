import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

/** Statuses whose response has no body. */
const NULL_BODY = new Set([204, 205, 304]);

/**
 * `fetch` for the gateway's upstream calls, on node:http with keep-alive
 * sockets. Node's own fetch (undici) costs a good part of a millisecond per
 * call in its request/response machinery and web streams; a proxied
 * tools/call pays that on every request. Bodies that are not event streams
 * (a JSON answer, an error page) are read here in full and handed over as a
 * `Response`-shaped buffer; an event stream (a POST answered with SSE, the GET
 * stream, the HTTP+SSE transport) stays a stream, as it arrives.
 *
 * It follows no redirects: the SDK's transports ask with `redirect: 'manual'`
 * and apply their own policy. An aborted signal ends the request, or the
 * body still streaming, with the signal's reason, as `fetch` does.
 */
export class UpstreamFetch {
  // An idle socket is let go after 4 s, or a second before the server's announced keep-alive timeout
  // (Node honours the hint only under an agent timeout), so a reused socket is rarely one the server is closing.
  private readonly http = new HttpAgent({ keepAlive: true, timeout: 4_000 });
  private readonly https = new HttpsAgent({ keepAlive: true, timeout: 4_000 });

  /** Where each URL the transports ask for goes, parsed once (an upstream's URL rarely changes). */
  private readonly targets = new Map<string, Target>();

  /**
   * `fetch`, with `extra` headers over the request's own (the gateway's identity header: it
   * replaces whatever `Authorization` the request had).
   */
  readonly fetch = (input: string | URL, init: RequestInit = {}, extra?: Record<string, string>): Promise<Response> => {
    const href = typeof input === 'string' ? input : input.href;
    const body = init.body;
    const target = this.targetOf(href);
    if ((body !== undefined && body !== null && typeof body !== 'string') || !target) {
      // Nothing the SDK sends today; kept correct rather than fast. Node's fetch lets go of the
      // listener it adds to a signal only at garbage collection, and the transport hands every
      // request its session's one signal: a signal of the request's own keeps that one clean.
      const headers = new Headers(init.headers);
      for (const [name, value] of Object.entries(extra ?? {})) headers.set(name, value);
      return fetch(input, { ...init, headers, ...(init.signal ? { signal: AbortSignal.any([init.signal]) } : {}) });
    }
    return this.send(target, init, plainHeaders(init.headers, extra, body ?? undefined), body ?? undefined, false);
  };

  /** Lets go of the idle sockets (the open streams end with their requests). */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  private targetOf(href: string): Target | undefined {
    let target = this.targets.get(href);
    if (target) return target;
    const url = new URL(href);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    const secure = url.protocol === 'https:';
    target = {
      href,
      secure,
      options: {
        protocol: url.protocol,
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port || (secure ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        ...(url.username || url.password ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` } : {}),
        agent: secure ? this.https : this.http,
      },
    };
    if (this.targets.size >= 1000) this.targets.clear();
    this.targets.set(href, target);
    return target;
  }

  private send(target: Target, init: RequestInit, headers: OutgoingHttpHeaders, body: string | undefined, retry: boolean): Promise<Response> {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Response>((resolve, reject) => {
      const method = init.method ?? 'GET';
      const request = (target.secure ? httpsRequest : httpRequest)({ ...target.options, method, headers });
      let settled = false;
      let response: IncomingMessage | undefined;
      const onAbort = () => {
        const reason = signal!.reason;
        if (!settled) {
          settled = true;
          reject(reason);
        }
        request.destroy(reason);
        response?.destroy(reason);
      };
      const done = () => signal?.removeEventListener('abort', onAbort);
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        done();
        // A kept-alive socket the server closed as we reused it: the request never reached it, so it is sent again, once.
        if (request.reusedSocket && error.code === 'ECONNRESET' && !retry && !signal?.aborted) {
          resolve(this.send(target, init, headers, body, true));
          return;
        }
        reject(new TypeError('fetch failed', { cause: error }));
      });
      request.on('response', (incoming) => {
        response = incoming;
        const status = incoming.statusCode ?? 0;
        const responseHeaders = new Headers();
        const raw = incoming.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) responseHeaders.append(raw[i]!, raw[i + 1]!);
        const shape = { status, statusText: incoming.statusMessage ?? '', headers: responseHeaders };
        if (status < 200 || status > 599) {
          // No `Response` has such a status; `fetch` fails the same way.
          settled = true;
          done();
          incoming.destroy();
          reject(new TypeError('fetch failed', { cause: new Error(`HTTP status ${status}`) }));
          return;
        }
        if (isEventStream(responseHeaders.get('content-type')) && !NULL_BODY.has(status) && method !== 'HEAD') {
          // The stream ends when the server ends it, the reader cancels it, or the signal aborts it.
          incoming.once('close', done);
          settled = true;
          resolve(new Response(Readable.toWeb(incoming) as ReadableStream<Uint8Array>, shape));
          return;
        }
        const chunks: Buffer[] = [];
        const fail = (error: Error) => {
          if (settled) return;
          settled = true;
          done();
          reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error }));
        };
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.once('error', fail);
        // Closed before its end: the connection broke mid-answer.
        incoming.once('close', () => fail(new Error('the connection closed before the answer ended')));
        incoming.once('end', () => {
          if (settled) return;
          settled = true;
          done();
          resolve(new BufferedResponse(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), shape, target.href) as unknown as Response);
        });
      });
      request.end(body);
    });
  }
}

interface Target {
  href: string;
  secure: boolean;
  options: RequestOptions;
}

/**
 * A body read in full, in the shape of a `Response` for all the SDK's transports read of one
 * (status, headers, text, json; a body stream when asked). Building undici's own `Response`
 * and reading it back through its stream costs more than the rest of the answer's handling.
 */
class BufferedResponse {
  readonly type = 'basic';
  readonly redirected = false;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  private used = false;

  constructor(
    private readonly data: Buffer,
    shape: { status: number; statusText: string; headers: Headers },
    readonly url: string,
  ) {
    this.status = shape.status;
    this.statusText = shape.statusText;
    this.headers = shape.headers;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get bodyUsed(): boolean {
    return this.used;
  }

  /** A stream of the body, as `fetch` gives (none for an empty one, as for a 204). */
  get body(): ReadableStream<Uint8Array> | null {
    return this.used || this.data.length === 0 ? null : this.consume(() => new Response(this.data).body);
  }

  async text(): Promise<string> {
    return this.consume(() => this.data.toString('utf8'));
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.consume(() => this.data.buffer.slice(this.data.byteOffset, this.data.byteOffset + this.data.byteLength) as ArrayBuffer);
  }

  async bytes(): Promise<Uint8Array> {
    return this.consume(() => new Uint8Array(this.data));
  }

  clone(): Response {
    if (this.used) throw new TypeError('Response body is already used');
    return new BufferedResponse(this.data, this, this.url) as unknown as Response;
  }

  /** As a `Response`: a body is read once. */
  private consume<T>(read: () => T): T {
    if (this.used) throw new TypeError('Response body is already used');
    this.used = true;
    return read();
  }
}

/** The request's headers as node:http takes them, `extra` over them and the body's length set. */
function plainHeaders(headers: RequestInit['headers'], extra: Record<string, string> | undefined, body: string | undefined): OutgoingHttpHeaders {
  const plain: OutgoingHttpHeaders = {};
  if (headers instanceof Headers || Array.isArray(headers)) {
    for (const [name, value] of headers) plain[name.toLowerCase()] = value;
  } else if (headers) {
    for (const [name, value] of Object.entries(headers as Record<string, string>)) plain[name.toLowerCase()] = value;
  }
  if (extra) for (const [name, value] of Object.entries(extra)) plain[name.toLowerCase()] = value;
  if (body !== undefined) plain['content-length'] = Buffer.byteLength(body);
  return plain;
}

function isEventStream(contentType: string | null): boolean {
  return contentType !== null && contentType.split(';', 1)[0]!.trim().toLowerCase() === 'text/event-stream';
}
