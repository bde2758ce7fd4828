import { once } from 'node:events';
import type { Context } from 'koa';
import type { Answer } from '../mcp/answer.ts';

export type { Answer } from '../mcp/answer.ts';

/**
 * Writes an answer to the Node response, bypassing Koa's body handling: a
 * JSON body in one write with its headers; event streams with their headers
 * flushed at once and every chunk written as it comes, with backpressure,
 * stopping cleanly when the client goes away.
 */
export async function writeAnswer(ctx: Context, answer: Answer): Promise<void> {
  ctx.respond = false;
  const res = ctx.res;
  res.statusCode = answer.status;
  for (const name in answer.headers) res.setHeader(name, answer.headers[name]!);
  if (answer.json !== undefined) res.setHeader('content-type', 'application/json');
  const body = answer.json !== undefined ? JSON.stringify(answer.json) : answer.text;
  if (body !== undefined) {
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
    return;
  }
  if (!answer.stream) {
    res.end();
    return;
  }
  res.socket?.setNoDelay(true);
  res.flushHeaders();
  const reader = answer.stream.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  res.once('close', stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
  } catch {
    // The producer failed or the client left; either way the exchange is over.
  } finally {
    res.off('close', stop);
    if (!res.writableEnded) res.end();
  }
}

/**
 * Writes a web-standard Response (what the MCP SDK's modern handler returns).
 * A JSON answer is complete when the SDK hands it over: it goes out in one
 * write with its headers, not as a stream of chunks (the profile showed a
 * flush and a write per chunk costing more than the call). Event streams stream.
 */
export async function writeWebResponse(ctx: Context, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  if (!response.body) return writeAnswer(ctx, { status: response.status, headers });
  if (!headers['content-type']?.startsWith('application/json')) return writeAnswer(ctx, { status: response.status, headers, stream: response.body });
  return writeAnswer(ctx, { status: response.status, headers, text: await response.text() });
}

/** Calls `abandon` if the client goes away before its answer is complete. */
export function whenClientLeaves(ctx: Context, abandon: () => void): void {
  ctx.res.once('close', () => {
    // 'close' also follows a completed response; only an unfinished one means the client left.
    if (!ctx.res.writableFinished) abandon();
  });
}

/** Headers that describe the original connection or body framing, not the request. */
const NOT_FORWARDED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer']);

/**
 * Koa's request as a web-standard Request, for handlers written against the
 * fetch API: method, URL, headers and a signal that fires when the client
 * leaves. Without the body: it has been read, and goes to the handler parsed.
 */
export function toWebRequest(ctx: Context, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (value === undefined || NOT_FORWARDED.has(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const controller = new AbortController();
  whenClientLeaves(ctx, () => controller.abort());
  return new Request(`${origin}${ctx.url}`, {
    method: ctx.method,
    headers,
    signal: controller.signal,
  });
}
