import { BASE_SCOPE, RESOURCE_SCOPE_NAMES } from '../domain/scopes.ts';
import type { Config } from '../config/config.ts';

/** A protected resource Gatehouse serves: `/mcp`, or an upstream at `/mcp/<name>`. */
export interface ResourceIdentity {
  /** The resource URL: the audience its tokens carry. */
  url: string;
  /** The path under the origin (`/mcp`, `/mcp/<name>`). */
  path: string;
  name: string;
}

export function mcpResource(config: Pick<Config, 'issuer' | 'resource'>): ResourceIdentity {
  return { url: config.resource, path: '/mcp', name: 'Gatehouse MCP' };
}

export function upstreamResource(config: Pick<Config, 'issuer' | 'resource'>, upstream: string, title?: string): ResourceIdentity {
  return { url: `${config.resource}/${upstream}`, path: `/mcp/${upstream}`, name: title ?? `Gatehouse: ${upstream}` };
}

/** Where clients find the document: the path-suffixed form RFC 9728 §3.1 derives from the resource path. */
export function protectedResourceMetadataUrl(config: Pick<Config, 'issuer'>, path = '/mcp'): string {
  return `${config.issuer}/.well-known/oauth-protected-resource${path}`;
}

/** RFC 9728 protected resource metadata for `$PUBLIC_URL/mcp` (or an upstream's resource). */
export function protectedResourceMetadata(config: Pick<Config, 'issuer' | 'resource'>, resource: ResourceIdentity = mcpResource(config)) {
  return {
    resource: resource.url,
    authorization_servers: [config.issuer],
    scopes_supported: RESOURCE_SCOPE_NAMES,
    bearer_methods_supported: ['header'],
    resource_name: resource.name,
  };
}

/** The `WWW-Authenticate` challenge every 401 and 403 from the MCP endpoints carries. */
export function bearerChallenge(
  config: Pick<Config, 'issuer'>,
  extra: { error?: string; description?: string; scope?: string } = {},
  path = '/mcp',
): string {
  const parts = [`resource_metadata="${protectedResourceMetadataUrl(config, path)}"`, `scope="${extra.scope ?? BASE_SCOPE}"`];
  if (extra.error) parts.unshift(`error="${extra.error}"`);
  if (extra.description) parts.push(`error_description="${extra.description.replace(/["\\]/g, '')}"`);
  return `Bearer ${parts.join(', ')}`;
}
