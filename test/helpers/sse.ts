/**
 * A stream of the old HTTP+SSE transport (`GET /sse`), read the way a client
 * reads it, so a test can see when the server ends it.
 */
export interface LegacySseStream {
  status: number;
  /** The `endpoint` event: where this session's messages go. */
  endpoint: Promise<string>;
  /** Resolves when the server ends the stream (the body finishes or the connection drops). */
  ended: Promise<void>;
  /** True once `ended` has resolved. */
  readonly isEnded: boolean;
  close(): void;
}

export async function openLegacySse(baseUrl: string, token: string): Promise<LegacySseStream> {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/sse`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: controller.signal });
  let text = '';
  let resolveEndpoint!: (value: string) => void;
  const endpoint = new Promise<string>((resolve) => (resolveEndpoint = resolve));
  let isEnded = false;
  const ended = (async () => {
    if (!response.body) return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
        const match = /event: endpoint\ndata: (.+)\n/.exec(text);
        if (match) resolveEndpoint(match[1]!);
      }
    } catch {
      // the connection dropped: the stream is over all the same
    }
  })().finally(() => {
    isEnded = true;
  });
  return {
    status: response.status,
    endpoint,
    ended,
    get isEnded() {
      return isEnded;
    },
    close: () => controller.abort(),
  };
}

/** Resolves true when the stream ends within `ms`, false otherwise. */
export async function endsWithin(stream: LegacySseStream, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([stream.ended.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}
