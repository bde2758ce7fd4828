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
import { activeTasks } from '../../../data/tasks.ts';
import type { Tasks } from '../../../mcp/tasks/tasks.ts';
import { clientPath, listLink } from './clients.ts';

interface Deps {
  store: Store;
  pages: Pages;
  sessions: SessionRegistry;
  tasks: Tasks;
}

/** The running tasks shown at once; a person may run at most MAX_RUNNING_TASKS_PER_PERSON. */
const TASKS_SHOWN = 200;

const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');

/** Live MCP sessions: who, which client, which transport and protocol; end one. Running tasks, and who started them; cancel one. */
export function sessionRoutes({ store, pages, sessions, tasks }: Deps): Handlers {
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
      tasks: await activeTasks(store, TASKS_SHOWN),
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

  handlers.post('admin.task.cancel', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    const id = params.id!;
    const by = (ctx.state.signedIn as SignedIn).user;
    if (!(await tasks.cancelById(id, `Cancelled by an administrator (${by.email}).`))) {
      return sendMessage(ctx, 404, 'No such running task', 'It has already ended.', { link: { href: '/admin/sessions', label: 'Sessions and tasks' } });
    }
    await audit(store, { event: 'task.cancelled', actor: by.id, subject: id, ip: ctx.ip });
    await pages.done(ctx, localPath(form.return_to) ?? '/admin/sessions', 'Cancelled the task; the tool was told to stop and its client reads it as cancelled.');
  });

  return handlers.all;
}
