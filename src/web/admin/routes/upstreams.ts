import type { Context } from 'koa';
import { audit } from '../../../data/audit-log.ts';
import type { Store } from '../../../data/engines/store.ts';
import { isStdio, UPSTREAM_NAME, type UpstreamSettings } from '../../../gateway/definition.ts';
import type { Gateway } from '../../../gateway/gateway.ts';
import { toolVisible } from '../../../gateway/policy.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Handlers } from '../../handlers.ts';
import type { SignedIn } from '../admin-session.ts';
import type { Pages } from '../pages.ts';

interface Deps {
  store: Store;
  pages: Pages;
  gateway: Gateway;
  resourceBase: string;
}

/** What an administrator sees of one upstream: where it is, its health, the tools callers see, and the policy applied. */
function describe(gateway: Gateway, resourceBase: string, entry: ReturnType<Gateway['catalog']['all']>[number]) {
  const { definition, enabled } = entry;
  const { settings, name } = definition;
  const health = gateway.pool.health(name);
  return {
    name,
    url: `${resourceBase}/${name}`,
    origin: definition.origin,
    enabled,
    kind: isStdio(settings) ? 'stdio' : 'HTTP',
    target: isStdio(settings) ? [settings.command, ...settings.args].join(' ') : settings.url,
    health,
    tools: health.tools?.filter((tool) => toolVisible(settings, tool)),
    hidden: health.tools?.filter((tool) => !toolVisible(settings, tool)),
    policy: {
      scopes: settings.scopes.join(' '),
      allow: settings.allow?.join(', '),
      deny: settings.deny.join(', '),
      toolScopes: Object.entries(settings.toolScopes).map(([tool, scopes]) => `${tool}: ${scopes.join(' ')}`),
      timeoutMs: settings.timeoutMs,
      concurrency: settings.concurrency,
    },
    json: JSON.stringify(withoutDefaults(settings), null, 2),
  };
}

/** The entry as someone would write it: the defaults left out. */
function withoutDefaults(settings: UpstreamSettings): Record<string, unknown> {
  const { scopes, deny, toolScopes, timeoutMs, concurrency, ...rest } = settings;
  return {
    ...rest,
    ...(scopes.length > 1 ? { scopes } : {}),
    ...(deny.length ? { deny } : {}),
    ...(Object.keys(toolScopes).length ? { toolScopes } : {}),
    ...(timeoutMs !== 60_000 ? { timeoutMs } : {}),
    ...(concurrency !== 32 ? { concurrency } : {}),
  };
}

/**
 * The Upstreams section: the MCP servers behind the gateway, their health,
 * the tools callers see after the policy, and a form to add, change or
 * disable one. A change reaches every instance without a restart.
 */
export function upstreamRoutes({ store, pages, gateway, resourceBase }: Deps): Handlers {
  const handlers = new HandlerSet();

  function render(ctx: Context, form: { name: string; json: string; enabled: boolean }, error?: string, status = 200) {
    pages.render(
      ctx,
      'upstreams',
      'upstreams',
      { title: 'Upstream MCP servers', upstreams: gateway.catalog.all().map((entry) => describe(gateway, resourceBase, entry)), form, error },
      status,
    );
  }

  handlers.get('admin.upstreams', async (ctx) => {
    const editing = typeof ctx.query.edit === 'string' ? gateway.catalog.all().find((entry) => entry.definition.name === ctx.query.edit) : undefined;
    const form = editing
      ? { name: editing.definition.name, json: JSON.stringify(withoutDefaults(editing.definition.settings), null, 2), enabled: editing.enabled }
      : { name: '', json: '{\n  "url": "https://mcp.example.com/mcp"\n}', enabled: true };
    render(ctx, form);
  });

  handlers.post('admin.upstreams', async (ctx) => {
    const form = await pages.form(ctx);
    if (!form) return;
    const name = (form.name ?? '').trim();
    const typed = { name, json: form.settings ?? '', enabled: form.enabled === 'on' };
    if (!UPSTREAM_NAME.test(name)) return render(ctx, typed, 'The name must be 1-63 lowercase letters, digits, "-" or "_": it becomes /mcp/<name>.', 400);
    let settings: unknown;
    try {
      settings = JSON.parse(typed.json);
    } catch (error) {
      return render(ctx, typed, `The settings are not JSON: ${(error as Error).message}`, 400);
    }
    const by = (ctx.state.signedIn as SignedIn).user.id;
    try {
      await gateway.catalog.save(name, settings, typed.enabled, by);
    } catch (error) {
      return render(ctx, typed, (error as Error).message, 400);
    }
    await audit(store, { event: 'upstream.changed', actor: by, subject: name, ip: ctx.ip, detail: { enabled: typed.enabled, settings } });
    await pages.done(ctx, '/admin/upstreams', `Saved ${name}. Every instance serves it at /mcp/${name} within seconds, without a restart.`);
  });

  handlers.post('admin.upstream.enabled', async (ctx, { name }) => {
    const form = await pages.form(ctx);
    if (!form) return;
    const entry = gateway.catalog.all().find((candidate) => candidate.definition.name === name);
    if (!entry) return pages.done(ctx, '/admin/upstreams', `There is no upstream named ${name}.`);
    const enabled = form.enabled === 'on';
    const by = (ctx.state.signedIn as SignedIn).user.id;
    await gateway.catalog.save(entry.definition.name, entry.definition.settings, enabled, by);
    await audit(store, { event: 'upstream.changed', actor: by, subject: entry.definition.name, ip: ctx.ip, detail: { enabled } });
    await pages.done(ctx, '/admin/upstreams', `${entry.definition.name} is ${enabled ? 'enabled' : 'disabled'} on every instance.`);
  });

  return handlers.all;
}
