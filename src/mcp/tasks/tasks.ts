import { randomBytes } from 'node:crypto';
import { ProtocolError, ProtocolErrorCode, type CallToolResult, type InputRequests, type InputResponses } from '@modelcontextprotocol/server';
import type { Store } from '../../data/engines/store.ts';
import { TOPICS, type Notifications } from '../../data/notifications.ts';
import {
  cancelTasksWhere,
  countActiveTasksOf,
  endTask,
  failOrphanedTasks,
  findTask,
  findTasks,
  insertTask,
  renewTaskLeases,
  setTaskInput,
  sweepExpiredTasks,
  type TaskOwnerColumn,
  type TaskRow,
  type TaskStatus,
} from '../../data/tasks.ts';
import type { Principal } from '../../domain/principal.ts';
import type { Logger } from '../../ops/logging.ts';
import { unknownTask } from './wire.ts';

export interface TaskSettings {
  /** How long a finished task (its result or error) stays readable. */
  resultTtlMs: number;
  /** The poll-interval hint given to clients. */
  pollIntervalMs: number;
  /** A task whose instance has not renewed its lease for this long is failed (its process died). */
  leaseMs: number;
  /** Running tasks one person may have at once. */
  maxRunningPerPerson: number;
}

/** What a tool running as a task can do besides return its result. */
export interface TaskHandle {
  readonly id: string;
  /**
   * Parks the task as `input_required` with these requests (SEP-2322
   * shapes, e.g. `inputRequired.elicit(...)`), and resolves with the
   * client's responses once `tasks/update` delivered all of them, on any
   * instance. Rejects when the task is cancelled meanwhile.
   */
  requestInput(requests: InputRequests): Promise<InputResponses>;
}

/** How a task's tool ended: a result (completed, even with isError), or a protocol error (failed). */
export type TaskWork = (handle: TaskHandle, signal: AbortSignal) => Promise<CallToolResult>;

const DEAD_INSTANCE = { code: ProtocolErrorCode.InternalError, message: 'The server running this task stopped before it finished.' };

interface Running {
  controller: AbortController;
  /** Set while the tool waits for input. */
  waiting?: { resolve(responses: InputResponses): void; reject(error: Error): void };
}

/**
 * Durable tasks: the one owner of their rules. A task's record is in the
 * Store, so any instance answers tasks/get, tasks/update and tasks/cancel;
 * the instance that runs the tool renews a lease, and any instance fails the
 * tasks whose lease ran out. Changes travel between instances as
 * `task.changed` notifications (cancel aborts the tool's signal, delivered
 * input resumes it); the heartbeat also reads the Store, so a lost message
 * only delays them.
 */
export class Tasks {
  private readonly instanceId = randomBytes(16).toString('base64url');
  private readonly running = new Map<string, Running>();
  private readonly watchers = new Set<(taskId: string, userId: string, status: TaskStatus) => void>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private stopping = false;

  constructor(
    private readonly store: Store,
    private readonly events: Notifications,
    readonly settings: TaskSettings,
    private readonly logger: Logger,
  ) {
    events.on(TOPICS.taskChanged, (message) => void this.changed(message.taskId ?? '', message.userId ?? '', message.status as TaskStatus));
    // Revoked access and disabled people: their running tasks end with it.
    events.on(TOPICS.accessRevoked, (message) => {
      for (const column of ['client_id', 'grant_id', 'pat_id'] as const) {
        const value = message[{ client_id: 'clientId', grant_id: 'grantId', pat_id: 'patId' }[column]];
        if (value) void this.cancelAllWhere(column, value, 'Cancelled: access was revoked.');
      }
    });
    events.on(TOPICS.sessionsEnded, (message) => {
      if (message.column === 'user_id' && message.value) void this.cancelAllWhere('user_id', message.value, 'Cancelled: the account was disabled.');
    });
  }

  start(): void {
    const beat = () => void this.beat().catch((error: unknown) => this.logger.warn({ err: error }, 'task heartbeat failed; it runs again shortly'));
    this.heartbeat = setInterval(beat, Math.max(250, Math.floor(this.settings.leaseMs / 3)));
    this.heartbeat.unref();
  }

  stop(): void {
    clearInterval(this.heartbeat);
    this.stopping = true;
    for (const task of this.running.values()) task.controller.abort(new Error('the server is shutting down'));
  }

  /** Told of every status change of every task (for notifications to subscribers). */
  watch(watcher: (taskId: string, userId: string, status: TaskStatus) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /**
   * Creates the task durably (a tasks/get right after answers), then runs
   * `work` in the background. Refused when the person already runs their
   * limit of tasks.
   */
  async create(principal: Principal, tool: string, work: TaskWork): Promise<TaskRow> {
    if ((await countActiveTasksOf(this.store, principal.userId)) >= this.settings.maxRunningPerPerson) {
      throw new ProtocolError(ProtocolErrorCode.InvalidRequest, `Too many running tasks: at most ${this.settings.maxRunningPerPerson} at once; wait for one to finish or cancel one`);
    }
    const now = Date.now();
    const id = randomBytes(24).toString('base64url');
    await insertTask(this.store, {
      id,
      user_id: principal.userId,
      client_id: principal.clientId,
      grant_id: principal.grantId ?? null,
      pat_id: principal.patId ?? null,
      tool,
      instance_id: this.instanceId,
      lease_until: now + this.settings.leaseMs,
      ttl_ms: this.settings.resultTtlMs,
      created_at: now,
    });
    const running: Running = { controller: new AbortController() };
    this.running.set(id, running);
    const handle: TaskHandle = { id, requestInput: (requests) => this.requestInput(id, principal.userId, running, requests) };
    void this.run(id, principal.userId, running, () => work(handle, running.controller.signal));
    return (await findTask(this.store, id))!;
  }

  /** The task, if it is this principal's; otherwise the same error as for an id that never existed. */
  async get(principal: Principal, id: string): Promise<TaskRow> {
    const row = typeof id === 'string' ? await findTask(this.store, id) : undefined;
    if (!row || row.user_id !== principal.userId || row.client_id !== principal.clientId) throw unknownTask();
    if (row.expires_at !== null && Number(row.expires_at) <= Date.now()) throw unknownTask();
    if ((row.status === 'working' || row.status === 'input_required') && Number(row.lease_until) < Date.now()) {
      // Its instance died and no heartbeat has noticed yet: settle it now rather than answer `working`.
      await this.failOrphans();
      return (await findTask(this.store, id)) ?? row;
    }
    return row;
  }

  /** Cancels the principal's task (a finished one stays as it ended: cancelling is idempotent). */
  async cancel(principal: Principal, id: string, message = 'Cancelled by the client.'): Promise<void> {
    const row = await this.get(principal, id);
    await this.cancelTask(row, message);
  }

  /** Cancels any running task, for the admin page. */
  async cancelById(id: string, message: string): Promise<boolean> {
    const row = await findTask(this.store, id);
    return row ? this.cancelTask(row, message) : false;
  }

  /** Delivers input to an `input_required` task; it resumes once every pending request is answered. */
  async update(principal: Principal, id: string, responses: unknown): Promise<void> {
    if (!responses || typeof responses !== 'object' || Array.isArray(responses)) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'inputResponses must be an object keyed by the ids of the task\'s inputRequests');
    }
    const row = await this.get(principal, id);
    if (row.status !== 'input_required') return;
    const pending = JSON.parse(row.input_requests ?? '{}') as InputRequests;
    const answered = { ...(JSON.parse(row.input_responses ?? '{}') as InputResponses) };
    for (const [key, value] of Object.entries(responses as InputResponses)) if (key in pending) answered[key] = value;
    const remaining = Object.fromEntries(Object.entries(pending).filter(([key]) => !(key in answered)));
    const done = Object.keys(remaining).length === 0;
    const changed = await setTaskInput(this.store, id, {
      status: done ? 'working' : 'input_required',
      inputRequests: done ? null : JSON.stringify(remaining),
      inputResponses: JSON.stringify(answered),
      message: done ? null : row.status_message,
      now: Date.now(),
    });
    if (changed && done) await this.announce(id, row.user_id, 'working');
  }

  /** Removes finished tasks kept past their retention. */
  async sweep(): Promise<number> {
    return sweepExpiredTasks(this.store, Date.now());
  }

  private async cancelTask(row: TaskRow, message: string): Promise<boolean> {
    const ended = await endTask(this.store, row.id, { status: 'cancelled', message, now: Date.now(), expiresAt: Date.now() + Number(row.ttl_ms) });
    if (ended) await this.announce(row.id, row.user_id, 'cancelled');
    return ended;
  }

  private async cancelAllWhere(column: TaskOwnerColumn, value: string, message: string): Promise<void> {
    try {
      for (const task of await cancelTasksWhere(this.store, column, value, message, Date.now())) await this.announce(task.id, task.user_id, 'cancelled');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not cancel the tasks of revoked access; the heartbeat retries');
    }
  }

  private async run(id: string, userId: string, running: Running, work: () => Promise<CallToolResult>): Promise<void> {
    let end: Parameters<typeof endTask>[2];
    const now = () => Date.now();
    try {
      const result = await work();
      end = { status: 'completed', result: JSON.stringify(result), message: null, now: now(), expiresAt: now() + this.settings.resultTtlMs };
    } catch (error) {
      if (this.stopping) end = { status: 'failed', error: JSON.stringify(DEAD_INSTANCE), message: DEAD_INSTANCE.message, now: now(), expiresAt: now() + this.settings.resultTtlMs };
      else if (running.controller.signal.aborted) end = { status: 'cancelled', message: 'Cancelled.', now: now(), expiresAt: now() + this.settings.resultTtlMs };
      else if (error instanceof ProtocolError) {
        const failure = { code: error.code, message: error.message, ...(error.data === undefined ? {} : { data: error.data }) };
        end = { status: 'failed', error: JSON.stringify(failure), message: error.message, now: now(), expiresAt: now() + this.settings.resultTtlMs };
      } else {
        const text = error instanceof Error ? error.message : String(error);
        const result: CallToolResult = { isError: true, content: [{ type: 'text', text }] };
        end = { status: 'completed', result: JSON.stringify(result), message: null, now: now(), expiresAt: now() + this.settings.resultTtlMs };
      }
    } finally {
      this.running.delete(id);
    }
    try {
      if (await endTask(this.store, id, end)) await this.announce(id, userId, end.status);
    } catch (error) {
      // The lease runs out and another heartbeat fails the task: it does not stay `working`.
      this.logger.error({ err: error, taskId: id }, 'could not record the end of a task');
    }
  }

  private async requestInput(id: string, userId: string, running: Running, requests: InputRequests): Promise<InputResponses> {
    if (running.controller.signal.aborted) throw running.controller.signal.reason;
    const answered = new Promise<InputResponses>((resolve, reject) => (running.waiting = { resolve, reject }));
    const parked = await setTaskInput(this.store, id, {
      status: 'input_required',
      inputRequests: JSON.stringify(requests),
      inputResponses: null,
      message: 'Waiting for input from the client.',
      now: Date.now(),
    });
    if (!parked) running.controller.abort(new Error('the task ended while asking for input'));
    else await this.announce(id, userId, 'input_required');
    try {
      return await answered;
    } finally {
      running.waiting = undefined;
    }
  }

  /** A task changed somewhere: abort it here if it was cancelled, resume it here if its input arrived. */
  private async changed(taskId: string, userId: string, status: TaskStatus): Promise<void> {
    for (const watcher of this.watchers) watcher(taskId, userId, status);
    const running = this.running.get(taskId);
    if (!running) return;
    if (status === 'cancelled' || status === 'failed') {
      running.controller.abort(new Error(`the task was ${status}`));
      running.waiting?.reject(new Error(`the task was ${status}`));
    } else if (status === 'working' && running.waiting) {
      const row = await findTask(this.store, taskId);
      if (row?.status === 'working' && row.input_responses) running.waiting.resolve(JSON.parse(row.input_responses) as InputResponses);
    }
  }

  private announce(taskId: string, userId: string, status: TaskStatus): Promise<void> {
    return this.events.publish(TOPICS.taskChanged, { taskId, userId, status });
  }

  private async failOrphans(): Promise<void> {
    const message = DEAD_INSTANCE.message;
    for (const task of await failOrphanedTasks(this.store, Date.now(), JSON.stringify(DEAD_INSTANCE), message)) await this.announce(task.id, task.user_id, 'failed');
  }

  /** Renews this instance's leases, fails the tasks of dead instances, and catches up on changes a lost message did not bring. */
  private async beat(): Promise<void> {
    if (this.running.size > 0) await renewTaskLeases(this.store, this.instanceId, Date.now() + this.settings.leaseMs);
    await this.failOrphans();
    const rows = new Map((await findTasks(this.store, [...this.running.keys()])).map((row) => [row.id, row]));
    for (const [id, running] of this.running) {
      const row = rows.get(id);
      if (!row || row.status === 'cancelled' || row.status === 'failed') await this.changed(id, row?.user_id ?? '', row?.status ?? 'cancelled');
      else if (row.status === 'working' && running.waiting) await this.changed(id, row.user_id, 'working');
    }
  }
}
