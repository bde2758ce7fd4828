import { Router } from '@koa/router';
import { BASE_SCOPE, RESOURCE_SCOPE_NAMES } from '../domain/scopes.ts';
import type { Config } from '../config/config.ts';

/** Where clients find the document: the path-suffixed form RFC 9728 §3.1 derives from `/mcp`. */
export function protectedResourceMetadataUrl(config: Config): string {
  return `${config.issuer}/.well-known/oauth-protected-resource/mcp`;
}

/** The `WWW-Authenticate` challenge every 401 from /mcp carries. */
export function bearerChallenge(config: Config, extra: { error?: string; description?: string; scope?: string } = {}): string {
  const parts = [`resource_metadata="${protectedResourceMetadataUrl(config)}"`, `scope="${extra.scope ?? BASE_SCOPE}"`];
  if (extra.error) parts.unshift(`error="${extra.error}"`);
  if (extra.description) parts.push(`error_description="${extra.description.replace(/["\\]/g, '')}"`);
  return `Bearer ${parts.join(', ')}`;
}

/**
 * RFC 9728 protected resource metadata, at the root well-known URL and at the
 * one suffixed with the resource path (clients use either), with or without a
 * trailing slash.
 */
export function protectedResourceRoutes(config: Config): Router {
  const router = new Router();
  const document = {
    resource: config.resource,
    authorization_servers: [config.issuer],
    scopes_supported: RESOURCE_SCOPE_NAMES,
    bearer_methods_supported: ['header'],
    resource_name: 'Gatehouse MCP',
  };
  const serve = (ctx: { set(name: string, value: string): void; body: unknown }) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = document;
  };
  for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
    router.get(path, serve);
    router.get(`${path}/`, serve);
  }
  return router;
}
