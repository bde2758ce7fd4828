import type { JSONRPCMessage } from '@modelcontextprotocol/server';

const encoder = new TextEncoder();

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

/**
 * One server-sent-events stream: JSON-RPC messages as `message` events,
 * comment lines as keep-alives so proxies and clients (Cursor drops a GET
 * stream idle for ~5 minutes) see traffic, and an idempotent close.
 */
export class SseStream {
  readonly readable: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private open = true;
  private readonly closeListeners: (() => void)[] = [];

  constructor(keepAliveMs: number) {
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => this.finish(false),
    });
    if (keepAliveMs > 0) {
      this.keepAlive = setInterval(() => this.comment('keep-alive'), keepAliveMs);
      this.keepAlive.unref();
    }
  }

  get isOpen(): boolean {
    return this.open;
  }

  onClose(listener: () => void): void {
    if (!this.open) listener();
    else this.closeListeners.push(listener);
  }

  write(message: JSONRPCMessage): boolean {
    return this.enqueue(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  /** A comment line: ignored by SSE parsers, but it keeps the connection visibly alive. */
  comment(text: string): boolean {
    return this.enqueue(`: ${text}\n\n`);
  }

  /** A raw event (the old HTTP+SSE transport's `endpoint` event). */
  event(name: string, data: string): boolean {
    return this.enqueue(`event: ${name}\ndata: ${data}\n\n`);
  }

  close(): void {
    this.finish(true);
  }

  private enqueue(text: string): boolean {
    if (!this.open) return false;
    try {
      this.controller.enqueue(encoder.encode(text));
      return true;
    } catch {
      this.finish(false);
      return false;
    }
  }

  private finish(closeController: boolean): void {
    if (!this.open) return;
    this.open = false;
    if (this.keepAlive) clearInterval(this.keepAlive);
    if (closeController) {
      try {
        this.controller.close();
      } catch {
        // already closed or cancelled by the reader
      }
    }
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
