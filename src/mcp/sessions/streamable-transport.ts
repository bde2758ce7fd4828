import {
  type AuthInfo,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageExtraInfo,
  type RequestId,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import type { Answer } from '../answer.ts';
import { isRequest, isResponse } from '../message-kinds.ts';
import { SSE_HEADERS, SseStream } from './sse-stream.ts';

/**
 * How a POST's answers travel back, chosen from its Accept header:
 * `json` (the client takes only JSON), `sse` (only an event stream), or `auto`
 * (either: one JSON body, upgraded to a stream only if the server has
 * something to say before the result, such as progress).
 */
export type ResponseMode = 'json' | 'sse' | 'auto';

interface Exchange {
  pending: Set<RequestId>;
  answers: JSONRPCMessage[];
  mode: ResponseMode;
  sessionId: string;
  /** Hands the HTTP answer to the waiting POST; set until it has one. */
  settle?: (answer: Answer) => void;
  stream?: SseStream;
  finished: boolean;
  finish: () => void;
}

export interface PostedMessages {
  messages: JSONRPCMessage[];
  authInfo: AuthInfo;
  mode: ResponseMode;
  /** Registers what to do when the client goes away before its answers are delivered. */
  whenClientLeaves?: (abandon: () => void) => void;
}

/**
 * The legacy (2024-11-05 … 2025-11-25) Streamable HTTP session transport:
 * one per session, connected to one McpServer. It routes each answer to the
 * HTTP request that asked for it, in the type that client accepts, holds the
 * standalone GET stream, and counts calls in flight so a DELETE can let them
 * finish before the session closes.
 *
 * The SDK's own session transport answers 406 to clients that accept only
 * JSON or only a stream, and closes in-flight streams when a DELETE arrives;
 * real clients do both, so Gatehouse owns this one piece.
 */
export class StreamableTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private readonly exchanges = new Map<RequestId, Exchange>();
  private standalone: SseStream | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly sessionId: string,
    private readonly keepAliveMs: number,
  ) {}

  async start(): Promise<void> {}

  get isClosed(): boolean {
    return this.closed;
  }

  get callsInFlight(): number {
    return this.inFlight;
  }

  /** Whether the client holds the standalone GET stream open. */
  get holdsStream(): boolean {
    return this.standalone !== undefined;
  }

  /** Delivers POSTed messages to the server and resolves with the HTTP answer. */
  handlePost({ messages, authInfo, mode, whenClientLeaves }: PostedMessages): Promise<Answer> {
    const extra: MessageExtraInfo = { authInfo };
    const requests = messages.filter(isRequest);
    if (requests.length === 0) {
      for (const message of messages) this.onmessage?.(message, extra);
      return Promise.resolve({ status: 202, headers: { 'mcp-session-id': this.sessionId } });
    }
    if (this.closed) return Promise.resolve(sessionGone());
    const duplicate = requests.find((message) => this.exchanges.has(message.id));
    if (duplicate) {
      return Promise.resolve(jsonRpcError(duplicate.id, -32600, 'a request with this id is already in progress on this session', 400));
    }

    return new Promise<Answer>((resolve) => {
      this.inFlight++;
      const exchange: Exchange = {
        pending: new Set(requests.map((message) => message.id)),
        answers: [],
        mode,
        sessionId: this.sessionId,
        settle: resolve,
        finished: false,
        finish: () => {
          if (exchange.finished) return;
          exchange.finished = true;
          for (const id of exchange.pending) this.exchanges.delete(id);
          this.inFlight--;
          if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
        },
      };
      for (const message of requests) this.exchanges.set(message.id, exchange);
      if (mode === 'sse') this.startStream(exchange);
      whenClientLeaves?.(() => this.abandon(exchange, requests));
      for (const message of messages) this.onmessage?.(message, extra);
    });
  }

  /**
   * Re-opens a session in a fresh transport after a restart or on another
   * instance: the stored initialize runs through the server again (so it knows
   * the client's capabilities and version), its answer goes nowhere, and the
   * client's `notifications/initialized` follows.
   */
  async replayInitialize(initialize: JSONRPCRequest, authInfo: AuthInfo): Promise<void> {
    const answer = await this.handlePost({ messages: [initialize], authInfo, mode: 'json' });
    if (answer.status !== 200) throw new Error(`replaying initialize failed with HTTP ${answer.status}`);
    await this.handlePost({ messages: [{ jsonrpc: '2.0', method: 'notifications/initialized' }], authInfo, mode: 'json' });
  }

  /** Opens the standalone GET stream, replacing one the client may have lost. */
  openStandaloneStream(): Answer {
    this.standalone?.close();
    const stream = new SseStream(this.keepAliveMs);
    this.standalone = stream;
    stream.onClose(() => {
      if (this.standalone === stream) this.standalone = undefined;
    });
    // The first bytes go out at once: clients wait for them before they trust the stream.
    stream.comment('stream open');
    return { status: 200, headers: { ...SSE_HEADERS, 'mcp-session-id': this.sessionId }, stream: stream.readable };
  }

  closeStandaloneStream(): void {
    this.standalone?.close();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isResponse(message)) {
      const id = message.id;
      const exchange = id === null || id === undefined ? undefined : this.exchanges.get(id);
      if (!exchange) return; // its client went away, or the session closed
      exchange.pending.delete(id!);
      this.exchanges.delete(id!);
      if (exchange.stream) {
        exchange.stream.write(message);
        if (exchange.pending.size === 0) {
          exchange.stream.close();
          exchange.finish();
        }
        return;
      }
      exchange.answers.push(message);
      if (exchange.pending.size === 0) {
        const json = exchange.answers.length === 1 ? exchange.answers[0] : exchange.answers;
        exchange.settle?.({ status: 200, headers: { 'mcp-session-id': this.sessionId }, json });
        exchange.settle = undefined;
        exchange.finish();
      }
      return;
    }

    const related = options?.relatedRequestId === undefined ? undefined : this.exchanges.get(options.relatedRequestId);
    if (related && related.mode !== 'json') {
      if (!related.stream) this.startStream(related);
      related.stream!.write(message);
      return;
    }
    // Unrelated server messages, and those for a JSON-only request, go on the standalone stream.
    this.standalone?.write(message);
  }

  /** Resolves when no call is in flight, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.standalone?.close();
    // Calls still running when the session is torn down (idle eviction never
    // does this; shutdown after its grace period may) get a clean error.
    for (const id of [...this.exchanges.keys()]) {
      void this.send({ jsonrpc: '2.0', id, error: { code: -32603, message: 'the session closed before this call finished' } });
    }
    this.onclose?.();
  }

  private startStream(exchange: Exchange): void {
    const stream = new SseStream(this.keepAliveMs);
    exchange.stream = stream;
    stream.onClose(() => exchange.finish());
    exchange.settle?.({ status: 200, headers: { ...SSE_HEADERS, 'mcp-session-id': exchange.sessionId }, stream: stream.readable });
    exchange.settle = undefined;
  }

  /** The client hung up: tell the server to stop working on its requests. */
  private abandon(exchange: Exchange, requests: JSONRPCRequest[]): void {
    if (exchange.finished) return;
    exchange.stream?.close();
    exchange.finish();
    for (const request of requests) {
      this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: request.id, reason: 'client disconnected' } });
    }
  }
}

function jsonRpcError(id: RequestId | null, code: number, message: string, status: number): Answer {
  return { status, headers: {}, json: { jsonrpc: '2.0', id, error: { code, message } } };
}

export function sessionGone(): Answer {
  return jsonRpcError(null, -32001, 'Session not found', 404);
}
