/**
 * Finding 14: idle keep-alive connections were closed after Node's default
 * 5 s. Load balancers keep idle upstream connections for 60 s (AWS ALB, many
 * nginx setups) and reuse them: a request sent on a connection Gatehouse has
 * just closed fails with a 502. `HTTP_KEEPALIVE_TIMEOUT` (default 65 s) makes
 * Gatehouse outlast them. Observed through `startGatehouse()`, which attaches
 * Gatehouse to its own node:http server exactly as `npm start` does.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import test from 'ava';
import { startGatehouse } from '../helpers/server.ts';

/** One GET on this agent; resolves with the status and the socket it travelled on. */
function get(agent: Agent, url: string): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket as Socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

const idle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('an idle keep-alive connection is still open after 6 s and carries the next request (default HTTP_KEEPALIVE_TIMEOUT)', async (t) => {
  const gh = await startGatehouse();
  t.teardown(() => gh.close());
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const first = await get(agent, `${gh.url}/healthz`);
  t.is(first.status, 200);
  const port = first.socket.localPort;
  // A deliberate time bound: longer than Node's 5 s default, far shorter than the 65 s default.
  await idle(6000);
  const second = await get(agent, `${gh.url}/healthz`);
  t.is(second.status, 200);
  t.true(second.socket === first.socket, `the server closed the idle connection: the second request went out from port ${second.socket.localPort}, not ${port}`);
});

test('with HTTP_KEEPALIVE_TIMEOUT=1s, a connection idle for 2 s has been closed and the next request opens a new one', async (t) => {
  const gh = await startGatehouse({ env: { HTTP_KEEPALIVE_TIMEOUT: '1s' } });
  t.teardown(() => gh.close());
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const first = await get(agent, `${gh.url}/healthz`);
  t.is(first.status, 200);
  await idle(2000);
  const second = await get(agent, `${gh.url}/healthz`);
  t.is(second.status, 200);
  t.false(second.socket === first.socket, 'the connection idle for 2 s was still open with HTTP_KEEPALIVE_TIMEOUT=1s');
});
