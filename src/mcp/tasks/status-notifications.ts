import type { Server } from '@modelcontextprotocol/server';
import type { TaskStatus } from '../../data/tasks.ts';
import type { Tasks } from './tasks.ts';

const TERMINAL: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

/**
 * Tells the legacy session that started a task each change of its status
 * (`notifications/tasks`, on the session's stream), from whichever instance
 * made it, until the task ends or the session is gone. Polling with
 * tasks/get stays the source of truth: a notification is a hint.
 */
export function notifyStatusChanges(server: Server, tasks: Tasks, taskId: string): void {
  const stop = tasks.watch((id, _userId, status) => {
    if (id !== taskId) return;
    if (TERMINAL.includes(status)) stop();
    server.notification({ method: 'notifications/tasks', params: { taskId, status } } as never).catch(() => stop());
  });
}
