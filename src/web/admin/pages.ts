import type { Context, Middleware, Next } from 'koa';
import { readForm } from '../body.ts';
import { routeOf } from '../middleware/route.ts';
import type { Csrf } from '../csrf.ts';
import { PAGE_CSP } from '../middleware/security-headers.ts';
import { sendMessage, sendView } from '../views.ts';
import type { AdminSessions, SignedIn } from './admin-session.ts';
import { format } from './format.ts';
import { fromOurOrigin } from './request-checks.ts';

/** Our pages only ever post to ourselves; the browser enforces it too. */
export const ADMIN_CSP = `${PAGE_CSP}; form-action 'self'`;

export type Section = 'clients' | 'sessions' | 'tokens' | 'users' | 'providers' | 'policy' | 'upstreams' | 'audit' | 'account';

/** What every admin and account page needs: who is signed in, CSRF, the notice from the last action. */
export class Pages {
  constructor(
    private readonly sessions: AdminSessions,
    private readonly csrf: Csrf,
    private readonly issuer: string,
  ) {}

  csrfToken(signedIn: SignedIn): string {
    return this.csrf.token(`admin:${signedIn.sessionHash}`);
  }

  render(ctx: Context, template: string, section: Section, data: object, status = 200): void {
    const signedIn = ctx.state.signedIn as SignedIn;
    sendView(
      ctx,
      `admin/${template}`,
      { ...data, me: signedIn.user, csrf: this.csrfToken(signedIn), flash: signedIn.flash, section, fmt: format },
      status,
    );
  }

  /** Finishes a POST: back to a page that shows what happened (post/redirect/get). */
  async done(ctx: Context, location: string, notice: string): Promise<void> {
    await this.sessions.setFlash((ctx.state.signedIn as SignedIn).sessionHash, notice);
    ctx.status = 303;
    ctx.redirect(location);
  }

  /**
   * The route table's `access`: routes for signed-in people send everyone
   * else to the sign-in page (and back); routes for administrators refuse a
   * signed-in person without the role with 403.
   */
  accessControl(): Middleware {
    return async (ctx: Context, next: Next) => {
      const route = routeOf(ctx);
      const access = route && 'access' in route ? route.access : 'public';
      if (access !== 'person' && access !== 'admin') return next();
      ctx.set('Content-Security-Policy', ADMIN_CSP);
      const signedIn = await this.sessions.load(ctx);
      if (!signedIn) {
        if (ctx.method === 'GET' || ctx.method === 'HEAD') {
          ctx.redirect(`/login?next=${encodeURIComponent(ctx.originalUrl)}`);
          return;
        }
        return sendMessage(ctx, 401, 'Sign in again', 'Your sign-in has ended. Sign in and try again.', { link: { href: '/login', label: 'Sign in' } });
      }
      ctx.state.signedIn = signedIn;
      if (access === 'admin' && !signedIn.user.isAdmin) {
        return sendMessage(ctx, 403, 'Administrators only', 'Your account cannot manage this server. You can manage your own tokens and apps on your account page.', {
          link: { href: '/account', label: 'Your account' },
        });
      }
      await next();
    };
  }

  /** Destructive actions need their "Yes, …" box ticked; the browser asks too, this covers everything else. */
  confirmed(ctx: Context, form: Record<string, string>): boolean {
    if (form.confirm === 'yes') return true;
    sendMessage(ctx, 400, 'Please confirm', 'Tick the "Yes" box next to the button, then try again.');
    return false;
  }

  /**
   * Reads a form posted by a signed-in person, or answers 403 when it lacks
   * this session's CSRF token or comes from another origin.
   */
  async form(ctx: Context): Promise<Record<string, string> | undefined> {
    if (!fromOurOrigin(ctx, this.issuer)) {
      sendMessage(ctx, 403, 'Request refused', 'This form was sent from another site.');
      return undefined;
    }
    const form = await readForm(ctx);
    if (!this.csrf.verify(`admin:${(ctx.state.signedIn as SignedIn).sessionHash}`, form.csrf)) {
      sendMessage(ctx, 403, 'This form has expired', 'Reload the page and try again.');
      return undefined;
    }
    return form;
  }
}
