import type { Context } from 'koa';
import { audit } from '../../../data/audit-log.ts';
import { recentAudit } from '../../../data/audit-log.ts';
import { CLIENT_KINDS, clientPage, type ClientIndex, type ClientKind } from '../../../data/client-index.ts';
import type { Store } from '../../../data/engines/store.ts';
import { pageRequest } from '../../../data/paging.ts';
import type { Access } from '../../../domain/access.ts';
import { deleteStaleClients } from '../../../domain/stale-clients.ts';
import { ClientInputError, registerManualClient } from '../../../oauth/manual-clients.ts';
import type Provider from 'oidc-provider';
import { HandlerSet } from '../../handler-set.ts';
import type { Handlers } from '../../handlers.ts';
import { sendMessage } from '../../views.ts';
import type { SignedIn } from '../admin-session.ts';
import { clientDetail } from '../client-detail.ts';
import type { Pages } from '../pages.ts';
import { localPath } from '../request-checks.ts';

interface Deps {
  store: Store;
  pages: Pages;
  access: Access;
  registerManual: { store: Store; provider: Provider; clientIndex: ClientIndex };
}

export const CLIENTS_PER_PAGE = 50;

export const clientPath = (clientId: string) => `/admin/clients/${encodeURIComponent(clientId)}`;

/** A link to the same list with some query parameters changed (and empty ones dropped). */
export function listLink(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => Boolean(entry[1])));
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** The client list, detail, revoke, delete, manual registration and stale cleanup. */
export function clientRoutes({ store, pages, access, registerManual }: Deps): Handlers {
  const handlers = new HandlerSet();
  const by = (ctx: Context) => ({ actor: (ctx.state.signedIn as SignedIn).user.id, ip: ctx.ip });

  handlers.get('admin', (ctx) => ctx.redirect('/admin/clients'));

  handlers.get('admin.clients', async (ctx) => {
    const search = text(ctx.query.q).trim().slice(0, 200);
    const kind = CLIENT_KINDS.includes(ctx.query.kind as ClientKind) ? (ctx.query.kind as ClientKind) : undefined;
    const page = await clientPage(store, { search, kind }, pageRequest(ctx.query, CLIENTS_PER_PAGE));
    const link = (cursor: Record<string, string | undefined>) => listLink('/admin/clients', { q: search, kind, ...cursor });
    pages.render(ctx, 'clients', 'clients', {
      title: 'Clients',
      page,
      search,
      kind,
      kinds: CLIENT_KINDS,
      newerHref: page.newer && link({ before: page.newer }),
      olderHref: page.older && link({ after: page.older }),
      firstHref: page.newer ? link({}) : undefined,
      clientPath,
    });
  });

  const renderNew = (ctx: Context, form: Record<string, string> = {}, error?: string, status = 200) =>
    pages.render(ctx, 'client-new', 'clients', { title: 'Register a client', form, error }, status);

  handlers.get('admin.client.new', (ctx) => renderNew(ctx));

  handlers.post('admin.clients', async (ctx) => {
    const form = await pages.form(ctx);
    if (!form) return;
    try {
      const redirectUris = text(form.redirect_uris).split(/\s+/).filter(Boolean);
      const created = await registerManualClient(registerManual, {
        name: text(form.name),
        redirectUris,
        confidential: form.type === 'confidential',
        clientCredentials: form.client_credentials === 'on',
        idJag: form.id_jag === 'on',
        scope: text(form.scope),
      });
      const grants = [form.client_credentials === 'on' && 'client_credentials', form.id_jag === 'on' && 'id-jag'].filter(Boolean);
      await audit(store, { event: 'client.registered', ...by(ctx), subject: created.clientId, detail: { kind: 'manual', name: form.name, ...(grants.length ? { grants } : {}) } });
      // The secret exists only in this response: never stored in clear elsewhere, never shown again.
      pages.render(ctx, 'client-created', 'clients', { title: 'Client registered', name: form.name, created, redirectUris, clientPath }, 201);
    } catch (error) {
      if (error instanceof ClientInputError) return renderNew(ctx, form, error.message, 400);
      throw error;
    }
  });

  handlers.post('admin.clients.cleanup', async (ctx) => {
    const form = await pages.form(ctx);
    if (!form) return;
    if (!pages.confirmed(ctx, form)) return;
    const days = Number(form.days);
    if (!Number.isInteger(days) || days < 1) return sendMessage(ctx, 400, 'That did not work', 'The retention must be a whole number of days.');
    const deleted = await deleteStaleClients(store, access, days, by(ctx));
    await audit(store, { event: 'clients.cleaned', ...by(ctx), detail: { deleted, olderThanDays: days } });
    await pages.done(ctx, '/admin/policy', deleted === 1 ? 'Deleted 1 stale client.' : `Deleted ${deleted} stale clients.`);
  });

  handlers.get('admin.client', async (ctx, params) => {
    const clientId = params.id!;
    const detail = await clientDetail(store, clientId);
    if (!detail) return sendMessage(ctx, 404, 'No such client', 'It may have been deleted.', { link: { href: '/admin/clients', label: 'All clients' } });
    pages.render(ctx, 'client', 'clients', {
      title: detail.summary.name ?? clientId,
      detail,
      metadataJson: JSON.stringify(detail.metadata, null, 2),
      audit: await recentAudit(store, clientId, 10),
      clientPath,
      returnTo: clientPath(clientId),
    });
  });

  handlers.post('admin.client.revoke', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    if (!pages.confirmed(ctx, form)) return;
    const clientId = params.id!;
    const { grants, sessions } = await access.revokeClient(clientId, by(ctx));
    await pages.done(ctx, clientPath(clientId), `Revoked everything the client held: ${grants} grant(s), ${sessions} session(s).`);
  });

  handlers.post('admin.client.delete', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    if (!pages.confirmed(ctx, form)) return;
    await access.deleteClient(params.id!, by(ctx));
    await pages.done(ctx, '/admin/clients', `Deleted client ${params.id!}.`);
  });

  handlers.post('admin.grant.revoke', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    await access.revokeGrant(params.grantId!, by(ctx));
    await pages.done(ctx, localPath(form.return_to) ?? '/admin/clients', 'Revoked the grant and every token issued under it.');
  });

  return handlers.all;
}
