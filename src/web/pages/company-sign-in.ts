import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Logger } from '../../ops/logging.ts';
import type { CompanySignIn } from '../../domain/company-sign-in.ts';
import type { IdentityProvider, IdentityProviders } from '../../domain/identity-providers.ts';
import type { PendingSignIn, UpstreamSignIn } from '../../oauth/upstream.ts';
import type { AdminSessions } from '../admin/admin-session.ts';
import { localPath } from '../admin/request-checks.ts';
import type { Handlers } from '../handlers.ts';
import { SealedCookie } from '../sealed-cookie.ts';
import { sendMessage } from '../views.ts';

interface Deps {
  issuer: string;
  provider: Provider;
  upstream: UpstreamSignIn;
  identityProviders: IdentityProviders;
  companySignIn: CompanySignIn;
  adminSessions: AdminSessions;
  cookieSecret: string;
  secureCookies: boolean;
  logger: Logger;
}

/** Where the person goes once the provider vouched for them: back into an OAuth authorization, or to a page of ours. */
type Destination = { interaction: string; client: string } | { next: string };

type Pending = PendingSignIn & { provider: string; to: Destination };

/** How long a person may take at their identity provider. */
const PENDING_SECONDS = 10 * 60;

const homeFor = (isAdmin: boolean) => (isAdmin ? '/admin' : '/account');

/**
 * "Continue with <provider>": the same sign-in for the OAuth interaction,
 * /login and /admin. The start remembers PKCE verifier, state, nonce and where
 * to go after in a sealed cookie (any instance can finish what another
 * started); the callback at `$PUBLIC_URL/sso/callback` redeems the code,
 * hands the checked identity to the company sign-in rules, and either
 * completes the authorization or opens a browser session. A refusal is a page
 * that says why, never an error; nothing about the code or tokens is logged.
 */
export function companySignInHandlers(deps: Deps): Handlers {
  const pendingCookie = new SealedCookie<Pending>('gh_sso', deps.cookieSecret, { path: '/sso/callback', maxAgeSeconds: PENDING_SECONDS, secure: deps.secureCookies });

  function refused(ctx: Context, message: string, retry?: string) {
    sendMessage(ctx, 403, 'You could not be signed in', message, retry ? { link: { href: retry, label: 'Back to sign-in' } } : {});
  }

  /** The sign-in page a person came from, to try again or choose another way in. */
  const signInPageOf = (to: Destination) => ('interaction' in to ? `/interaction/${to.interaction}` : `/login${to.next ? `?next=${encodeURIComponent(to.next)}` : ''}`);

  async function begin(ctx: Context, identityProvider: IdentityProvider | undefined, to: Destination): Promise<void> {
    const back = { link: { href: signInPageOf(to), label: 'Back to sign-in' } };
    if (!identityProvider) return sendMessage(ctx, 404, 'No such sign-in', 'This identity provider is not set up here (any more). Choose another way to sign in.', back);
    let started;
    try {
      started = await deps.upstream.start(identityProvider);
    } catch (error) {
      deps.logger.warn({ provider: identityProvider.id, reason: (error as Error).message }, 'could not start sign-in at the identity provider');
      return sendMessage(ctx, 502, 'Your identity provider did not answer', `Gatehouse could not reach ${identityProvider.name}. Try again in a moment, or ask your administrator.`, back);
    }
    await pendingCookie.set(ctx, { ...started.pending, provider: identityProvider.id, to });
    ctx.status = 303;
    ctx.redirect(started.url.href);
  }

  async function startFromPage(ctx: Context, { provider: id }: Record<string, string>) {
    await begin(ctx, await deps.identityProviders.find(id!), { next: localPath(ctx.query.next) ?? '' });
  }

  /** Only the browser that holds the interaction's cookie may start signing in for it (no one can sign someone into another's authorization). */
  async function startFromInteraction(ctx: Context, { uid, provider: id }: Record<string, string>) {
    let client: string;
    try {
      const interaction = await deps.provider.interactionDetails(ctx.req, ctx.res);
      if (interaction.uid !== uid || interaction.prompt.name !== 'login') throw new errors.SessionNotFound('interaction mismatch');
      client = String(interaction.params.client_id);
    } catch (error) {
      if (error instanceof errors.SessionNotFound || error instanceof errors.InvalidRequest) {
        return sendMessage(ctx, 400, 'This sign-in has expired', 'Go back to the app you were connecting and start again.');
      }
      throw error;
    }
    await begin(ctx, await deps.identityProviders.find(id!), { interaction: uid!, client });
  }

  async function callback(ctx: Context) {
    const pending = await pendingCookie.read(ctx);
    pendingCookie.clear(ctx);
    if (!pending) return sendMessage(ctx, 400, 'This sign-in has expired', 'It took too long, or it was started in another browser. Start again from the sign-in page.');
    const retry = signInPageOf(pending.to);
    const identityProvider = await deps.identityProviders.find(pending.provider);
    if (!identityProvider) return refused(ctx, 'This identity provider was removed while you were signing in. Choose another way to sign in.', retry);

    let identity;
    try {
      // The callback's own URL as the provider redirected to it, on our public origin (never the Host a proxy passed on).
      identity = await deps.upstream.finish(identityProvider, new URL(`${deps.issuer}/sso/callback${ctx.querystring ? `?${ctx.querystring}` : ''}`), pending);
    } catch (error) {
      deps.logger.warn({ provider: identityProvider.id, reason: (error as Error).message }, 'sign-in at the identity provider did not complete');
      return refused(ctx, `${identityProvider.name} did not confirm who you are, or the answer did not hold up. Start again; if it happens again, ask your administrator.`, retry);
    }

    const via = 'interaction' in pending.to ? { client: pending.to.client } : { page: 'admin' as const };
    const result = await deps.companySignIn.complete(identityProvider, identity, { ip: ctx.ip, via });
    if (!result.ok) return refused(ctx, result.message, retry);

    if ('interaction' in pending.to) {
      const interaction = await deps.provider.Interaction.find(pending.to.interaction);
      if (!interaction) return sendMessage(ctx, 400, 'This sign-in has expired', 'Go back to the app you were connecting and start again.');
      interaction.result = { login: { accountId: result.user.id } };
      await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
      ctx.status = 303;
      return ctx.redirect(interaction.returnTo);
    }
    await deps.adminSessions.start(ctx, result.user.id);
    ctx.status = 303;
    ctx.redirect(pending.to.next || homeFor(result.user.isAdmin));
  }

  return {
    'sso.start': { GET: startFromPage },
    'interaction.sso': { GET: startFromInteraction },
    'sso.callback': { GET: callback },
  };
}
