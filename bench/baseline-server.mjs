// The baseline: the MCP SDK's own server, no authentication at all, on a bare
// node:http server, serving the same tool the Gatehouse rows call. Sessions as
// the SDK documents them (one transport per session, JSON answers); 2026-07-28
// requests served statelessly by the SDK's own handler (a server per request).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { NodeStreamableHTTPServerTransport, toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

const sessions = new Map();

function buildServer() {
  const server = new McpServer({ name: 'baseline', version: '1.0.0' });
  server.registerTool('echo', { description: 'Returns its input.', inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  return server;
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const stateless = toNodeHandler(createMcpHandler(buildServer, { legacy: 'reject' }));

createServer(async (req, res) => {
  try {
    if (req.headers['mcp-protocol-version'] === '2026-07-28') return await stateless(req, res);
    const sessionId = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (sessionId && sessions.has(sessionId)) return await sessions.get(sessionId).handleRequest(req, res, body);
    if (!sessionId && isInitializeRequest(body)) {
      const transport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: true,
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      await buildServer().connect(transport);
      return await transport.handleRequest(req, res, body);
    }
    res.writeHead(sessionId ? 404 : 400).end();
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
