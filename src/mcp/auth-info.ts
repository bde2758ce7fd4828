import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Principal } from '../domain/principal.ts';

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
