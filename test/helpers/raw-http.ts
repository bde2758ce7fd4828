import { request, type IncomingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Milliseconds from sending the headers to the status line. */
  ms: number;
}

/**
 * One HTTP request over node:http, for what fetch cannot do: declare a
 * Content-Length and send less (`end: false` keeps the body open), or keep
 * sending a large body while the server has already answered. Resolves with
 * the response as soon as its status line and body arrive; write errors after
 * the server answered (it may close the connection) are not failures.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; end?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { method: options.method ?? 'POST', headers: options.headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const ms = performance.now() - started;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const finish = () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms });
      };
      res.on('end', finish);
      res.on('error', finish);
      res.on('aborted', finish);
    });
    req.on('error', (error) => {
      if (answered) return;
      clearTimeout(timer);
      reject(error);
    });
    req.flushHeaders();
    // The body goes in slices, and stops as soon as the server has answered (as a browser would).
    const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
    void (async () => {
      for (let offset = 0; offset < body.length && !answered && !req.destroyed; offset += 64 * 1024) {
        if (!req.write(body.subarray(offset, offset + 64 * 1024))) await new Promise((resolve) => req.once('drain', resolve).once('close', resolve));
      }
      if (options.end !== false && !answered && !req.destroyed) req.end();
    })();
  });
}
