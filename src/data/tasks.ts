import type { Queryable } from './engines/store.ts';

/**
 * The `mcp_tasks` table: durable MCP tasks (see migrations/009_tasks.sql).
 * Status changes are guarded by the current status in the WHERE clause, so
 * a task that already ended (completed, failed, cancelled) never moves again,
 * whichever instance writes second.
 */

export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

export const ACTIVE_STATUSES: readonly TaskStatus[] = ['working', 'input_required'];
const ACTIVE = `status IN ('working', 'input_required')`;

export interface TaskRow {
  id: string;
  user_id: string;
  client_id: string;
  grant_id: string | null;
  pat_id: string | null;
  tool: string;
  status: TaskStatus;
  status_message: string | null;
  input_requests: string | null;
  input_responses: string | null;
  result: string | null;
  error: string | null;
  instance_id: string;
  lease_until: number;
  ttl_ms: number;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
}

export type NewTask = Pick<TaskRow, 'id' | 'user_id' | 'client_id' | 'grant_id' | 'pat_id' | 'tool' | 'instance_id' | 'lease_until' | 'ttl_ms' | 'created_at'>;

/** The columns whose revocation cancels a person's or client's running tasks. */
export type TaskOwnerColumn = 'user_id' | 'client_id' | 'grant_id' | 'pat_id';

export async function insertTask(db: Queryable, task: NewTask): Promise<void> {
  await db.run(
    `INSERT INTO mcp_tasks (id, user_id, client_id, grant_id, pat_id, tool, status, instance_id, lease_until, ttl_ms, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'working', ?, ?, ?, ?, ?)`,
    [task.id, task.user_id, task.client_id, task.grant_id, task.pat_id, task.tool, task.instance_id, task.lease_until, task.ttl_ms, task.created_at, task.created_at],
  );
}

export async function findTask(db: Queryable, id: string): Promise<TaskRow | undefined> {
  return db.get<TaskRow>('SELECT * FROM mcp_tasks WHERE id = ?', [id]);
}

/** Several tasks in one read (the heartbeat's look at every task this instance runs). */
export async function findTasks(db: Queryable, ids: readonly string[]): Promise<TaskRow[]> {
  if (ids.length === 0) return [];
  return db.all<TaskRow>(`SELECT * FROM mcp_tasks WHERE id IN (${ids.map(() => '?').join(', ')})`, [...ids]);
}

export async function countActiveTasksOf(db: Queryable, userId: string): Promise<number> {
  const row = await db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM mcp_tasks WHERE user_id = ? AND ${ACTIVE}`, [userId]);
  return Number(row?.n ?? 0);
}

/** Parks a running task on input (or resumes it, with `inputRequests` null); false when it is no longer running. */
export async function setTaskInput(
  db: Queryable,
  id: string,
  change: { status: 'working' | 'input_required'; inputRequests: string | null; inputResponses: string | null; message: string | null; now: number },
): Promise<boolean> {
  const { changes } = await db.run(
    `UPDATE mcp_tasks SET status = ?, input_requests = ?, input_responses = ?, status_message = ?, updated_at = ? WHERE id = ? AND ${ACTIVE}`,
    [change.status, change.inputRequests, change.inputResponses, change.message, change.now, id],
  );
  return changes > 0;
}

/** Ends a running task once; false when it had already ended. */
export async function endTask(
  db: Queryable,
  id: string,
  end: { status: 'completed' | 'failed' | 'cancelled'; result?: string | null; error?: string | null; message: string | null; now: number; expiresAt: number },
): Promise<boolean> {
  const { changes } = await db.run(
    `UPDATE mcp_tasks SET status = ?, result = ?, error = ?, status_message = ?, input_requests = NULL, input_responses = NULL, updated_at = ?, expires_at = ?
     WHERE id = ? AND ${ACTIVE}`,
    [end.status, end.result ?? null, end.error ?? null, end.message, end.now, end.expiresAt, id],
  );
  return changes > 0;
}

/** The running instance's heartbeat: its tasks stay its own until `leaseUntil`. */
export async function renewTaskLeases(db: Queryable, instanceId: string, leaseUntil: number): Promise<void> {
  await db.run(`UPDATE mcp_tasks SET lease_until = ? WHERE instance_id = ? AND ${ACTIVE}`, [leaseUntil, instanceId]);
}

/** Fails every running task whose instance stopped renewing its lease (it died); returns them. */
export async function failOrphanedTasks(db: Queryable, now: number, error: string, message: string): Promise<Pick<TaskRow, 'id' | 'user_id'>[]> {
  return db.all(
    `UPDATE mcp_tasks SET status = 'failed', error = ?, status_message = ?, input_requests = NULL, input_responses = NULL, updated_at = ?, expires_at = ? + ttl_ms
     WHERE ${ACTIVE} AND lease_until < ? RETURNING id, user_id`,
    [error, message, now, now, now],
  );
}

/** Cancels every running task of a person, client, grant or personal token; returns them. */
export async function cancelTasksWhere(db: Queryable, column: TaskOwnerColumn, value: string, message: string, now: number): Promise<Pick<TaskRow, 'id' | 'user_id'>[]> {
  return db.all(
    `UPDATE mcp_tasks SET status = 'cancelled', status_message = ?, input_requests = NULL, input_responses = NULL, updated_at = ?, expires_at = ? + ttl_ms
     WHERE ${column} = ? AND ${ACTIVE} RETURNING id, user_id`,
    [message, now, now, value],
  );
}

/** Running tasks, newest first, with the email of who started them, for the admin page. */
export async function activeTasks(db: Queryable, limit: number): Promise<(TaskRow & { email: string | null })[]> {
  return db.all(
    `SELECT t.*, u.email AS email FROM mcp_tasks t LEFT JOIN users u ON u.id = t.user_id WHERE t.${ACTIVE} ORDER BY t.created_at DESC LIMIT ?`,
    [limit],
  );
}

export async function sweepExpiredTasks(db: Queryable, now: number): Promise<number> {
  const { changes } = await db.run('DELETE FROM mcp_tasks WHERE expires_at IS NOT NULL AND expires_at <= ?', [now]);
  return changes;
}
