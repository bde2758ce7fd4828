import { z } from 'zod';

const onOff = (fallback: 'on' | 'off') =>
  z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default(fallback)
    .transform((value) => value === 'on' || value === 'true' || value === '1');

const list = (fallback = '') =>
  z
    .string()
    .default(fallback)
    .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

/** Durations such as `15m`, `90d`, `3600` (seconds) → seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)\s*([smhdw]?)$/.exec(value.trim());
  if (!match) throw new Error(`not a duration: "${value}" (use 30s, 15m, 12h, 90d, 2w)`);
  const amount = Number(match[1]);
  const unit = match[2] || 's';
  const seconds = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[unit as 's' | 'm' | 'h' | 'd' | 'w'];
  return amount * seconds;
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      try {
        return parseDuration(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  PUBLIC_URL: z.string().url().optional(),
  DATABASE_URL: z.string().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(3).default(10),
  DATABASE_NOTIFICATIONS: onOff('on'),
  ADMIN_EMAIL: z.string().email().optional(),
  ADMIN_PASSWORD: z.string().min(12, 'ADMIN_PASSWORD must be at least 12 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SESSION_AUTH_FALLBACK: onOff('on'),
  ACCESS_TOKEN_TTL: duration('15m'),
  REFRESH_TOKEN_TTL: duration('30d'),
  LOGIN_SESSION_TTL: duration('14d'),
  ADMIN_SESSION_TTL: duration('12h'),
  ALLOWED_HOSTS: list(),
  ALLOWED_ORIGINS: list(),
  TRUST_PROXY: onOff('off'),
  TOOLS_MODULES: list(),
  UPSTREAMS: z.string().optional(),
  MCP_SESSION_CACHE_SIZE: z.coerce.number().int().min(1).default(10_000),
  MCP_SESSION_IDLE_TTL: duration('10m'),
  MCP_SESSION_WARM: duration('1s'),
  MCP_SESSION_MAX_AGE: duration('30d'),
  MCP_DELETE_GRACE: duration('30s'),
  MCP_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  MCP_KEEPALIVE_INTERVAL: duration('15s'),
  GRANT_CHECK_CACHE: duration('2s'),
  TASK_RESULT_TTL: duration('1h'),
  TASK_LEASE: duration('30s'),
  TASK_POLL_INTERVAL: duration('1s'),
  MAX_RUNNING_TASKS_PER_PERSON: z.coerce.number().int().min(1).default(10),
  CIMD: onOff('on'),
  CIMD_ALLOW_PRIVATE_ADDRESSES: onOff('off'),
  SHUTDOWN_GRACE: duration('20s'),
  HTTP_KEEPALIVE_TIMEOUT: duration('65s'),
  REFRESH_REUSE_GRACE: duration('60s'),
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  RATE_LIMIT_REGISTER_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  RATE_LIMIT_LOGIN_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  RATE_LIMIT_TOKEN_PER_MINUTE: z.coerce.number().int().min(0).default(120),
  RATE_LIMIT_MCP_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  // Anthropic's published outbound range: every Claude.ai user comes from it.
  RATE_LIMIT_EXEMPT: list('160.79.104.0/21'),
  SSO_ISSUER: z.string().url().optional(),
  SSO_CLIENT_ID: z.string().optional(),
  SSO_CLIENT_SECRET: z.string().optional(),
  SSO_NAME: z.string().max(100).default('your company account'),
  SSO_ALLOWED_DOMAINS: list(),
  SSO_ADMIN_GROUPS: list(),
  PASSWORD_LOGIN: onOff('on'),
});

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Why an identity provider's issuer cannot be trusted, or undefined when it
 * can: https, or plain http on a loopback address (a provider on this machine,
 * and the tests).
 */
export function issuerRefusal(issuer: string): string | undefined {
  const url = URL.parse(issuer);
  if (!url) return 'the issuer is not a URL';
  if (url.search || url.hash) return 'the issuer must not carry a query or fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return 'the issuer must be https (plain http only on 127.0.0.1, localhost or [::1])';
}

export const isLoopbackIssuer = (issuer: string) => URL.parse(issuer)?.protocol === 'http:';

export type Config = ReturnType<typeof buildConfig>;

/**
 * The one place environment variables are read: every other module receives
 * the validated result, so a typo in a variable fails at start, not at first use.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (common in compose files and CI) means "not set".
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  }
  return buildConfig(parsed.data);
}

export class ConfigError extends Error {}

function buildConfig(env: z.infer<typeof EnvSchema>) {
  const publicUrl = new URL(env.PUBLIC_URL ?? `http://localhost:${env.PORT}`);
  if (publicUrl.search || publicUrl.hash) {
    throw new ConfigError('PUBLIC_URL must not carry a query or fragment');
  }
  // The issuer is the origin root: Claude Code compares metadata `issuer`
  // byte for byte with the URL it derived, so no trailing slash and no path.
  if (publicUrl.pathname !== '/') {
    throw new ConfigError('PUBLIC_URL must be an origin (scheme, host, port) without a path');
  }
  const issuer = publicUrl.origin;
  const resource = `${issuer}/mcp`;
  const sso = companyProvider(env);
  if (!env.PASSWORD_LOGIN && !sso) throw new ConfigError('PASSWORD_LOGIN=off needs SSO_ISSUER, SSO_CLIENT_ID and SSO_CLIENT_SECRET, or nobody could sign in');

  return {
    port: env.PORT,
    host: env.HOST,
    issuer,
    resource,
    databaseUrl: env.DATABASE_URL ?? 'sqlite:./data/gatehouse.db',
    databasePoolSize: env.DATABASE_POOL_SIZE,
    databaseNotifications: env.DATABASE_NOTIFICATIONS,
    admin: env.ADMIN_EMAIL && env.ADMIN_PASSWORD ? { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD } : undefined,
    logLevel: env.LOG_LEVEL,
    trustProxy: env.TRUST_PROXY,
    allowedHosts: [publicUrl.hostname, ...env.ALLOWED_HOSTS.map((host) => host.toLowerCase())],
    allowedOrigins: [issuer, ...env.ALLOWED_ORIGINS],
    tokens: {
      accessTokenTtl: env.ACCESS_TOKEN_TTL,
      refreshTokenTtl: env.REFRESH_TOKEN_TTL,
      loginSessionTtl: env.LOGIN_SESSION_TTL,
      /** How long a rotated refresh token may be presented again while its replacement is unused (a lost response). */
      refreshReuseGraceMs: env.REFRESH_REUSE_GRACE * 1000,
    },
    cimd: {
      enabled: env.CIMD,
      // Test-only escape hatch: lets a loopback CIMD server be fetched.
      // Keeping it off keeps oidc-provider's SSRF guard (no private addresses).
      allowPrivateAddresses: env.CIMD_ALLOW_PRIVATE_ADDRESSES,
    },
    mcp: {
      sessionAuthFallback: env.SESSION_AUTH_FALLBACK,
      sessionCacheSize: env.MCP_SESSION_CACHE_SIZE,
      sessionIdleTtlMs: env.MCP_SESSION_IDLE_TTL * 1000,
      /** How long a /mcp session's server and transport outlive its last request; then only its record remains. */
      sessionWarmMs: env.MCP_SESSION_WARM * 1000,
      sessionMaxAgeMs: env.MCP_SESSION_MAX_AGE * 1000,
      deleteGraceMs: env.MCP_DELETE_GRACE * 1000,
      maxBodyBytes: env.MCP_MAX_BODY_BYTES,
      keepAliveMs: env.MCP_KEEPALIVE_INTERVAL * 1000,
      grantCheckCacheMs: env.GRANT_CHECK_CACHE * 1000,
      toolModules: env.TOOLS_MODULES,
    },
    /** Durable MCP tasks (src/mcp/tasks). */
    tasks: {
      resultTtlMs: env.TASK_RESULT_TTL * 1000,
      leaseMs: env.TASK_LEASE * 1000,
      pollIntervalMs: env.TASK_POLL_INTERVAL * 1000,
      maxRunningPerPerson: env.MAX_RUNNING_TASKS_PER_PERSON,
    },
    /** The UPSTREAMS file: existing MCP servers served behind Gatehouse at /mcp/<name>. */
    upstreamsFile: env.UPSTREAMS,
    rateLimits: {
      registerPerMinute: env.RATE_LIMIT_REGISTER_PER_MINUTE,
      loginPerMinute: env.RATE_LIMIT_LOGIN_PER_MINUTE,
      tokenPerMinute: env.RATE_LIMIT_TOKEN_PER_MINUTE,
      mcpPerMinute: env.RATE_LIMIT_MCP_PER_MINUTE,
      exempt: env.RATE_LIMIT_EXEMPT,
    },
    shutdownGraceMs: env.SHUTDOWN_GRACE * 1000,
    // Longer than the idle timeout of common load balancers and proxies (60 s),
    // so they never reuse a connection Gatehouse is closing (a 502).
    keepAliveTimeoutMs: env.HTTP_KEEPALIVE_TIMEOUT * 1000,
    metricsToken: env.METRICS_TOKEN,
    adminSessionTtlMs: env.ADMIN_SESSION_TTL * 1000,
    /** The company's identity provider from SSO_*; more are added on the admin page. */
    sso,
    /** Whether people may sign in with a Gatehouse password (off: only through an identity provider). */
    passwordLogin: env.PASSWORD_LOGIN,
  };
}

function companyProvider(env: z.infer<typeof EnvSchema>) {
  const given = [env.SSO_ISSUER, env.SSO_CLIENT_ID, env.SSO_CLIENT_SECRET].filter(Boolean).length;
  if (given === 0) return undefined;
  if (given !== 3) throw new ConfigError('SSO_ISSUER, SSO_CLIENT_ID and SSO_CLIENT_SECRET go together');
  // Kept exactly as given: it must equal the provider's `iss` byte for byte (Auth0's ends with a slash).
  const issuer = env.SSO_ISSUER!;
  const refusal = issuerRefusal(issuer);
  if (refusal) throw new ConfigError(`SSO_ISSUER: ${refusal}`);
  return {
    issuer,
    clientId: env.SSO_CLIENT_ID!,
    clientSecret: env.SSO_CLIENT_SECRET!,
    name: env.SSO_NAME,
    allowedDomains: env.SSO_ALLOWED_DOMAINS.map((domain) => domain.toLowerCase().replace(/^@/, '')),
    adminGroups: env.SSO_ADMIN_GROUPS,
  };
}
