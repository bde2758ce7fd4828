import type { Context } from 'koa';
import type { Config } from '../config/config.ts';
import { protectedResourceMetadata, upstreamResource } from '../mcp/protected-resource.ts';
import type { Handlers } from './handlers.ts';
import { sendError } from './middleware/errors.ts';

/**
 * RFC 9728 protected resource metadata, at the root well-known URL and at the
 * one suffixed with the resource path (clients use either); each upstream
 * behind the gateway has its own at `…/mcp/<name>`.
 */
export function resourceMetadataHandlers(config: Config, upstreamTitle: (name: string) => { title?: string | undefined } | undefined = () => undefined): Handlers {
  const document = protectedResourceMetadata(config);
  const serve = (ctx: Context) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = document;
  };
  const serveUpstream = (ctx: Context, params: Record<string, string>) => {
    const name = params.name ?? '';
    const upstream = upstreamTitle(name);
    if (!upstream) return sendError(ctx, 404, 'no such MCP server here', 'not_found');
    ctx.set('Cache-Control', 'public, max-age=60');
    ctx.body = protectedResourceMetadata(config, upstreamResource(config, name, upstream.title));
  };
  return { 'resource.metadata': { GET: serve }, 'resource.metadata.mcp': { GET: serve }, 'resource.metadata.upstream': { GET: serveUpstream } };
}
