/**
 * An HTTP answer the MCP transports build, free of any HTTP framework: a
 * status, headers, and a JSON body or an event stream (or nothing). Lighter
 * than a web Response on the hot path: the web adapter writes JSON once,
 * straight onto the socket.
 */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  json?: unknown;
  /** A body already serialized, its content type among the headers (a web Response's JSON, read whole). */
  text?: string;
  stream?: ReadableStream<Uint8Array>;
}
