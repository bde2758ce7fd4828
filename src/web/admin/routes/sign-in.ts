import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { audit } from '../../../data/audit-log.ts';
import type { Store } from '../../../data/engines/store.ts';
import type { IdentityProviders } from '../../../domain/identity-providers.ts';
import { refusalMessage, type PasswordSignIn } from '../../../domain/sign-in.ts';
import { readForm } from '../../body.ts';
import type { Csrf } from '../../csrf.ts';
import { sendMessage, sendView } from '../../views.ts';
import type { AdminSessions } from '../admin-session.ts';
import type { Handlers } from '../../handlers.ts';
import { HandlerSet } from '../../handler-set.ts';
import { ADMIN_CSP, type Pages } from '../pages.ts';
import { fromOurOrigin, localPath } from '../request-checks.ts';

interface Deps {
  store: Store;
  signIn: PasswordSignIn;
  sessions: AdminSessions;
  pages: Pages;
  csrf: Csrf;
  issuer: string;
  secureCookies: boolean;
  identityProviders: IdentityProviders;
  /** PASSWORD_LOGIN: off hides the password form and refuses what is posted to it. */
  passwordLogin: boolean;
}

/** The browser nonce the sign-in form's CSRF token is bound to, so another site cannot sign someone in as itself. */
const LOGIN_COOKIE = 'gh_login';

/** /login and /logout for the admin and account pages: the same accounts and lockout as the OAuth sign-in. */
export function signInRoutes({ store, signIn, sessions, pages, csrf, issuer, secureCookies, identityProviders, passwordLogin }: Deps): Handlers {
  const handlers = new HandlerSet();

  function loginNonce(ctx: Context): string {
    let nonce = ctx.cookies.get(LOGIN_COOKIE);
    if (!nonce || !/^[A-Za-z0-9_-]{32}$/.test(nonce)) {
      nonce = randomBytes(24).toString('base64url');
      ctx.cookies.set(LOGIN_COOKIE, nonce, { httpOnly: true, sameSite: 'lax', secure: secureCookies, path: '/login', maxAge: 3600_000, signed: false, overwrite: true });
    }
    return nonce;
  }

  async function render(ctx: Context, data: { next?: string | undefined; email?: string; error?: string }, status = 200) {
    ctx.set('Content-Security-Policy', ADMIN_CSP);
    const companies = (await identityProviders.list()).map((company) => ({
      name: company.name,
      href: `/sso/start/${company.id}${data.next ? `?next=${encodeURIComponent(data.next)}` : ''}`,
    }));
    sendView(ctx, 'admin/login', { action: '/login', csrf: csrf.token(`login:${loginNonce(ctx)}`), companies, passwordLogin, ...data }, status);
  }

  const homeFor = (isAdmin: boolean) => (isAdmin ? '/admin' : '/account');

  handlers.get('login', async (ctx) => {
    ctx.set('Content-Security-Policy', ADMIN_CSP);
    const next = localPath(ctx.query.next);
    const signedIn = await sessions.load(ctx);
    if (signedIn) return ctx.redirect(next ?? homeFor(signedIn.user.isAdmin));
    await render(ctx, { next });
  });

  handlers.post('login', async (ctx) => {
    ctx.set('Content-Security-Policy', ADMIN_CSP);
    if (!fromOurOrigin(ctx, issuer)) return sendMessage(ctx, 403, 'Request refused', 'This form was sent from another site.');
    const form = await readForm(ctx);
    const next = localPath(form.next);
    if (!passwordLogin) return render(ctx, { next, error: 'Signing in with a password is turned off here. Continue with your company account.' }, 403);
    const nonce = ctx.cookies.get(LOGIN_COOKIE);
    if (!nonce || !csrf.verify(`login:${nonce}`, form.csrf)) return render(ctx, { next, error: 'This form expired. Try again.' }, 403);

    const email = (form.email ?? '').trim();
    const result = await signIn.attempt({ email, password: form.password ?? '', ip: ctx.ip, via: { page: 'admin' } });
    if (!result.ok) {
      const refused = refusalMessage(result);
      if (refused.retryAfterSeconds) ctx.set('Retry-After', String(refused.retryAfterSeconds));
      return render(ctx, { next, email, error: refused.message }, refused.status);
    }
    await sessions.start(ctx, result.user.id);
    ctx.cookies.set(LOGIN_COOKIE, null, { path: '/login', secure: secureCookies, signed: false, overwrite: true });
    ctx.status = 303;
    ctx.redirect(next ?? homeFor(result.user.isAdmin));
  });

  handlers.post('logout', async (ctx) => {
    const form = await pages.form(ctx);
    if (!form) return;
    const { sessionHash, user } = ctx.state.signedIn;
    await sessions.end(ctx, sessionHash);
    await audit(store, { event: 'logout', actor: user.id, subject: user.id, ip: ctx.ip });
    ctx.status = 303;
    ctx.redirect('/login');
  });

  return handlers.all;
}
