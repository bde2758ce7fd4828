import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Principal } from '../../domain/principal.ts';
import type { Tasks } from './tasks.ts';
import { ACK, detailedTask, extensionRequired, optedIn, unknownTask } from './wire.ts';

// Loose on purpose: a client that did not opt in hears that first, whatever else it sent.
const TaskParams = z.looseObject({ taskId: z.unknown().optional(), inputResponses: z.unknown().optional(), _meta: z.record(z.string(), z.unknown()).optional() });

/**
 * `tasks/get`, `tasks/update` and `tasks/cancel` on a server instance, for
 * the caller's own tasks only. A request that did not opt into the
 * extension gets its error; `tasks/result` and `tasks/list` (removed by
 * SEP-2663) stay unknown methods.
 */
export function installTaskMethods(mcp: McpServer, tasks: Tasks, principalOf: (ctx: ServerContext) => Principal | undefined): void {
  const { server } = mcp;
  const caller = (params: z.infer<typeof TaskParams>, ctx: ServerContext, method: string): Principal => {
    if (!optedIn({ params }, server.getClientCapabilities())) throw extensionRequired(method);
    const principal = principalOf(ctx);
    if (!principal) throw extensionRequired(method);
    if (typeof params.taskId !== 'string') throw unknownTask();
    return principal;
  };
  server.setRequestHandler('tasks/get', { params: TaskParams }, async (params, ctx) => {
    const row = await tasks.get(caller(params, ctx, 'tasks/get'), params.taskId as string);
    return detailedTask(row, tasks.settings.pollIntervalMs);
  });
  server.setRequestHandler('tasks/update', { params: TaskParams }, async (params, ctx) => {
    await tasks.update(caller(params, ctx, 'tasks/update'), params.taskId as string, params.inputResponses ?? ctx.mcpReq.inputResponses);
    return ACK;
  });
  server.setRequestHandler('tasks/cancel', { params: TaskParams }, async (params, ctx) => {
    await tasks.cancel(caller(params, ctx, 'tasks/cancel'), params.taskId as string);
    return ACK;
  });
}
