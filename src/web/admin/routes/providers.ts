import type { Context } from 'koa';
import { IdentityProviderInputError, type IdentityProviders } from '../../../domain/identity-providers.ts';
import { HandlerSet } from '../../handler-set.ts';
import type { Handlers } from '../../handlers.ts';
import type { SignedIn } from '../admin-session.ts';
import type { Pages } from '../pages.ts';

interface Deps {
  pages: Pages;
  identityProviders: IdentityProviders;
  /** Where providers send people back: `$PUBLIC_URL/sso/callback`. */
  redirectUri: string;
}

const lines = (text: string | undefined) => (text ?? '').split(/[\s,]+/).map((item) => item.trim()).filter(Boolean);

/** The identity providers people sign in through: list, add or change (same id), remove. Every instance sees a change at its next sign-in. */
export function providerRoutes({ pages, identityProviders, redirectUri }: Deps): Handlers {
  const handlers = new HandlerSet();
  const by = (ctx: Context) => ({ actor: (ctx.state.signedIn as SignedIn).user.id, ip: ctx.ip });

  async function render(ctx: Context, form: Record<string, string> = {}, error?: string, status = 200) {
    const providers = (await identityProviders.list()).map(({ clientSecret: _secret, ...shown }) => shown);
    pages.render(ctx, 'providers', 'providers', { title: 'Sign-in providers', providers, redirectUri, form, error }, status);
  }

  handlers.get('admin.providers', (ctx) => render(ctx));

  handlers.post('admin.providers', async (ctx) => {
    const form = await pages.form(ctx);
    if (!form) return;
    try {
      await identityProviders.save(
        {
          id: form.id ?? '',
          name: form.name ?? '',
          issuer: form.issuer ?? '',
          clientId: form.client_id ?? '',
          clientSecret: form.client_secret ?? '',
          allowedDomains: lines(form.allowed_domains),
          adminGroups: lines(form.admin_groups),
        },
        by(ctx),
      );
    } catch (error) {
      if (!(error instanceof IdentityProviderInputError)) throw error;
      const { client_secret: _secret, ...typed } = form;
      return render(ctx, typed, error.message, 400);
    }
    await pages.done(ctx, '/admin/providers', `Saved ${form.name}. Sign-ins on every instance use it from now on.`);
  });

  handlers.post('admin.provider.delete', async (ctx, params) => {
    const form = await pages.form(ctx);
    if (!form) return;
    const removed = await identityProviders.remove(params.id!, by(ctx));
    await pages.done(ctx, '/admin/providers', removed ? `Removed ${params.id}.` : `There was no provider ${params.id} to remove (the one from SSO_* changes only with the configuration).`);
  });

  return handlers.all;
}
