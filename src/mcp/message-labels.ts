import type { JSONRPCMessage } from '@modelcontextprotocol/server';

/**
 * The JSON-RPC methods of the MCP specification (both eras, extensions we
 * know included). A client may send any string as a method or a tool name;
 * only these, and the names of tools we serve, become metric labels, so a
 * client can never create metric series.
 */
const KNOWN_METHODS = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'tasks/get',
  'tasks/list',
  'tasks/cancel',
  'tasks/result',
  'tasks/update',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'notifications/elicitation/complete',
  'notifications/tasks/status',
]);

export const OTHER_METHOD = 'other';
export const UNKNOWN_TOOL = 'unknown';

export interface MessageLabels {
  method: string;
  /** The tool of a tools/call; empty for everything else. */
  tool: string;
}

/** The labels of each request and notification in a batch (responses carry none). */
export function messageLabels(messages: readonly JSONRPCMessage[], isTool: (name: string) => boolean): MessageLabels[] {
  const labels: MessageLabels[] = [];
  for (const message of messages) {
    if (!('method' in message) || typeof message.method !== 'string') continue;
    const method = KNOWN_METHODS.has(message.method) ? message.method : OTHER_METHOD;
    let tool = '';
    if (method === 'tools/call') {
      const name = (message.params as { name?: unknown } | undefined)?.name;
      tool = typeof name === 'string' && isTool(name) ? name : UNKNOWN_TOOL;
    }
    labels.push({ method, tool });
  }
  return labels;
}
