import type { Context } from 'koa';
import type { Config } from '../config/config.ts';
import { protectedResourceMetadata } from '../mcp/protected-resource.ts';
import type { Handlers } from './handlers.ts';

/**
 * RFC 9728 protected resource metadata, at the root well-known URL and at the
 * one suffixed with the resource path (clients use either).
 */
export function resourceMetadataHandlers(config: Config): Handlers {
  const document = protectedResourceMetadata(config);
  const serve = (ctx: Context) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = document;
  };
  return { 'resource.metadata': { GET: serve }, 'resource.metadata.mcp': { GET: serve } };
}
