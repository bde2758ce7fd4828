import type { Middleware } from 'koa';

const pending = new WeakMap<object, Promise<unknown>[]>();

/**
 * Holds this request's answer until `work` is done. For work started by an
 * event handler (oidc-provider emits events without awaiting them) that must
 * have landed before the client can act on the answer, on any instance.
 * `work` should handle its own errors; a failure does not change the answer.
 */
export function finishBeforeAnswering(ctx: object, work: Promise<unknown>): void {
  const list = pending.get(ctx) ?? [];
  list.push(work);
  pending.set(ctx, list);
}

/** Waits, after everything downstream, for work registered with `finishBeforeAnswering`. */
export function settleBeforeAnswering(): Middleware {
  return async (ctx, next) => {
    await next();
    const work = pending.get(ctx);
    if (work) await Promise.allSettled(work);
  };
}
