import * as oauth from 'oauth4webapi';
import type { UserAgent, SignIn } from './user-agent.ts';

export { oauth };

/** oauth4webapi refuses http:// by default; these tests run on loopback http. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

export async function discover(issuer: string): Promise<oauth.AuthorizationServer> {
  const url = new URL(issuer);
  return oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { ...insecure, algorithm: 'oauth2' }));
}

export async function register(as: oauth.AuthorizationServer, metadata: Record<string, unknown>): Promise<oauth.Client> {
  const response = await oauth.dynamicClientRegistrationRequest(as, metadata as never, insecure);
  return oauth.processDynamicClientRegistrationResponse(response) as Promise<oauth.Client>;
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  scope?: string;
  expires_in?: number;
  token_type: string;
}

/**
 * The whole authorization-code flow for a public client, as an MCP client
 * runs it: PKCE S256, `resource`, the person signing in and consenting.
 */
export async function authorizeAndExchange(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  agent: UserAgent,
  person: SignIn,
  options: { redirectUri: string; scope?: string; resource?: string; tokenResource?: string } ,
): Promise<Tokens> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', options.redirectUri);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  if (options.scope !== undefined) url.searchParams.set('scope', options.scope);
  if (options.resource !== undefined) url.searchParams.set('resource', options.resource);
  const callback = await agent.authorize(url, person);
  const params = oauth.validateAuthResponse(as, client, callback, state);
  const tokenResource = options.tokenResource ?? options.resource;
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, options.redirectUri, verifier, {
    ...insecure,
    ...(tokenResource ? { additionalParameters: { resource: tokenResource } } : {}),
  });
  return (await oauth.processAuthorizationCodeResponse(as, client, response)) as unknown as Tokens;
}

/** An authorization request with a fresh PKCE challenge (its verifier is thrown away). */
export async function authorizationUrl(
  as: oauth.AuthorizationServer,
  clientId: string,
  redirectUri: string,
  extra: Record<string, string> = {},
): Promise<URL> {
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
    code_challenge_method: 'S256',
    state: 's',
    ...extra,
  }).toString();
  return url;
}

/** Starts an authorization and returns the code, for tests of the token endpoint itself. */
export async function obtainCode(
  as: oauth.AuthorizationServer,
  client: { client_id: string },
  agent: UserAgent,
  person: SignIn,
  redirectUri: string,
  extra: Record<string, string> = {},
): Promise<{ code: string; verifier: string }> {
  const verifier = oauth.generateRandomCodeVerifier();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: 'st',
    ...extra,
  }).toString();
  const callback = await agent.authorize(url, person);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.href}`);
  return { code, verifier };
}

/** A raw form POST, for answers oauth4webapi would refuse to even send. */
export async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the assertion on the status will say so
  }
  return { status: response.status, json, text, headers: response.headers };
}
