import { readFileSync } from 'node:fs';
import test from 'ava';
import { freePort, spawnGatehouse } from '../helpers/server.ts';

const FLAG = '--experimental-async-context-frame';
const onNode22 = process.versions.node.startsWith('22.');

test('serve keeps AsyncLocalStorage off promise hooks: on Node 22 the started process itself runs with async context frames', async (t) => {
  const server = await spawnGatehouse({ port: await freePort() });
  t.teardown(() => server.stop());
  // The process the supervisor started (same pid) is the one serving, with the flag on Node 22; Node 24 needs none.
  const commandLine = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').split('\0');
  t.is(commandLine.includes(FLAG), onNode22, commandLine.join(' '));
  t.true(commandLine.includes('serve'));
  const ready = await fetch(`${server.url}/readyz`);
  t.is(ready.status, 200);
  t.regex(ready.headers.get('x-request-id') ?? '', /^[\w-]{36}$/);
});
