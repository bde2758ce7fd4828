import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';

export type { Logger };

/** The request a log line was written for, wherever in the code it was written. */
const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/**
 * Paths pino blanks wherever they appear. Request logging never writes
 * headers, bodies or query strings in the first place; this is the net under it.
 */
const REDACT = [
  'password',
  '*.password',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'code',
  '*.code',
  'client_secret',
  '*.client_secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'sessionId',
  '*.sessionId',
];

/**
 * Errors are logged as what went wrong and where, nothing more. pino's default
 * serializer copies every enumerable property, and libraries hang request data
 * on their errors (jose a token's claims, pg a row's values, oidc-provider the
 * offending detail). The error's code travels as `errorCode` because `*.code`
 * is redacted: that name also carries OAuth authorization codes.
 */
function errorSummary(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message: error.message, ...(typeof code === 'string' ? { errorCode: code } : {}), stack: error.stack };
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      serializers: { err: errorSummary },
      redact: { paths: REDACT, censor: '[redacted]' },
      base: undefined,
      mixin: () => requestContext.getStore() ?? {},
    },
    destination as never,
  );
}

/** Runs `work` with every log line written inside it carrying this request id. */
export function withRequestId<T>(requestId: string, work: () => Promise<T>): Promise<T> {
  return requestContext.run({ requestId }, work);
}
