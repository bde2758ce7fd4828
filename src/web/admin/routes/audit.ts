import { AUDIT_EVENTS } from '../../../data/audit-log.ts';
import type { Store } from '../../../data/engines/store.ts';
import { auditPage, parseUtc } from '../../../data/audit-log.ts';
import type { Handlers } from '../../handlers.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Pages } from '../pages.ts';
import { pageRequest } from '../../../data/paging.ts';
import { clientPath, listLink } from './clients.ts';
import { userPath } from './users.ts';

const text = (value: unknown) => (typeof value === 'string' ? value.trim().slice(0, 200) : '');

/** The audit log, filterable by event, who (actor or subject) and time range (UTC). */
export function auditRoutes({ store, pages }: { store: Store; pages: Pages }): Handlers {
  const handlers = new HandlerSet();

  handlers.get('admin.audit', async (ctx) => {
    const event = (AUDIT_EVENTS as readonly string[]).includes(text(ctx.query.event)) ? text(ctx.query.event) : '';
    const who = text(ctx.query.who);
    const fromText = text(ctx.query.from);
    const toText = text(ctx.query.to);
    const from = parseUtc(fromText);
    const to = parseUtc(toText, true);
    const invalid = [fromText && from === undefined ? 'from' : '', toText && to === undefined ? 'to' : ''].filter(Boolean);
    const page = await auditPage(store, { event: event || undefined, who: who || undefined, from, to }, pageRequest(ctx.query, 50));
    const link = (cursor: Record<string, string | undefined>) => listLink('/admin/audit', { event, who, from: fromText, to: toText, ...cursor });
    pages.render(ctx, 'audit', 'audit', {
      title: 'Audit log',
      page,
      events: AUDIT_EVENTS,
      filter: { event, who, from: fromText, to: toText },
      error: invalid.length ? `Could not read the "${invalid.join('" and "')}" time; use 2025-03-04 or 2025-03-04T12:30 (UTC).` : undefined,
      newerHref: page.newer && link({ before: page.newer }),
      olderHref: page.older && link({ after: page.older }),
      clientPath,
      userPath,
    });
  });

  return handlers.all;
}
