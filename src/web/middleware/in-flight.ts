import type { Middleware } from 'koa';

/**
 * Counts requests that have not finished answering, so a stopping process can
 * wait for them (token requests, MCP calls, their streamed answers) instead of
 * cutting them off. While stopping, answers ask clients to close the
 * connection, so their next request goes to a fresh one (another instance).
 */
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];
  stopping = false;

  middleware(): Middleware {
    return async (ctx, next) => {
      this.count++;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.count--;
        if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
      };
      // 'close' follows every response, streamed or not, finished or cut off.
      ctx.res.once('close', finish);
      if (this.stopping) ctx.set('Connection', 'close');
      await next();
    };
  }

  get size(): number {
    return this.count;
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`; true when drained. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
