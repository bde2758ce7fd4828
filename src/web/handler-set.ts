import type { Handler, Handlers } from './handlers.ts';
import type { RouteName } from './routes.ts';

/** Collects an area's handlers one route and method at a time. */
export class HandlerSet {
  readonly all: Handlers = {};

  get(name: RouteName, handler: Handler): void {
    this.on(name, 'GET', handler);
  }

  post(name: RouteName, handler: Handler): void {
    this.on(name, 'POST', handler);
  }

  private on(name: RouteName, method: 'GET' | 'POST', handler: Handler): void {
    const methods = (this.all[name] ??= {});
    if (methods[method]) throw new Error(`two handlers for ${method} ${name}`);
    methods[method] = handler;
  }
}
