import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ADMIN, createTestDatabase, freePort } from '../helpers/server.ts';

const FLAG = '--experimental-async-context-frame';
const onNode22 = process.versions.node.startsWith('22.');

test('the bundle npm start runs serves; on Node 22 the started process itself runs with async context frames', async (t) => {
  execFileSync(process.execPath, ['scripts/build.mjs']);
  t.regex(execFileSync(process.execPath, ['dist/gatehouse.js', '--help'], { encoding: 'utf8' }), /^Usage: gatehouse <command>/);

  const port = await freePort();
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/gatehouse.js', 'serve'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}`, DATABASE_URL: database.url, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  let ready: Response | undefined;
  for (let i = 0; i < 300 && !ready?.ok; i++) {
    ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (!ready?.ok) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.is(ready?.status, 200);
  // The process a supervisor started (the same pid) is the one serving: with the flag on Node 22; Node 24 needs none.
  const commandLine = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
  t.is(commandLine.includes(FLAG), onNode22, commandLine.join(' '));
  t.true(commandLine.includes('--enable-source-maps'), 'the options it was started with are kept');
});
