import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Context, Middleware } from 'koa';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../config/config.ts';
import type { Store } from '../../data/engines/store.ts';
import type { RateLimitName, Route } from '../routes.ts';
import { sendError } from './errors.ts';
import { routeOf } from './route.ts';
import { StoreRateLimiter } from '../../data/rate-limits.ts';
import { peekBody } from '../replayable-body.ts';
import { LruCache } from '../../util/lru-cache.ts';


/** How stale a busy key's shared count may get before this instance adds its share. */
const SYNC_EVERY_MS = 1000;

/** This instance's view of one busy key: the shared total it last read, plus what it counted since. */
interface Tally {
  total: number;
  unsynced: number;
  syncedAt: number;
  resetAt: number;
  syncing?: Promise<void>;
}

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address it carries. */
function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function exemptions(ranges: string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [address = '', bits] = range.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/**
 * Who may ask how often, counted in the Store so every instance shares the
 * counts. Limits keyed by IP (registration, sign-in) are generous and skip the
 * exempt ranges: every Claude.ai user arrives from Anthropic's addresses and
 * registers a client per connection. The token endpoint counts per client and
 * /mcp per principal, so hosted clients never starve each other.
 */
export class RateLimits {
  private readonly limiters: Partial<Record<RateLimitName, StoreRateLimiter>> = {};
  private readonly tallies = new LruCache<string, Tally>(50_000);
  private readonly exempt: BlockList;
  /** Refusals per limit, for /metrics. */
  readonly refused: Record<RateLimitName, number> = { register: 0, token: 0, login: 0, mcp: 0 };

  constructor(store: Store, config: Config) {
    const perMinute: Record<RateLimitName, number> = {
      register: config.rateLimits.registerPerMinute,
      token: config.rateLimits.tokenPerMinute,
      login: config.rateLimits.loginPerMinute,
      mcp: config.rateLimits.mcpPerMinute,
    };
    for (const [name, points] of Object.entries(perMinute) as [RateLimitName, number][]) {
      if (points > 0) this.limiters[name] = new StoreRateLimiter(store, { keyPrefix: `rl:${name}`, points, duration: 60 });
    }
    this.exempt = exemptions(config.rateLimits.exempt);
  }

  isExempt(ip: string): boolean {
    const address = plainIp(ip);
    return this.exempt.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
  }

  /** Counts one request; resolves to the seconds to wait when over the limit, else undefined. */
  async take(name: RateLimitName, key: string): Promise<number | undefined> {
    const limiter = this.limiters[name];
    if (!limiter) return undefined;
    try {
      await limiter.consume(key);
      return undefined;
    } catch (result) {
      if (!(result instanceof RateLimiterRes)) throw result;
      this.refused[name]++;
      return Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    }
  }

  /**
   * The /mcp limit, counted on the hot path without a query per call: each
   * instance counts locally and adds its count to the shared one in the Store
   * at least once a second (and whenever a tenth of the allowance has been
   * used), then decides with the shared total plus its own unsynced share.
   * Several instances together can overshoot by at most what each counts
   * between two syncs.
   */
  async takeBatched(name: RateLimitName, key: string): Promise<number | undefined> {
    const limiter = this.limiters[name];
    if (!limiter) return undefined;
    const now = Date.now();
    const slot = `${name}:${key}`;
    let tally = this.tallies.get(slot);
    if (!tally || now >= tally.resetAt) {
      tally = { total: 0, unsynced: 0, syncedAt: 0, resetAt: Number.MAX_SAFE_INTEGER };
      this.tallies.set(slot, tally);
    }
    tally.unsynced++;
    if (!tally.syncing && (now - tally.syncedAt >= SYNC_EVERY_MS || tally.unsynced >= limiter.points / 10)) {
      const current = tally;
      const share = current.unsynced;
      current.unsynced = 0;
      current.syncing = limiter.penalty(key, share).then(
        (result) => {
          current.total = result.consumedPoints;
          current.syncedAt = Date.now();
          current.resetAt = current.syncedAt + result.msBeforeNext;
          current.syncing = undefined;
        },
        () => {
          // The Store did not answer: keep the count for the next sync and let calls through.
          current.unsynced += share;
          current.syncing = undefined;
        },
      );
      await current.syncing;
    }
    if (tally.total + tally.unsynced <= limiter.points) return undefined;
    this.refused[name]++;
    return Math.max(1, Math.ceil((tally.resetAt - now) / 1000));
  }

  /** For IP-keyed limits: exempt ranges are never counted. */
  async takeForIp(name: RateLimitName, ip: string): Promise<number | undefined> {
    return this.isExempt(ip) ? undefined : this.take(name, plainIp(ip));
  }
}

/** The client id of Basic credentials (form-urlencoded, RFC 6749 §2.3.1), or undefined when it does not decode. */
function basicClientId(credentials: string): string | undefined {
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')) || undefined;
  } catch {
    return undefined;
  }
}

/** Client id of a token request: from HTTP Basic credentials, else from the form. */
async function tokenClientId(ctx: Context): Promise<string | undefined> {
  const basic = /^Basic\s+(\S+)\s*$/i.exec(ctx.get('authorization'));
  if (basic) return basicClientId(basic[1]!);
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  const body = await peekBody(ctx.req, 56 * 1024);
  return body ? (new URLSearchParams(body.toString('utf8')).get('client_id') ?? undefined) : undefined;
}

/**
 * The limits the route table puts before a handler: registration and sign-in
 * per IP address (exempt ranges never count), the token endpoint per client.
 * Only POSTs count: they are what the limits exist for. (The MCP limit counts
 * per principal, after authentication, in the MCP endpoints.)
 */
export function routeRateLimits(limits: RateLimits): Middleware {
  return async (ctx, next) => {
    const limit = ctx.method === 'POST' ? rateLimitOf(routeOf(ctx)) : undefined;
    let wait: number | undefined;
    if (limit === 'register' || limit === 'login') {
      wait = await limits.takeForIp(limit, ctx.ip);
    } else if (limit === 'token') {
      const clientId = await tokenClientId(ctx);
      wait = await limits.take('token', clientId ? `client:${clientId}` : `ip:${ctx.ip}`);
    }
    if (wait === undefined) return next();
    ctx.set('Retry-After', String(wait));
    sendError(ctx, 429, `Too many requests. Try again in ${wait} seconds.`, 'rate_limited');
  };
}

function rateLimitOf(route: Route | undefined): RateLimitName | undefined {
  return route && 'rateLimit' in route ? route.rateLimit : undefined;
}
