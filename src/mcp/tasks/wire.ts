import {
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type ClientCapabilities,
  type InputRequests,
} from '@modelcontextprotocol/server';
import type { TaskRow } from '../../data/tasks.ts';

/**
 * The tasks extension (SEP-2663) on the wire. The SDK's own task types are
 * the older v1 surface (`tasks/result`, `tasks/list`, a nested `task`), so
 * the SEP-2663 shapes are built here, checked against the official
 * conformance scenarios.
 */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

const CLIENT_CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';

/** Whether this request opted in: per request in `_meta`, or for the whole session at initialize. */
export function optedIn(request: { params?: { _meta?: Record<string, unknown> } }, session: ClientCapabilities | undefined): boolean {
  const perRequest = request.params?._meta?.[CLIENT_CAPABILITIES_META] as ClientCapabilities | undefined;
  return Boolean(perRequest?.extensions?.[TASKS_EXTENSION] ?? session?.extensions?.[TASKS_EXTENSION]);
}

/** The extension's error for a client that did not declare it (SEP-2575 "Missing Required Capabilities"). */
export function extensionRequired(what: string): ProtocolError {
  return new MissingRequiredClientCapabilityError({ requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } }, `${what} needs the ${TASKS_EXTENSION} extension`);
}

/** Unknown, expired and someone else's task ids all get this one answer. */
export function unknownTask(): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, 'Unknown or expired taskId');
}

export interface WireTask {
  taskId: string;
  status: TaskRow['status'];
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number;
  pollIntervalMs: number;
}

function parsed<T>(json: string | null): T | undefined {
  return json === null ? undefined : (JSON.parse(json) as T);
}

export function wireTask(row: TaskRow, pollIntervalMs: number): WireTask {
  return {
    taskId: row.id,
    status: row.status,
    ...(row.status_message ? { statusMessage: row.status_message } : {}),
    createdAt: new Date(Number(row.created_at)).toISOString(),
    lastUpdatedAt: new Date(Number(row.updated_at)).toISOString(),
    ttlMs: Number(row.ttl_ms),
    pollIntervalMs,
  };
}

/** `tools/call`'s answer when it started a task: the task itself, flat, no result yet. */
export function createTaskResult(row: TaskRow, pollIntervalMs: number) {
  return { resultType: 'task' as const, ...wireTask(row, pollIntervalMs) };
}

/** `tasks/get`: the task, with its pending input requests, its result or its error inlined. */
export function detailedTask(row: TaskRow, pollIntervalMs: number) {
  const inputRequests = row.status === 'input_required' ? parsed<InputRequests>(row.input_requests) : undefined;
  const result = row.status === 'completed' ? parsed<Record<string, unknown>>(row.result) : undefined;
  const error = row.status === 'failed' ? parsed<{ code: number; message: string; data?: unknown }>(row.error) : undefined;
  return {
    resultType: 'complete' as const,
    ...wireTask(row, pollIntervalMs),
    ...(inputRequests ? { inputRequests } : {}),
    ...(result ? { result } : {}),
    ...(error ? { error } : {}),
  };
}

/** `tasks/update` and `tasks/cancel` answer with an empty acknowledgement; the next tasks/get tells the rest. */
export const ACK = { resultType: 'complete' as const };

