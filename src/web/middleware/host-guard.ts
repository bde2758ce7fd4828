import type { Middleware } from 'koa';
import type { Config } from '../../config/config.ts';
import { sendError } from './errors.ts';
import { routeOf } from './route.ts';

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.includes(hostname);
}

function hostnameOf(hostHeader: string): string {
  // `[::1]:3000` keeps its brackets; `example.com:443` loses the port.
  const bracketed = /^(\[[^\]]+\])(?::\d+)?$/.exec(hostHeader);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return hostHeader.replace(/:\d+$/, '').toLowerCase();
}

/**
 * DNS-rebinding protection for the MCP endpoints: the Host must be one this
 * server answers to, and an Origin, when a browser sends one, must be ours or
 * explicitly allowed. Requests without Origin (every non-browser client) pass.
 * A server on a loopback address also accepts the other loopback spellings.
 */
export class RequestGuard {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;
  private readonly anyOrigin: boolean;
  private readonly loopbackServer: boolean;

  constructor(config: Pick<Config, 'allowedHosts' | 'allowedOrigins' | 'issuer'>) {
    this.loopbackServer = isLoopback(new URL(config.issuer).hostname);
    this.hosts = new Set([...config.allowedHosts.map((host) => host.toLowerCase()), ...(this.loopbackServer ? LOOPBACK_HOSTS : [])]);
    this.anyOrigin = config.allowedOrigins.includes('*');
    this.origins = new Set(config.allowedOrigins.filter((origin) => origin !== '*').map((origin) => origin.replace(/\/$/, '').toLowerCase()));
  }

  /** Undefined when the request may proceed; otherwise why not. */
  refusal(hostHeader: string | undefined, originHeader: string | undefined): string | undefined {
    if (!hostHeader || !this.hosts.has(hostnameOf(hostHeader))) return `Host ${hostHeader ?? '(none)'} is not served here`;
    if (!originHeader || this.anyOrigin) return undefined;
    const origin = originHeader.toLowerCase();
    if (this.origins.has(origin)) return undefined;
    const parsed = URL.parse(origin);
    if (this.loopbackServer && parsed && isLoopback(parsed.hostname)) return undefined;
    return `Origin ${originHeader} is not allowed`;
  }
}

/** Applies the guard to the routes the table marks `hostGuard` (the MCP endpoints). */
export function hostGuard(guard: RequestGuard): Middleware {
  return async (ctx, next) => {
    const route = routeOf(ctx);
    if (route && 'hostGuard' in route && route.hostGuard) {
      const refusal = guard.refusal(ctx.get('host') || undefined, ctx.get('origin') || undefined);
      if (refusal) return sendError(ctx, 403, `Forbidden: ${refusal}`, 'access_denied');
    }
    await next();
  };
}
