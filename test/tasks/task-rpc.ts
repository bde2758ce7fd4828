/**
 * Raw 2026-07-28 JSON-RPC for the tasks extension. The v2 client
 * (@modelcontextprotocol/client 2.x) only knows the older v1 task surface
 * (tasks/result, a nested `task`), so these tests speak SEP-2663 on the wire,
 * as the conformance suite does.
 */
import { modernPost } from '../helpers/mcp.ts';

export const TASKS = 'io.modelcontextprotocol/tasks';
const OPT_IN = { 'io.modelcontextprotocol/clientCapabilities': { extensions: { [TASKS]: {} } } };

let nextId = 1;

/** One request; resolves with its JSON-RPC answer (`result` or `error`) and the HTTP status. */
export async function rpc(url: string, token: string, method: string, params: Record<string, unknown>, options: { optIn?: boolean; headers?: Record<string, string> } = {}) {
  const taskId = typeof params.taskId === 'string' ? params.taskId : undefined;
  const answer = await modernPost(
    url,
    { id: nextId++, method, params: { ...params, _meta: options.optIn === false ? {} : OPT_IN } },
    { authorization: `Bearer ${token}`, ...(taskId ? { 'mcp-name': taskId } : {}), ...options.headers },
  );
  const message = answer.messages[0] ?? {};
  return { status: answer.status, result: message.result, error: message.error as { code: number; message: string; data?: any } | undefined };
}

/** Calls a tool and expects a task handle back. */
export async function startTask(url: string, token: string, name: string, args: Record<string, unknown> = {}) {
  const answer = await rpc(url, token, 'tools/call', { name, arguments: args });
  if (answer.result?.resultType !== 'task') throw new Error(`${name} did not start a task: ${JSON.stringify(answer)}`);
  return answer.result as { taskId: string; status: string; ttlMs: number; pollIntervalMs: number; createdAt: string };
}

/** Polls tasks/get until the task reaches one of `statuses`. */
export async function waitForStatus(url: string, token: string, taskId: string, statuses: string[], timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await rpc(url, token, 'tasks/get', { taskId });
    if (answer.error) throw new Error(`tasks/get failed: ${JSON.stringify(answer.error)}`);
    if (statuses.includes(answer.result.status)) return answer.result;
    if (Date.now() > deadline) throw new Error(`task ${taskId} is still ${answer.result.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until `check` holds (notes written by an aborted tool land a moment after the cancel). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
