// The ceiling: a bare node:http server answering tools/call with the same
// JSON-RPC result the Gatehouse rows get, and nothing else (no auth, no
// sessions, no MCP). It reads and parses the body as every real server must,
// so the difference to it is what the MCP machinery and the checks cost.
import { createServer } from 'node:http';

createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let message;
    try {
      message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return void res.writeHead(400).end();
    }
    const text = message?.params?.arguments?.text ?? '';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ result: { content: [{ type: 'text', text }] }, jsonrpc: '2.0', id: message?.id ?? null }));
  });
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
