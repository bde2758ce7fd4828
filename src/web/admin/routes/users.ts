import type { Context } from 'koa';
import { recentAudit } from '../../../data/audit-log.ts';
import type { Store } from '../../../data/engines/store.ts';
import { countSessions } from '../../../data/mcp-sessions.ts';
import { grantsWhere } from '../../../data/oidc-models.ts';
import { tokenPage } from '../../../data/personal-tokens.ts';
import type { Access } from '../../../domain/access.ts';
import { AccountError, addPerson, findUserById, listPeople, MIN_PASSWORD_LENGTH, resetPassword, setAdministrator } from '../../../domain/accounts.ts';
import { identitySources } from '../../../domain/identity-sources.ts';
import type { IdentityProviders } from '../../../domain/identity-providers.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Handlers } from '../../handlers.ts';
import type { RouteName } from '../../routes.ts';
import { sendMessage } from '../../views.ts';
import type { SignedIn } from '../admin-session.ts';
import type { Pages } from '../pages.ts';
import { clientPath } from './clients.ts';

interface Deps {
  store: Store;
  pages: Pages;
  access: Access;
  identityProviders: IdentityProviders;
}

export const userPath = (userId: string) => `/admin/users/${encodeURIComponent(userId)}`;

/** Accounts: list, create, and per person: admin role, disable/enable, password reset. */
export function userRoutes({ store, pages, access, identityProviders }: Deps): Handlers {
  const handlers = new HandlerSet();
  const me = (ctx: Context) => (ctx.state.signedIn as SignedIn).user;
  const by = (ctx: Context) => ({ actor: me(ctx).id, ip: ctx.ip });

  async function renderList(ctx: Context, form: Record<string, string> = {}, error?: string, status = 200) {
    const search = typeof ctx.query.q === 'string' ? ctx.query.q.trim().slice(0, 200) : '';
    const users = await listPeople(store, search);
    const sources = await identitySources(store, identityProviders, users);
    pages.render(ctx, 'users', 'users', { title: 'Users', users, sources, search, form, error, minLength: MIN_PASSWORD_LENGTH, userPath }, status);
  }

  handlers.get('admin.users', (ctx) => renderList(ctx));

  handlers.post('admin.users', async (ctx) => {
    const form = await pages.form(ctx);
    if (!form) return;
    try {
      const { user, generated } = await addPerson(store, { email: form.email ?? '', name: (form.name ?? '').trim(), isAdmin: form.admin === 'on', password: form.password ?? '' }, by(ctx));
      if (!generated) return pages.done(ctx, userPath(user.id), `Created ${user.email}.`);
      pages.render(ctx, 'password-shown', 'users', { title: 'User created', heading: `Created ${user.email}`, user, password: generated, userPath }, 201);
    } catch (error) {
      if (error instanceof AccountError) return renderList(ctx, form, error.message, 400);
      throw error;
    }
  });

  handlers.get('admin.user', async (ctx, params) => {
    const user = await findUserById(store, params.id!);
    if (!user) return sendMessage(ctx, 404, 'No such user', undefined, { link: { href: '/admin/users', label: 'All users' } });
    const sessions = await countSessions(store, { column: 'user_id', value: user.id });
    pages.render(ctx, 'user', 'users', {
      title: user.email,
      user,
      source: (await identitySources(store, identityProviders, [user])).get(user.id),
      isMe: user.id === me(ctx).id,
      grants: await grantsWhere(store, 'account_id', user.id),
      tokens: (await tokenPage(store, user.id, { size: 200 })).rows,
      sessions,
      audit: await recentAudit(store, user.id, 10),
      returnTo: userPath(user.id),
      clientPath,
    });
  });

  /** Runs an account action, turning a refusal into a page that says why. */
  function action(name: RouteName, work: (ctx: Context, form: Record<string, string>, userId: string) => Promise<void>) {
    handlers.post(name, async (ctx, params) => {
      const form = await pages.form(ctx);
      if (!form) return;
      try {
        await work(ctx, form, params.id!);
      } catch (error) {
        if (!(error instanceof AccountError)) throw error;
        sendMessage(ctx, 400, 'That did not work', error.message, { link: { href: userPath(params.id!), label: 'Back' } });
      }
    });
  }

  action('admin.user.disable', async (ctx, form, userId) => {
    if (!pages.confirmed(ctx, form)) return;
    const user = await access.disablePerson(userId, by(ctx));
    await pages.done(ctx, userPath(userId), `Disabled ${user.email}: their grants, tokens and sessions have ended.`);
  });

  action('admin.user.enable', async (ctx, _form, userId) => {
    const user = await access.enablePerson(userId, by(ctx));
    await pages.done(ctx, userPath(userId), `Enabled ${user.email}. They can sign in again.`);
  });

  action('admin.user.admin', async (ctx, form, userId) => {
    const isAdmin = form.admin === 'on';
    const user = await setAdministrator(store, userId, isAdmin, by(ctx));
    await pages.done(ctx, userPath(userId), isAdmin ? `${user.email} is now an administrator.` : `${user.email} is no longer an administrator.`);
  });

  action('admin.user.password', async (ctx, _form, userId) => {
    const { user, password } = await resetPassword(store, (id) => access.signOutEverywhere(id), userId, by(ctx));
    pages.render(ctx, 'password-shown', 'users', { title: 'Password reset', heading: `New password for ${user.email}`, user, password, userPath });
  });

  return handlers.all;
}
