import { Eta } from 'eta';
import type { Context } from 'koa';
import { VIEWS_DIR } from '../paths.ts';


// autoEscape: every `<%= %>` is HTML-escaped, so a client-chosen name renders as text.
const eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache: true });

export function renderView(template: string, data: object): string {
  return eta.render(`./${template}`, data);
}

/** Renders a page from views/ as the response. */
export function sendView(ctx: Context, template: string, data: object, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = renderView(template, data);
}

/** A page for people that explains what went wrong, never how. */
export function sendMessage(
  ctx: Context,
  status: number,
  title: string,
  message?: string,
  extra: { detail?: string; link?: { href: string; label: string } } = {},
): void {
  sendView(ctx, 'message', { title, message, ...extra }, status);
}
