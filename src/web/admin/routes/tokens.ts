import type { Context } from 'koa';
import type { Store } from '../../../data/engines/store.ts';
import { pageRequest } from '../../../data/paging.ts';
import { tokenPage } from '../../../data/personal-tokens.ts';
import { enabledEmails } from '../../../data/users.ts';
import type { Access } from '../../../domain/access.ts';
import { findUserByEmail } from '../../../domain/accounts.ts';
import { issuePersonalToken, TokenRequestError } from '../../../domain/personal-tokens.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Handlers } from '../../handlers.ts';
import { sendMessage } from '../../views.ts';
import type { SignedIn } from '../admin-session.ts';
import type { Pages } from '../pages.ts';
import { parseTokenForm, tokenFormView } from '../token-form.ts';
import { listLink } from './clients.ts';

interface Deps {
  store: Store;
  pages: Pages;
  access: Access;
}

/** Personal access tokens for anyone: list, create (shown once), revoke. */
export function tokenRoutes({ store, pages, access }: Deps): Handlers {
  const handlers = new HandlerSet();
  const by = (ctx: Context) => ({ actor: (ctx.state.signedIn as SignedIn).user.id, ip: ctx.ip });

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
        emails: await enabledEmails(store, 500),
        ...tokenFormView(form),
        error,
      },
      status,
    );
  }

  handlers.get('admin.tokens', (ctx) => renderList(ctx));

  handlers.post('admin.tokens', async (ctx) => {
    const form = await pages.form(ctx);
    if (!form) return;
    try {
      const owner = await findUserByEmail(store, form.user ?? '');
      if (!owner) throw new TokenRequestError(`There is no user with the email "${form.user ?? ''}".`);
      const { token, record } = await issuePersonalToken(store, { ownerId: owner.id, ...parseTokenForm(form) }, by(ctx));
      pages.render(ctx, 'token-created', 'tokens', { title: 'Token created', token, record, owner, back: '/admin/tokens' }, 201);
    } catch (error) {
      if (error instanceof TokenRequestError) return renderList(ctx, form, error.message, 400);
      throw error;
    }
  });

  handlers.post('admin.token.revoke', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    if (!(await access.revokePersonalToken(params.id!, by(ctx)))) {
      return sendMessage(ctx, 404, 'No such token', 'It may already be revoked.', { link: { href: '/admin/tokens', label: 'All tokens' } });
    }
    await pages.done(ctx, '/admin/tokens', 'Revoked the token; clients using it are refused from now on.');
  });

  return handlers.all;
}
