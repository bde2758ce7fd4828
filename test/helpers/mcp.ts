import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as StreamableV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableV2 } from '@modelcontextprotocol/client';
import { discover, obtainCode, postForm, register } from './oauth.ts';
import type { RunningGatehouse } from './server.ts';
import type { SignIn } from './user-agent.ts';
import { UserAgent } from './user-agent.ts';

export { ClientV1, ClientV2, StreamableV1, StreamableV2 };

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  clientId: string;
  scope: string;
}

/** Runs the real OAuth flow (registration, sign-in, consent, code exchange) and returns the tokens. */
export async function tokensFor(gh: { issuer: string; url: string; resource: string }, person: SignIn, options: { scope?: string; clientName?: string } = {}): Promise<IssuedTokens> {
  const redirect = 'http://127.0.0.1:49700/callback';
  const as = await discover(gh.issuer);
  const client = await register(as, { redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: options.clientName ?? 'MCP test client' });
  const { code, verifier } = await obtainCode(as, client, new UserAgent(), person, redirect, {
    resource: gh.resource,
    ...(options.scope ? { scope: options.scope } : {}),
  });
  const result = await postForm(`${gh.url}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect, client_id: client.client_id });
  if (result.status !== 200) throw new Error(`token exchange failed: ${result.text}`);
  return { accessToken: String(result.json.access_token), refreshToken: String(result.json.refresh_token), clientId: client.client_id, scope: String(result.json.scope) };
}

const bearer = (token: string) => ({ requestInit: { headers: { Authorization: `Bearer ${token}` } } });

export async function connectV1(gh: RunningGatehouse | { resource: string }, token: string): Promise<{ client: ClientV1; transport: StreamableV1 }> {
  const transport = new StreamableV1(new URL(gh.resource), bearer(token));
  const client = new ClientV1({ name: 'v1-test', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
  await client.connect(transport);
  return { client, transport };
}

export async function connectV2(
  gh: RunningGatehouse | { resource: string },
  token: string,
  options: { negotiate?: boolean } = {},
): Promise<{ client: ClientV2; transport: StreamableV2 }> {
  const transport = new StreamableV2(new URL(gh.resource), bearer(token) as never);
  const client = new ClientV2(
    { name: 'v2-test', version: '2.0.0' },
    { capabilities: { elicitation: {} }, ...(options.negotiate ? { versionNegotiation: { mode: 'auto' as const } } : {}) },
  );
  await client.connect(transport);
  return { client, transport };
}

/**
 * Connects the way n8n's MCP Client Tool does: a v1 client with a static bearer on every
 * request. `seen` records each request's method and Authorization header, and
 * `getStreamOpened` waits for the GET stream the SDK opens in the background after initialized.
 */
export async function connectLikeN8n(gh: { resource: string }, token: string) {
  const seen: { method: string; authorization: string | null }[] = [];
  const transport = new StreamableV1(new URL(gh.resource), {
    ...bearer(token),
    fetch: async (url: string | URL | Request, init?: RequestInit) => {
      seen.push({ method: init?.method ?? 'GET', authorization: new Headers(init?.headers).get('authorization') });
      return fetch(url, init);
    },
  });
  const client = new ClientV1({ name: 'n8n-mcp-client-tool', version: '1.26.0' });
  await client.connect(transport);
  const getStreamOpened = async () => {
    for (let wait = 0; wait < 50 && !seen.some((request) => request.method === 'GET'); wait++) await new Promise((resolve) => setTimeout(resolve, 20));
    return seen.some((request) => request.method === 'GET');
  };
  return { client, seen, getStreamOpened };
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The JSON body, or the JSON-RPC messages from an event stream. */
  messages: any[];
  json: any;
}

/** Parses `data:` lines of an event stream into JSON-RPC messages. */
export function parseSse(text: string): any[] {
  return text
    .split('\n\n')
    .map((event) => event.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('\n'))
    .filter(Boolean)
    .map((data) => JSON.parse(data));
}

/** A raw HTTP exchange with /mcp, for the wire habits SDK clients do not have. */
export async function mcpPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  const isStream = response.headers.get('content-type')?.startsWith('text/event-stream');
  let json: any;
  try {
    json = isStream ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  const messages = isStream ? parseSse(text) : json === undefined ? [] : Array.isArray(json) ? json : [json];
  return { status: response.status, headers: response.headers, text, messages, json };
}

export const initializeRequest = (protocolVersion = '2025-11-25', id: number | string = 1, capabilities: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion, capabilities, clientInfo: { name: 'raw-test', version: '0.0.1' } },
});

/** Opens a legacy session over raw HTTP and returns its id. */
export async function openSession(url: string, token: string, protocolVersion = '2025-11-25', capabilities: Record<string, unknown> = {}): Promise<string> {
  const answer = await mcpPost(url, initializeRequest(protocolVersion, 1, capabilities), { authorization: `Bearer ${token}` });
  if (answer.status !== 200) throw new Error(`initialize failed: ${answer.status} ${answer.text}`);
  const sessionId = answer.headers.get('mcp-session-id');
  if (!sessionId) throw new Error('no session id');
  await mcpPost(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId });
  return sessionId;
}

export function toolText(result: any): string {
  return result.content?.[0]?.text ?? '';
}

/** The `_meta` envelope a 2026-07-28 request carries in place of a handshake. */
export const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw-modern', version: '0.0.1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/**
 * A raw stateless 2026-07-28 request: the envelope in `params._meta` and the
 * `MCP-Protocol-Version`, `Mcp-Method` (and, for a string tool name, `Mcp-Name`) headers.
 */
export function modernPost(url: string, message: { id: number | string; method: string; params?: Record<string, unknown> }, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const params = { ...message.params, _meta: { ...MODERN_META, ...((message.params?._meta as object | undefined) ?? {}) } };
  const name = message.params?.name;
  return mcpPost(url, { jsonrpc: '2.0', id: message.id, method: message.method, params }, {
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': message.method,
    ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
    ...headers,
  });
}
