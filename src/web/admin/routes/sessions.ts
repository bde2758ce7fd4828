import { audit } from '../../../data/audit-log.ts';
import { findUserByEmail, findUserById } from '../../../domain/accounts.ts';
import { sendMessage } from '../../views.ts';
import type { SessionRegistry } from '../../../mcp/sessions/registry.ts';
import type { Store } from '../../../data/engines/store.ts';
import type { SignedIn } from '../admin-session.ts';
import type { Handlers } from '../../handlers.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Pages } from '../pages.ts';
import { pageRequest } from '../../../data/paging.ts';
import { localPath } from '../request-checks.ts';
import { sessionPage } from '../../../data/mcp-sessions.ts';
import { clientPath, listLink } from './clients.ts';

interface Deps {
  store: Store;
  pages: Pages;
  sessions: SessionRegistry;
}

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');

/** Live MCP sessions: who, which client, which transport and protocol; end one. */
export function sessionRoutes({ store, pages, sessions }: Deps): Handlers {
  const handlers = new HandlerSet();

  handlers.get('admin.sessions', async (ctx) => {
    const userFilter = text(ctx.query.user);
    const clientFilter = text(ctx.query.client);
    const user = userFilter ? ((await findUserById(store, userFilter)) ?? (await findUserByEmail(store, userFilter))) : undefined;
    const page =
      userFilter && !user ? { rows: [] } : await sessionPage(store, { userId: user?.id, clientId: clientFilter || undefined }, pageRequest(ctx.query, 50));
    const link = (cursor: Record<string, string | undefined>) => listLink('/admin/sessions', { user: userFilter, client: clientFilter, ...cursor });
    pages.render(ctx, 'sessions', 'sessions', {
      title: 'MCP sessions',
      page,
      userFilter,
      clientFilter,
      newerHref: page.newer && link({ before: page.newer }),
      olderHref: page.older && link({ after: page.older }),
      returnTo: ctx.originalUrl,
      clientPath,
    });
  });

  handlers.post('admin.session.end', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    const idHash = params.hash!;
    if (!(await sessions.endByHash(idHash))) return sendMessage(ctx, 404, 'No such session', 'It has already ended.', { link: { href: '/admin/sessions', label: 'All sessions' } });
    await audit(store, { event: 'session.ended', actor: (ctx.state.signedIn as SignedIn).user.id, subject: idHash, ip: ctx.ip });
    await pages.done(ctx, localPath(form.return_to) ?? '/admin/sessions', 'Ended the session; its client gets 404 and must start a new one.');
  });

  return handlers.all;
}
