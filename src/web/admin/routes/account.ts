import type { Context } from 'koa';
import type { Store } from '../../../data/engines/store.ts';
import { grantsWhere } from '../../../data/oidc-models.ts';
import { tokenPage } from '../../../data/personal-tokens.ts';
import type { Access } from '../../../domain/access.ts';
import { issuePersonalToken, TokenRequestError } from '../../../domain/personal-tokens.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Handlers } from '../../handlers.ts';
import { sendMessage } from '../../views.ts';
import type { SignedIn } from '../admin-session.ts';
import type { Pages } from '../pages.ts';
import { parseTokenForm, tokenFormView } from '../token-form.ts';

interface Deps {
  store: Store;
  pages: Pages;
  access: Access;
}

/** Anyone signed in: their own personal access tokens and the apps they have connected. */
export function accountRoutes({ store, pages, access }: Deps): Handlers {
  const handlers = new HandlerSet();
  const me = (ctx: Context) => (ctx.state.signedIn as SignedIn).user;
  const by = (ctx: Context) => ({ actor: me(ctx).id, ip: ctx.ip });

  async function render(ctx: Context, form: Record<string, string> = {}, error?: string, status = 200) {
    const user = me(ctx);
    const tokens = (await tokenPage(store, user.id, { size: 200 })).rows;
    pages.render(
      ctx,
      'account',
      'account',
      {
        title: 'Your account',
        tokens,
        apps: await grantsWhere(store, 'account_id', user.id),
        ...tokenFormView(form),
        error,
      },
      status,
    );
  }

  handlers.get('account', (ctx) => render(ctx));

  handlers.post('account.token.create', async (ctx) => {
    const form = await pages.form(ctx);
    if (!form) return;
    try {
      const user = me(ctx);
      const { token, record } = await issuePersonalToken(store, { ownerId: user.id, ...parseTokenForm(form) }, by(ctx));
      pages.render(ctx, 'token-created', 'account', { title: 'Token created', token, record, owner: user, back: '/account' }, 201);
    } catch (error) {
      if (error instanceof TokenRequestError) return render(ctx, form, error.message, 400);
      throw error;
    }
  });

  handlers.post('account.token.revoke', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    // Scoped to the owner: someone else's token id is simply not found.
    if (!(await access.revokePersonalToken(params.id!, by(ctx), { ownerId: me(ctx).id }))) {
      return sendMessage(ctx, 404, 'No such token', 'It may already be revoked.', { link: { href: '/account', label: 'Your account' } });
    }
    await pages.done(ctx, '/account', 'Revoked the token.');
  });

  handlers.post('account.app.revoke', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    // Scoped to the owner: someone else's grant id is simply not found.
    if (!(await access.revokeGrant(params.grantId!, by(ctx), { ownerId: me(ctx).id }))) {
      return sendMessage(ctx, 404, 'No such app', 'It may already be disconnected.', { link: { href: '/account', label: 'Your account' } });
    }
    await pages.done(ctx, '/account', 'Disconnected the app. It has to ask you again to get back in.');
  });

  return handlers.all;
}
