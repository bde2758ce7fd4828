import type { Context } from 'koa';

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the raw request body, refusing more than `limit` bytes. (Plain
 * events rather than an async iterator: this sits on every MCP request.)
 * Whatever follows a refused body is read and dropped, so the refusal can
 * still be answered.
 */
export function readRawBody(ctx: Context, limit: number, options: { deadlineMs?: number } = {}): Promise<Buffer> {
  const tooLarge = () => new BodyError(413, `request body larger than ${limit} bytes`);
  const declared = Number(ctx.get('content-length') || NaN);
  const req = ctx.req;
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const deadline = options.deadlineMs === undefined ? undefined : setTimeout(() => done(() => reject(new BodyError(408, 'the request body did not arrive in time'))), options.deadlineMs);
    const done = (settle: () => void) => {
      clearTimeout(deadline);
      req.off('data', onData).off('end', onEnd).off('error', onError);
      settle();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limit) chunks.push(chunk);
      else done(() => reject(tooLarge()));
    };
    const onEnd = () => done(() => resolve(Buffer.concat(chunks, received)));
    const onError = (error: Error) => done(() => reject(error));
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

/** A small urlencoded form (our own pages post these). */
export async function readForm(ctx: Context, limit = 16 * 1024): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new BodyError(415, 'expected a form submission');
  const raw = await readRawBody(ctx, limit);
  const form: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(raw.toString('utf8'))) if (!(key in form)) form[key] = value;
  return form;
}
