import type { Context } from 'koa';
import type { Revocation } from '../../../domain/access.ts';
import { audit } from '../../../data/audit-log.ts';
import { sendMessage } from '../../views.ts';
import type { Store } from '../../../data/engines/store.ts';
import type { SignedIn } from '../admin-session.ts';
import { grantsWhere } from '../../../data/client-queries.ts';
import type { Handlers } from '../../handlers.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Pages } from '../pages.ts';
import { issueToken, parseTokenForm, tokenFormView, TokenInputError } from '../token-form.ts';
import { tokenPage } from '../../../data/token-queries.ts';

interface Deps {
  store: Store;
  pages: Pages;
  revocation: Revocation;
}

/** Anyone signed in: their own personal access tokens and the apps they have connected. */
export function accountRoutes({ store, pages, revocation }: Deps): Handlers {
  const handlers = new HandlerSet();
  const me = (ctx: Context) => (ctx.state.signedIn as SignedIn).user;

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

  handlers.post('account.token.create', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    try {
      const user = me(ctx);
      const { token, record } = await issueToken(store, user.id, parseTokenForm(form), { actor: user.id, ip: ctx.ip });
      pages.render(ctx, 'token-created', 'account', { title: 'Token created', token, record, owner: user, back: '/account' }, 201);
    } catch (error) {
      if (error instanceof TokenInputError) return render(ctx, form, error.message, 400);
      throw error;
    }
  });

  handlers.post('account.token.revoke', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    const id = params.id!;
    // Scoped to the owner: someone else's token id is simply not found.
    if (!(await revocation.revokePersonalToken(id, me(ctx).id))) return sendMessage(ctx, 404, 'No such token', 'It may already be revoked.', { link: { href: '/account', label: 'Your account' } });
    await audit(store, { event: 'token.revoked', actor: me(ctx).id, subject: id, ip: ctx.ip });
    await pages.done(ctx, '/account', 'Revoked the token.');
  });

  handlers.post('account.app.revoke', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    const grantId = params.grantId!;
    const owned = await store.get("SELECT 1 AS ok FROM oidc_models WHERE model = 'Grant' AND grant_id = ? AND account_id = ?", [grantId, me(ctx).id]);
    if (!owned) return sendMessage(ctx, 404, 'No such app', 'It may already be disconnected.', { link: { href: '/account', label: 'Your account' } });
    await revocation.revokeGrant(grantId);
    await audit(store, { event: 'grant.revoked', actor: me(ctx).id, subject: grantId, ip: ctx.ip });
    await pages.done(ctx, '/account', 'Disconnected the app. It has to ask you again to get back in.');
  });

  return handlers.all;
}
