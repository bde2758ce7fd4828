import type { Context } from 'koa';
import type { Revocation } from '../../../domain/access.ts';
import { audit } from '../../../data/audit-log.ts';
import { findUserByEmail } from '../../../domain/accounts.ts';
import { sendMessage } from '../../views.ts';
import type { Store } from '../../../data/engines/store.ts';
import type { SignedIn } from '../admin-session.ts';
import type { Handlers } from '../../handlers.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Pages } from '../pages.ts';
import { pageRequest } from '../../../data/paging.ts';
import { issueToken, parseTokenForm, tokenFormView, TokenInputError } from '../token-form.ts';
import { tokenPage, userEmails } from '../../../data/token-queries.ts';
import { listLink } from './clients.ts';

interface Deps {
  store: Store;
  pages: Pages;
  revocation: Revocation;
}

/** Personal access tokens for anyone: list, create (shown once), revoke. */
export function tokenRoutes({ store, pages, revocation }: Deps): Handlers {
  const handlers = new HandlerSet();
  const actor = (ctx: Context) => (ctx.state.signedIn as SignedIn).user.id;

  async function renderList(ctx: Context, form: Record<string, string> = {}, error?: string, status = 200) {
    const userFilter = typeof ctx.query.user === 'string' ? ctx.query.user.trim() : '';
    const user = userFilter ? await findUserByEmail(store, userFilter) : undefined;
    const page = userFilter && !user ? { rows: [] } : await tokenPage(store, user?.id, pageRequest(ctx.query, 50));
    const link = (cursor: Record<string, string | undefined>) => listLink('/admin/tokens', { user: userFilter, ...cursor });
    pages.render(
      ctx,
      'tokens',
      'tokens',
      {
        title: 'Personal access tokens',
        page,
        userFilter,
        newerHref: page.newer && link({ before: page.newer }),
        olderHref: page.older && link({ after: page.older }),
        emails: await userEmails(store),
        ...tokenFormView(form),
        error,
      },
      status,
    );
  }

  handlers.get('admin.tokens', (ctx) => renderList(ctx));

  handlers.post('admin.tokens', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    try {
      const request = parseTokenForm(form);
      const owner = await findUserByEmail(store, form.user ?? '');
      if (!owner) throw new TokenInputError(`There is no user with the email "${form.user ?? ''}".`);
      if (owner.disabledAt !== null) throw new TokenInputError(`${owner.email} is disabled.`);
      const { token, record } = await issueToken(store, owner.id, request, { actor: actor(ctx), ip: ctx.ip });
      pages.render(ctx, 'token-created', 'tokens', { title: 'Token created', token, record, owner, back: '/admin/tokens' }, 201);
    } catch (error) {
      if (error instanceof TokenInputError) return renderList(ctx, form, error.message, 400);
      throw error;
    }
  });

  handlers.post('admin.token.revoke', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    const id = params.id!;
    if (!(await revocation.revokePersonalToken(id))) return sendMessage(ctx, 404, 'No such token', 'It may already be revoked.', { link: { href: '/admin/tokens', label: 'All tokens' } });
    await audit(store, { event: 'token.revoked', actor: actor(ctx), subject: id, ip: ctx.ip });
    await pages.done(ctx, '/admin/tokens', 'Revoked the token; clients using it are refused from now on.');
  });

  return handlers.all;
}
