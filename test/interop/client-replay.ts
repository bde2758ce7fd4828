/**
 * Replays real MCP clients over real HTTP: their OAuth steps (discovery from
 * the 401 challenge, registration body, redirect URI, scope and resource
 * habits, token-endpoint authentication) and their MCP header habits (Accept,
 * MCP-Protocol-Version, when the bearer is sent, sessions). What each client
 * does comes from ../shared/docs/CLIENTS.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mcpPost, type RawAnswer } from '../helpers/mcp.ts';
import type { RunningGatehouse } from '../helpers/server.ts';
import { UserAgent, type SignIn } from '../helpers/user-agent.ts';

export const MODERN = '2026-07-28';

export interface OAuthHabits {
  /** User-Agent on discovery, registration and token requests. */
  userAgent?: string;
  /** The unauthenticated first call that earns the 401 challenge. */
  firstCall: 'initialize' | 'server/discover';
  registration: Record<string, unknown>;
  /** The redirect_uri on the authorization request (a loopback client may pick another port). */
  redirectUri: string;
  /** The scope asked for, from what the client learned; undefined sends none. */
  scope?(learned: { challengeScope?: string; resourceScopes: string[]; serverScopes: string[] }): string | undefined;
  /** The `resource` sent at /authorize and /token, from the PRM `resource`; undefined sends none. */
  resource?(prmResource: string): string | undefined;
  /** A registration answer from an earlier sign-in, reused instead of registering again. */
  registered?: Record<string, any>;
}

export interface SignedIn {
  accessToken: string;
  refreshToken?: string;
  scope: string;
  clientId: string;
  /** The registration response. */
  client: Record<string, unknown>;
  /** Where the authorization server sent the person back to. */
  callback: URL;
  issuer: string;
  /** The scope the client put on the authorization request. */
  askedScope?: string;
}

function challengeParams(header: string): Record<string, string> {
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!, match[2]!]));
}

/** A 2026-07-28 request as a modern client sends it: version, method and name in headers, the envelope in `_meta`. */
export function modernRequest(
  id: number,
  method: string,
  params: Record<string, unknown>,
  clientName: string,
  options: { version?: string; capabilities?: Record<string, unknown> } = {},
) {
  const version = options.version ?? MODERN;
  const name = method === 'tools/call' || method === 'prompts/get' ? String(params.name) : method === 'resources/read' ? String(params.uri) : undefined;
  const envelope = {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientInfo': { name: clientName, version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': options.capabilities ?? {},
  };
  return {
    body: { jsonrpc: '2.0', id, method, params: { ...params, _meta: envelope } },
    headers: { 'mcp-protocol-version': version, 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) },
  };
}

async function register(endpoint: string, body: Record<string, unknown>, ua: Record<string, string>): Promise<Record<string, any>> {
  const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', ...ua }, body: JSON.stringify(body) });
  const client = (await response.json()) as Record<string, any>;
  if (response.status !== 201) throw new Error(`registration refused (${response.status}): ${JSON.stringify(client)}`);
  return client;
}

/**
 * The whole OAuth dance as the client does it, from an unauthenticated MCP
 * call to tokens. Throws with the step's answer when a step fails.
 */
export async function signInLike(gh: RunningGatehouse, person: SignIn, habits: OAuthHabits): Promise<SignedIn & { challenge: Record<string, string> }> {
  const ua: Record<string, string> = habits.userAgent ? { 'user-agent': habits.userAgent } : {};
  const probe =
    habits.firstCall === 'initialize'
      ? await mcpPost(gh.resource, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'probe', version: '1' } } }, ua)
      : await (async () => {
          const modern = modernRequest(0, 'server/discover', {}, 'probe');
          return mcpPost(gh.resource, modern.body, { ...ua, ...modern.headers });
        })();
  if (probe.status !== 401) throw new Error(`expected 401 on the first call, got ${probe.status}: ${probe.text}`);
  const challenge = challengeParams(probe.headers.get('www-authenticate') ?? '');

  const prm = (await (await fetch(challenge.resource_metadata!, { headers: ua })).json()) as { resource: string; authorization_servers: string[]; scopes_supported?: string[] };
  const issuer = prm.authorization_servers[0]!;
  const asMetadata = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`, { headers: ua })).json()) as Record<string, any>;
  if (asMetadata.issuer !== issuer) throw new Error(`metadata issuer ${asMetadata.issuer} is not ${issuer}`);

  const client = habits.registered ?? (await register(asMetadata.registration_endpoint, habits.registration, ua));

  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const askedScope = habits.scope?.({
    ...(challenge.scope ? { challengeScope: challenge.scope } : {}),
    resourceScopes: prm.scopes_supported ?? [],
    serverScopes: asMetadata.scopes_supported ?? [],
  });
  const resource = habits.resource?.(prm.resource);
  const authorize = new URL(asMetadata.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: habits.redirectUri,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    ...(askedScope ? { scope: askedScope } : {}),
    ...(resource ? { resource } : {}),
  }).toString();
  const callback = await new UserAgent().authorize(authorize, person);
  if (`${callback.protocol}//${callback.host}${callback.pathname}` !== habits.redirectUri.replace(/\?.*$/, '')) {
    throw new Error(`sent back to ${callback.href}, not ${habits.redirectUri}`);
  }
  if (callback.searchParams.get('state') !== state) throw new Error(`state mismatch in ${callback.href}`);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.href}`);

  // Whatever the registration answer says, as Claude.ai does ("uses whatever the response says").
  const method = client.token_endpoint_auth_method ?? 'client_secret_basic';
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: habits.redirectUri, code_verifier: verifier, ...(resource ? { resource } : {}) });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...ua };
  if (method === 'client_secret_basic') {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
  } else {
    form.set('client_id', client.client_id);
    if (method === 'client_secret_post') form.set('client_secret', client.client_secret);
  }
  const tokenResponse = await fetch(asMetadata.token_endpoint, { method: 'POST', headers, body: form });
  const tokens = (await tokenResponse.json()) as Record<string, any>;
  if (tokenResponse.status !== 200) throw new Error(`token exchange refused (${tokenResponse.status}): ${JSON.stringify(tokens)}`);
  return {
    accessToken: tokens.access_token,
    ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
    scope: tokens.scope,
    clientId: client.client_id,
    client,
    callback,
    issuer,
    challenge,
    ...(askedScope ? { askedScope } : {}),
  };
}

export interface WireHabits {
  accept: string;
  userAgent?: string;
  /** The MCP-Protocol-Version header after initialize, or none (Claude.ai, VS Code). */
  protocolVersionHeader: boolean;
}

/**
 * A legacy-era (initialize + session) MCP connection with one client's
 * header habits. Each call says whether it carries the bearer and the
 * session id, so a test can replay exactly what the client sends.
 */
export class LegacyWire {
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  private nextId = 1;

  constructor(
    readonly url: string,
    private token: string,
    private readonly habits: WireHabits,
  ) {}

  useToken(token: string): void {
    this.token = token;
  }

  headers(options: { bearer?: boolean; session?: boolean } = {}): Record<string, string> {
    return {
      accept: this.habits.accept,
      ...(this.habits.userAgent ? { 'user-agent': this.habits.userAgent } : {}),
      ...(options.bearer !== false ? { authorization: `Bearer ${this.token}` } : {}),
      ...(options.session !== false && this.sessionId ? { 'mcp-session-id': this.sessionId } : {}),
      ...(this.habits.protocolVersionHeader && this.protocolVersion ? { 'mcp-protocol-version': this.protocolVersion } : {}),
    };
  }

  async initialize(protocolVersion = '2025-11-25', clientInfo = { name: 'client', version: '1.0.0' }, options: { sendStaleSession?: boolean } = {}): Promise<RawAnswer> {
    const answer = await mcpPost(
      this.url,
      { jsonrpc: '2.0', id: this.nextId++, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo } },
      this.headers({ bearer: true, session: options.sendStaleSession === true }),
    );
    if (answer.status === 200) {
      this.sessionId = answer.headers.get('mcp-session-id') ?? undefined;
      this.protocolVersion = answer.messages[0]?.result?.protocolVersion;
    }
    return answer;
  }

  notifyInitialized(options: { bearer?: boolean; session?: boolean } = {}): Promise<RawAnswer> {
    return mcpPost(this.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, this.headers(options));
  }

  request(method: string, params: Record<string, unknown> = {}, options: { bearer?: boolean; session?: boolean } = {}): Promise<RawAnswer> {
    return mcpPost(this.url, { jsonrpc: '2.0', id: this.nextId++, method, params }, this.headers(options));
  }

  /** Opens the standalone GET stream and reads its first bytes, then lets it go. */
  async openStream(options: { bearer?: boolean } = {}): Promise<{ status: number; contentType: string | null; firstBytes: string }> {
    const controller = new AbortController();
    const response = await fetch(this.url, { headers: { ...this.headers(options), accept: 'text/event-stream' }, signal: controller.signal });
    let firstBytes = '';
    if (response.ok && response.body) {
      const reader = response.body.getReader();
      const { value } = await reader.read();
      firstBytes = new TextDecoder().decode(value);
    }
    controller.abort();
    return { status: response.status, contentType: response.headers.get('content-type'), firstBytes };
  }

  async delete(options: { bearer?: boolean } = {}): Promise<number> {
    const response = await fetch(this.url, { method: 'DELETE', headers: this.headers(options) });
    await response.arrayBuffer();
    return response.status;
  }
}

/** The JSON a whoami call returned, or throws with the answer. */
export function whoamiOf(answer: RawAnswer): any {
  const message = answer.messages.find((candidate) => 'result' in candidate || 'error' in candidate);
  const text = message?.result?.content?.[0]?.text;
  if (answer.status !== 200 || !text) throw new Error(`whoami failed (${answer.status}): ${answer.text}`);
  return JSON.parse(text);
}
