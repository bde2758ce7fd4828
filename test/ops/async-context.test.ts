import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { freePort, spawnGatehouse } from '../helpers/server.ts';

const FLAG = '--experimental-async-context-frame';
const onNode22 = process.versions.node.startsWith('22.');

test('the bundle npm start runs serves; on Node 22 the started process itself runs with async context frames', async (t) => {
  execFileSync(process.execPath, ['scripts/build.mjs']);
  t.regex(execFileSync(process.execPath, ['dist/gatehouse.js', '--help'], { encoding: 'utf8' }), /^Usage: gatehouse <command>/);

  const server = await spawnGatehouse({ port: await freePort(), node: ['--enable-source-maps', 'dist/gatehouse.js'] });
  t.teardown(() => server.stop());
  t.is((await fetch(`${server.url}/readyz`)).status, 200);
  // The process a supervisor started (the same pid) is the one serving: with the flag on Node 22; Node 24 needs none.
  const commandLine = readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8').split('\0');
  t.is(commandLine.includes(FLAG), onNode22, commandLine.join(' '));
  t.true(commandLine.includes('--enable-source-maps'), 'the options it was started with are kept');
});
