import { once } from 'node:events';
import type { Context } from 'koa';

/**
 * Writes a web-standard Response (what the MCP SDK and our session transport
 * produce) straight to the Node response, bypassing Koa's body handling:
 * event streams get their headers flushed at once and every chunk written as
 * it comes, with backpressure, and stop cleanly when the client goes away.
 */
export async function writeWebResponse(ctx: Context, response: Response): Promise<void> {
  ctx.respond = false;
  const res = ctx.res;
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  if (!response.body) {
    res.end();
    return;
  }
  const streaming = response.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
  if (streaming) {
    res.socket?.setNoDelay(true);
    res.flushHeaders();
  }
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  res.once('close', stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) break;
      if (!res.write(value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
  } catch {
    // The producer failed or the client left; either way the exchange is over.
  } finally {
    res.off('close', stop);
    if (!res.writableEnded) res.end();
  }
}

/** Aborts when the client goes away before its answer is complete. */
export function clientGone(ctx: Context): AbortSignal {
  const controller = new AbortController();
  ctx.res.once('close', () => {
    // 'close' also follows a completed response; only an unfinished one means the client left.
    if (!ctx.res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** Headers that describe the original connection or body framing, not the request. */
const NOT_FORWARDED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer']);

/** Koa's request as a web-standard Request, for handlers written against the fetch API. */
export function toWebRequest(ctx: Context, origin: string, body?: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (value === undefined || NOT_FORWARDED.has(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return new Request(`${origin}${ctx.url}`, {
    method: ctx.method,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: clientGone(ctx),
  });
}
