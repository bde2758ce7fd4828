import type { AuthInfo, JSONRPCMessage, MessageExtraInfo, Transport } from '@modelcontextprotocol/server';
import { SseStream } from './sse-stream.ts';

/**
 * The transport of one old-style (HTTP+SSE, protocol 2024-11-05) session:
 * everything the server says travels on the stream the client opened with
 * GET /sse; each POST /messages delivers the client's messages.
 */
export class SseTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  readonly stream: SseStream;

  constructor(
    readonly sessionId: string,
    keepAliveMs: number,
  ) {
    this.stream = new SseStream(keepAliveMs);
  }

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage): Promise<void> {
    this.stream.write(message);
  }

  async close(): Promise<void> {
    this.stream.close();
    this.onclose?.();
  }

  deliver(messages: readonly JSONRPCMessage[], authInfo: AuthInfo): void {
    for (const message of messages) this.onmessage?.(message, { authInfo });
  }
}
