import type { AuthInfo } from '@modelcontextprotocol/server';

/** Who a request to /mcp acts for, however it proved it. */
export interface Principal {
  kind: 'oauth' | 'pat';
  userId: string;
  /** The OAuth client id, or `pat:<token id>` for a personal access token. */
  clientId: string;
  scopes: string[];
  /** When the credential stops being valid (epoch ms). */
  expiresAt: number;
  grantId?: string;
  patId?: string;
}

/** Two credentials speak for the same principal when the person and the client are the same. */
export function samePrincipal(a: Principal, b: Principal): boolean {
  return a.userId === b.userId && a.clientId === b.clientId;
}

export function hasScopes(principal: Principal, required: readonly string[]): boolean {
  return required.every((scope) => principal.scopes.includes(scope));
}

const resourceUrls = new Map<string, URL>();

/** What the SDK hands tool handlers as `ctx.http.authInfo`. The raw token never leaves the verifier. */
export function toAuthInfo(principal: Principal, resource: string): AuthInfo {
  let url = resourceUrls.get(resource);
  if (!url) resourceUrls.set(resource, (url = new URL(resource)));
  return {
    token: '[verified]',
    clientId: principal.clientId,
    scopes: principal.scopes,
    expiresAt: Math.floor(principal.expiresAt / 1000),
    resource: url,
    extra: { principal },
  };
}

export function principalOf(authInfo: AuthInfo | undefined): Principal | undefined {
  return (authInfo?.extra as { principal?: Principal } | undefined)?.principal;
}
