const FLAG = '--experimental-async-context-frame';

/**
 * On Node 22, AsyncLocalStorage (the request id on every log line,
 * oidc-provider's request context) runs on promise hooks that tax every
 * promise the process makes: a tools/call costs about a fifth more CPU that
 * way (bench/run.ts, server CPU per request). Node 24 keeps the context in
 * frames by default; Node 22 does behind a flag. `serve` restarts itself in
 * place with that flag (execve: the same process id, so signals, supervisors
 * and containers see no difference), whether started by `npm start`, by
 * `node dist/gatehouse.js` or by a process manager.
 */
export function serveWithAsyncContextFrames(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 22 || typeof process.execve !== 'function') return;
  if (process.execArgv.includes(FLAG) || process.env.NODE_OPTIONS?.includes(FLAG)) return;
  process.execve(process.execPath, [process.execPath, FLAG, ...process.execArgv, ...process.argv.slice(1)], process.env);
}
