import type { Context } from 'koa';
import { audit } from '../../data/audit-log.ts';
import { readForm } from '../body.ts';
import type { Csrf } from '../csrf.ts';
import type { Handlers } from '../handlers.ts';
import { sendMessage, sendView } from '../views.ts';
import type { Store } from '../../data/engines/store.ts';
import { AccountError, completeSetup, MIN_PASSWORD_LENGTH, setupTokenIsValid } from '../../domain/accounts.ts';

/** The one-time page, printed at first start, that creates the first administrator. */
export function setupHandlers({ store, csrf }: { store: Store; csrf: Csrf }): Handlers {
  const expired = (ctx: Context) =>
    sendMessage(ctx, 404, 'This setup link is no longer valid', 'It was already used or has expired. Run `gatehouse user add --admin` on the server instead.');

  async function show(ctx: Context, params: Record<string, string>) {
    const token = params.token!;
    if (!(await setupTokenIsValid(store, token))) return expired(ctx);
    sendView(ctx, 'setup', { action: `/setup/${token}`, csrf: csrf.token(`setup:${token}`), minLength: MIN_PASSWORD_LENGTH });
  }

  async function submit(ctx: Context, params: Record<string, string>) {
    const token = params.token!;
    const form = await readForm(ctx);
    if (!(await setupTokenIsValid(store, token))) return expired(ctx);
    const again = (error: string, status = 400) =>
      sendView(ctx, 'setup', { action: `/setup/${token}`, csrf: csrf.token(`setup:${token}`), minLength: MIN_PASSWORD_LENGTH, email: form.email, error }, status);
    if (!csrf.verify(`setup:${token}`, form.csrf)) return again('This form expired. Try again.', 403);
    if ((form.password ?? '') !== (form.confirm ?? '')) return again('The two passwords are different.');
    try {
      const user = await completeSetup(store, token, form.email ?? '', form.password ?? '');
      await audit(store, { event: 'setup.completed', actor: user.id, subject: user.id, ip: ctx.ip });
      sendMessage(ctx, 201, 'Administrator created', `You can now sign in as ${user.email}.`, { link: { href: '/admin', label: 'Open the admin page' } });
    } catch (error) {
      if (error instanceof AccountError) return again(error.message);
      throw error;
    }
  }

  return { setup: { GET: show, POST: submit } };
}
