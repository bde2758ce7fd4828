import type { Server } from '@modelcontextprotocol/server';
import type { Config } from '../config/config.ts';
import type { Store } from '../data/engines/store.ts';
import type { Notifications } from '../data/notifications.ts';
import type { McpAuth } from '../mcp/auth.ts';
import { upstreamResource, type ResourceIdentity } from '../mcp/protected-resource.ts';
import type { ServerInstanceOptions } from '../mcp/server-factory.ts';
import type { Logger } from '../ops/logging.ts';
import type { McpResourceServer } from '../web/mcp-endpoint.ts';
import { UpstreamCatalog } from './catalog.ts';
import type { UpstreamDefinition } from './definition.ts';
import { IdentitySigner } from './identity.ts';
import { allScopes, toolScopes, toolVisible } from './policy.ts';
import { UpstreamPool } from './pool.ts';
import { createProxyServer } from './proxy-server.ts';

/** What the gateway needs from the rest of Gatehouse to guard one upstream like /mcp. */
export type AuthFactory = (resource: ResourceIdentity, scopes: { base: readonly string[]; of(tool: string): readonly string[] | undefined; challenge: string }) => McpAuth;

export interface GatewayOptions {
  config: Config;
  store: Store;
  notifications: Notifications;
  logger: Logger;
  fromFile: readonly UpstreamDefinition[];
  version: string;
  authFor: AuthFactory;
}

/**
 * Gatehouse in front of existing MCP servers: each enabled upstream is a
 * protected resource at `$PUBLIC_URL/mcp/<name>`, served by the same
 * endpoint, sessions and decisions as /mcp, with a proxy server behind it.
 */
export class Gateway {
  readonly catalog: UpstreamCatalog;
  readonly pool: UpstreamPool;
  readonly signer: IdentitySigner;
  private readonly resources = new Map<string, { definition: UpstreamDefinition; server: McpResourceServer }>();

  constructor(private readonly options: GatewayOptions) {
    const { config, store, notifications, logger } = options;
    this.catalog = new UpstreamCatalog({ store, notifications, fromFile: options.fromFile, logger });
    this.signer = new IdentitySigner({ store, issuer: config.issuer, notifications });
    this.pool = new UpstreamPool({ signer: this.signer, issuer: config.issuer, logger, idleMs: config.mcp.sessionIdleTtlMs });
    // A changed or disabled upstream: its sessions upstream end; callers' next requests open new ones.
    this.catalog.onChange((name) => {
      this.resources.delete(name);
      void this.pool.closeUpstream(name);
    });
  }

  start(): Promise<void> {
    return this.catalog.start();
  }

  async close(): Promise<void> {
    this.catalog.stop();
    await this.pool.closeAll();
  }

  /** Whether a resource indicator names an enabled upstream (`$PUBLIC_URL/mcp/<name>`). */
  upstreamOfResource(url: string): string | undefined {
    const prefix = `${this.options.config.resource}/`;
    if (!url.startsWith(prefix)) return undefined;
    const name = url.slice(prefix.length);
    return this.catalog.get(name) ? name : undefined;
  }

  /** The protected resource at /mcp/<name>, or undefined when there is no such enabled upstream. */
  resourceServer(name: string): McpResourceServer | undefined {
    const definition = this.catalog.get(name);
    if (!definition) return undefined;
    const held = this.resources.get(name);
    if (held && held.definition === definition) return held.server;
    const { settings } = definition;
    const identity = upstreamResource(this.options.config, name, settings.title);
    const server: McpResourceServer = {
      upstream: name,
      url: identity.url,
      auth: this.options.authFor(identity, {
        base: settings.scopes,
        of: (tool) => toolScopes(settings, tool),
        challenge: allScopes(settings).join(' '),
      }),
      hasTool: (tool) => toolVisible(settings, tool),
    };
    this.resources.set(name, { definition, server });
    return server;
  }

  buildProxy(options: ServerInstanceOptions & { upstream: string }): Server {
    return createProxyServer(
      { catalog: this.catalog, pool: this.pool, version: this.options.version },
      { upstream: options.upstream, era: options.era, ...(options.sessionKey ? { sessionKey: options.sessionKey } : {}) },
    );
  }
}
