/**
 * What the MCP SDK's dispatch of one `tools/call` costs by itself, in this
 * process, with no HTTP, no auth and no Gatehouse code: the floor under every
 * /mcp row of the throughput table. Compared with the ceiling's own work per
 * request (parse the body, write the answer), it tells how much of the HTTP
 * ceiling any server that dispatches through the SDK can reach.
 *
 * `node --import tsx bench/sdk-dispatch.ts`, or the `dispatch` part of `npm run bench`.
 */
import { createMcpHandler, McpServer, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { CALL, MODERN, MODERN_CALL, parsedWithId } from './requests.ts';

const CALLS = Number(process.env.BENCH_DISPATCH_CALLS ?? 20_000);

/** The tool's schema is built once, as a real server's (and Gatehouse's) are. */
const echoInput = z.object({ text: z.string() });

/** The same server and tool as the bench's baseline and Gatehouse rows. */
function buildServer(): McpServer {
  const server = new McpServer({ name: 'dispatch', version: '1.0.0' });
  server.registerTool('echo', { description: 'Returns its input.', inputSchema: echoInput }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}

/** A transport that hands a message to the server and resolves with its answer: nothing but dispatch. */
class DirectTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private waiting = new Map<string | number, (message: JSONRPCMessage) => void>();
  async start(): Promise<void> {}
  async close(): Promise<void> {
    this.onclose?.();
  }
  async send(message: JSONRPCMessage): Promise<void> {
    if ('id' in message && message.id !== undefined) this.waiting.get(message.id)?.(message);
  }
  call(message: JSONRPCMessage & { id: number }): Promise<JSONRPCMessage> {
    return new Promise((resolve) => {
      this.waiting.set(message.id, (answer) => (this.waiting.delete(message.id), resolve(answer)));
      this.onmessage?.(message);
    });
  }
}

/** Microseconds of this thread's time per call, after a warm-up of a tenth as many. */
async function perCall(run: (i: number) => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < CALLS / 10; i++) await run(i);
  const started = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await run(i);
  const used = process.cpuUsage(started);
  return Math.round(((used.user + used.system) / CALLS) * 10) / 10;
}

export async function sdkDispatch(): Promise<Record<string, string | number>[]> {
  // What the ceiling server does per request besides HTTP: parse the body, build and serialise the answer.
  const parseAndAnswer = await perCall((i) => {
    const message = parsedWithId(CALL, i);
    return JSON.stringify({ result: { content: [{ type: 'text', text: message.params.arguments.text }] }, jsonrpc: '2.0', id: message.id });
  });

  const server = buildServer();
  const transport = new DirectTransport();
  await server.connect(transport);
  await transport.call({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
  await transport.onmessage?.({ jsonrpc: '2.0', method: 'notifications/initialized' });
  const session = await perCall((i) => transport.call(parsedWithId(CALL, i + 1)));

  const handler = createMcpHandler(buildServer, { legacy: 'reject' });
  const stateless = await perCall(async (i) => {
    const response = await handler.fetch(new Request('http://127.0.0.1/mcp', { method: 'POST', headers: MODERN }), { parsedBody: parsedWithId(MODERN_CALL, i) });
    return response.text();
  });
  await handler.close();

  return [
    { 'work per tools/call (no HTTP)': 'parse the body and write the answer (what the ceiling does)', 'µs of CPU': parseAndAnswer },
    { 'work per tools/call (no HTTP)': 'MCP SDK McpServer dispatch on a legacy session', 'µs of CPU': session },
    { 'work per tools/call (no HTTP)': 'MCP SDK createMcpHandler, 2026-07-28 stateless', 'µs of CPU': stateless },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = await import('./lib.ts');
  console.log(table(await sdkDispatch()));
}
