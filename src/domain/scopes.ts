/**
 * The resource's scopes: what a token for `$PUBLIC_URL/mcp` can carry.
 * Tools declare which of these they need; the consent page shows the
 * descriptions.
 */
export const RESOURCE_SCOPES = {
  'mcp:tools': 'See and use the tools on this server',
  'mcp:write': 'Make changes on your behalf, such as adding or deleting your notes',
} as const;

export type ResourceScope = keyof typeof RESOURCE_SCOPES;

export const RESOURCE_SCOPE_NAMES = Object.keys(RESOURCE_SCOPES) as ResourceScope[];

/** The scope every MCP call needs; the 401 challenge names it. */
export const BASE_SCOPE: ResourceScope = 'mcp:tools';

/**
 * Granted when a client asks for no scope we know (`claudeai`, `read write`,
 * `openid email profile`, or nothing): clients that cannot know our scope names
 * still get a working connection, and the person sees exactly this on consent.
 */
export const DEFAULT_SCOPES: readonly ResourceScope[] = RESOURCE_SCOPE_NAMES;

export const OIDC_SCOPES = ['openid', 'offline_access', 'email', 'profile'] as const;

export function describeScope(scope: string): string {
  return (RESOURCE_SCOPES as Record<string, string>)[scope] ?? scope;
}
