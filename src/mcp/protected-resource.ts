import { BASE_SCOPE, RESOURCE_SCOPE_NAMES } from '../domain/scopes.ts';
import type { Config } from '../config/config.ts';

/** Where clients find the document: the path-suffixed form RFC 9728 §3.1 derives from `/mcp`. */
export function protectedResourceMetadataUrl(config: Pick<Config, 'issuer'>): string {
  return `${config.issuer}/.well-known/oauth-protected-resource/mcp`;
}

/** RFC 9728 protected resource metadata for `$PUBLIC_URL/mcp`. */
export function protectedResourceMetadata(config: Pick<Config, 'issuer' | 'resource'>) {
  return {
    resource: config.resource,
    authorization_servers: [config.issuer],
    scopes_supported: RESOURCE_SCOPE_NAMES,
    bearer_methods_supported: ['header'],
    resource_name: 'Gatehouse MCP',
  };
}

/** The `WWW-Authenticate` challenge every 401 and 403 from the MCP endpoints carries. */
export function bearerChallenge(config: Pick<Config, 'issuer'>, extra: { error?: string; description?: string; scope?: string } = {}): string {
  const parts = [`resource_metadata="${protectedResourceMetadataUrl(config)}"`, `scope="${extra.scope ?? BASE_SCOPE}"`];
  if (extra.error) parts.unshift(`error="${extra.error}"`);
  if (extra.description) parts.push(`error_description="${extra.description.replace(/["\\]/g, '')}"`);
  return `Bearer ${parts.join(', ')}`;
}
