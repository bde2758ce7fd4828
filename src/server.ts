import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import Koa from 'koa';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { Revocation } from './domain/access.ts';
import { adminArea } from './web/admin/admin-area.ts';
import { audit } from './data/audit-log.ts';
import { countUsers, createSetupToken, createUser, findUserByEmail } from './domain/accounts.ts';
import { grantIsLive, sweepExpiredModels } from './oauth/adapter.ts';
import { ClientIndex } from './data/client-index.ts';
import { loadVerificationKeys } from './oauth/keys.ts';
import { interactionHandlers } from './web/pages/interaction.ts';
import { createProvider } from './oauth/provider.ts';
import { RegistrationPolicy } from './domain/registration-policy.ts';
import { oauthEdgeHandlers } from './oauth/request-edge.ts';
import { answerUnavailableLikeEveryRoute } from './oauth/unavailable.ts';
import { setupHandlers } from './web/pages/setup.ts';
import type { Config } from './config/config.ts';
import { cors } from './web/middleware/cors.ts';
import { Csrf } from './web/csrf.ts';
import { errorHandler } from './web/middleware/errors.ts';
import { InFlight } from './web/middleware/in-flight.ts';
import { createLogger, type Logger } from './ops/logging.ts';
import { observeRequests } from './web/middleware/observe.ts';
import { RateLimits, routeRateLimits } from './web/middleware/rate-limits.ts';
import { sweepRateLimits } from './data/rate-limits.ts';
import { securityHeaders } from './web/middleware/security-headers.ts';
import { finishBeforeAnswering, settleBeforeAnswering } from './web/middleware/settle.ts';
import { sendMessage } from './web/views.ts';
import { mcpHandlers } from './web/mcp-endpoint.ts';
import { legacySseEndpoints } from './web/sse-endpoint.ts';
import { McpAuth } from './mcp/auth.ts';
import { resourceMetadataHandlers } from './web/resource-metadata.ts';
import { hostGuard, RequestGuard } from './web/middleware/host-guard.ts';
import { createServerFactory } from './mcp/server-factory.ts';
import { SessionManager } from './mcp/sessions/registry.ts';
import { TokenVerifier } from './mcp/token-verifier.ts';
import { builtinModule } from './mcp/tools/builtin.ts';
import { ToolRegistry } from './mcp/tools/registry.ts';
import { Metrics } from './ops/metrics.ts';
import { opsHandlers } from './web/ops-endpoints.ts';
import { dispatch, mergeHandlers } from './web/handlers.ts';
import { resolveRoute } from './web/middleware/route.ts';
import { answerUnmatched } from './web/middleware/unmatched.ts';
import { migrate } from './data/migrate.ts';
import { openNotifications } from './data/notifications.ts';
import { openStore } from './data/engines/open.ts';
import { PACKAGE_JSON } from './paths.ts';
import type { Store } from './data/engines/store.ts';

export interface Gatehouse {
  app: Koa;
  store: Store;
  logger: Logger;
  sessions: SessionManager;
  verifier: TokenVerifier;
  registry: ToolRegistry;
  revocation: Revocation;
  metrics: Metrics;
  /** Serves on an already-listening or new node:http server until `close`. */
  attach(server: Server): void;
  /**
   * Stops gracefully: no new connections, event streams end (clients
   * reconnect elsewhere), requests in flight finish within the grace period,
   * then the Store closes. Sessions stay in the Store and resume anywhere.
   */
  close(graceMs?: number): Promise<void>;
}

export interface GatehouseOptions {
  store?: Store;
  logger?: Logger;
  /** Extra tools (tests and embedders); TOOLS_MODULES adds more from configuration. */
  registry?: ToolRegistry;
}

const VERSION = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;

/**
 * Creates the first administrator from the environment, or prints a one-time
 * setup link. Under a Store-wide lock, so instances starting together on an
 * empty database create it once.
 */
async function bootstrapAdministrator(store: Store, config: Config, logger: Logger): Promise<void> {
  await store.exclusive('gatehouse:bootstrap', () => createFirstAdministrator(store, config, logger));
}

async function createFirstAdministrator(store: Store, config: Config, logger: Logger): Promise<void> {
  if ((await countUsers(store)) > 0) return;
  if (config.admin) {
    if (!(await findUserByEmail(store, config.admin.email))) {
      const user = await createUser(store, { email: config.admin.email, password: config.admin.password, isAdmin: true });
      logger.info({ user: user.id, email: user.email }, 'created the first administrator from ADMIN_EMAIL');
    }
    return;
  }
  const token = await createSetupToken(store);
  // A one-time secret for the operator's eyes: printed, never sent to the log.
  process.stdout.write(`\nNo users yet. Create the first administrator within 24 hours at:\n\n  ${config.issuer}/setup/${token}\n\n`);
}

/** Builds the whole service on one Store: authorization server, MCP resource server, pages. */
export async function createGatehouse(config: Config, options: GatehouseOptions = {}): Promise<Gatehouse> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = options.store ?? openStore(config.databaseUrl, { poolSize: config.databasePoolSize });
  await migrate(store);
  await bootstrapAdministrator(store, config, logger);
  // Listening before serving, so nothing another instance announces from here on is missed.
  const notifications = openNotifications(store, { enabled: config.databaseNotifications, logger });
  await notifications.start();

  const registrationPolicy = new RegistrationPolicy(store, config.cimd.enabled);
  const clientIndex = new ClientIndex(store, logger);
  await clientIndex.backfill();
  const provider = await createProvider({
    config,
    store,
    registrationPolicy,
    clientIndex,
    renderError: async (ctx: KoaContextWithOIDC, out) => {
      sendMessage(ctx as never, ctx.status >= 400 ? ctx.status : 400, 'The app sent an invalid request', String(out.error_description ?? out.error), {
        detail: out.error,
      });
    },
  });
  const cookieKeys = provider.keys as string[];
  const csrf = new Csrf(cookieKeys[0]!);

  const metrics = new Metrics();
  const registry = options.registry ?? new ToolRegistry();
  registry.addModule(builtinModule);
  await registry.loadModules(config.mcp.toolModules);
  const buildServer = createServerFactory(registry, store, VERSION);
  const verifier = new TokenVerifier({
    store,
    issuer: config.issuer,
    resource: config.resource,
    livenessCacheMs: config.mcp.grantCheckCacheMs,
    grantIsLive: (grantId) => grantIsLive(store, grantId),
    loadVerificationKeys: () => loadVerificationKeys(store),
    notifications,
  });
  const sessions = new SessionManager({
    store,
    buildServer,
    resource: config.resource,
    logger,
    cacheSize: config.mcp.sessionCacheSize,
    idleTtlMs: config.mcp.sessionIdleTtlMs,
    maxAgeMs: config.mcp.sessionMaxAgeMs,
    deleteGraceMs: config.mcp.deleteGraceMs,
    keepAliveMs: config.mcp.keepAliveMs,
    // One process owns an SQLite file; on PostgreSQL any instance may end or rebind a session.
    confirmEveryMs: store.engine === 'postgres' ? 0 : config.mcp.grantCheckCacheMs,
    notifications,
    onDrained: (seconds) => metrics.deleteDrained(seconds),
  });

  const rateLimits = new RateLimits(store, config);
  const revocation = new Revocation(store, sessions, verifier);
  registerMetrics(metrics, sessions, rateLimits);
  observeProvider(provider, { store, logger, metrics, revocation, verifier });

  const inFlight = new InFlight();
  const mcpAuth = new McpAuth({
    config,
    verifier,
    registry,
    rateLimits,
    onFailure: (reason) => metrics.authFailure(reason),
    // An OAuth client's "last used" on the admin page includes its MCP calls (written at most once a minute).
    onAdmitted: (principal) => {
      if (principal.kind === 'oauth') void clientIndex.touch(principal.clientId).catch(() => {});
    },
  });
  const legacySse = legacySseEndpoints({ config, store, auth: mcpAuth, buildServer });
  clientIndex.follow(provider);
  const admin = adminArea({ config, store, provider, registrationPolicy, clientIndex, revocation, sessions, csrf, logger });
  const handlers = mergeHandlers(
    opsHandlers({ store, metrics, metricsToken: config.metricsToken, isShuttingDown: () => inFlight.stopping }),
    resourceMetadataHandlers(config),
    mcpHandlers({ config, auth: mcpAuth, sessions, buildServer, onMessages: (messages, era) => countMessages(metrics, messages, era) }),
    legacySse.handlers,
    oauthEdgeHandlers(registrationPolicy),
    interactionHandlers({ provider, store, csrf, onLoginFailure: (reason) => metrics.authFailure(`login_${reason}`) }),
    setupHandlers({ store, csrf }),
    admin.handlers,
  );

  const app = new Koa({ proxy: config.trustProxy });
  app.keys = cookieKeys;
  app.silent = true;
  // Every middleware after the first reads the route the request resolved to, never the path.
  app.use(resolveRoute());
  app.use(observeRequests(logger, metrics));
  app.use(errorHandler(logger));
  app.use(inFlight.middleware());
  app.use(securityHeaders());
  app.use(answerUnmatched());
  app.use(cors());
  app.use(hostGuard(new RequestGuard(config)));
  app.use(routeRateLimits(rateLimits));
  app.use(admin.access);
  app.use(settleBeforeAnswering());
  app.use(dispatch(handlers, [answerUnavailableLikeEveryRoute(provider), ...(provider.middleware as Koa.Middleware[])]));

  const sweeper = setInterval(() => {
    void sweepExpiredModels(store).catch(() => {});
    void sessions.pruneStored().catch(() => {});
    void sweepRateLimits(store).catch(() => {});
  }, 10 * 60_000);
  sweeper.unref();

  const servers: Server[] = [];
  let closing: Promise<void> | undefined;
  async function shutDown(graceMs: number): Promise<void> {
    inFlight.stopping = true;
    clearInterval(sweeper);
    admin.close();
    const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const server of servers) server.closeIdleConnections();
    sessions.closeStreams();
    legacySse.closeAll();
    const drained = await inFlight.drained(graceMs);
    if (!drained) logger.warn({ stillRunning: inFlight.size }, 'shutdown grace period over; cutting off what is left');
    await sessions.closeAll(0);
    for (const server of servers) server.closeAllConnections();
    await Promise.all(closed);
    await notifications.close();
    if (!options.store) await store.close();
  }

  return {
    app,
    store,
    logger,
    sessions,
    verifier,
    registry,
    revocation,
    metrics,
    attach(server) {
      servers.push(server);
      server.keepAliveTimeout = config.keepAliveTimeoutMs;
      // Node closes a connection whose next request's headers take longer than this; it must outlast the keep-alive.
      server.headersTimeout = config.keepAliveTimeoutMs + 5000;
      server.on('request', app.callback());
    },
    close(graceMs = config.shutdownGraceMs) {
      closing ??= shutDown(graceMs);
      return closing;
    },
  };
}

/** Exposes counts the components keep as Prometheus series. */
function registerMetrics(metrics: Metrics, sessions: SessionManager, rateLimits: RateLimits): void {
  metrics.gauge('gatehouse_mcp_sessions_live', 'Legacy MCP sessions held in this process', () => sessions.liveCount);
  metrics.gauge('gatehouse_mcp_sessions_stored', 'Legacy MCP sessions in the Store (all instances)', () => sessions.storedCount());
  metrics.counter('gatehouse_mcp_sessions_created_total', 'Sessions opened by initialize', () => sessions.stats.created);
  metrics.counter('gatehouse_mcp_session_rebuilds_total', 'Sessions rebuilt from the Store after a restart, eviction or on another instance', () => sessions.stats.rebuilt);
  metrics.counter('gatehouse_mcp_session_evictions_total', 'Idle sessions that left memory (their records stay)', () => sessions.stats.evicted);
  metrics.counter('gatehouse_mcp_sessions_ended_total', 'Sessions ended by DELETE', () => sessions.stats.ended);
  metrics.labelledCounter('gatehouse_rate_limited_total', 'Requests refused by a rate limit', 'limit', {
    register: () => rateLimits.refused.register,
    token: () => rateLimits.refused.token,
    login: () => rateLimits.refused.login,
    mcp: () => rateLimits.refused.mcp,
  });
}

function countMessages(metrics: Metrics, messages: readonly JSONRPCMessage[], era: 'legacy' | 'modern'): void {
  for (const message of messages) {
    if (!('method' in message)) continue;
    const tool = message.method === 'tools/call' ? String((message.params as { name?: unknown } | undefined)?.name ?? '') : '';
    metrics.mcpRequest(message.method, tool, era);
  }
}

/** What the authorization server does that other parts must hear about. */
function observeProvider(
  provider: Provider,
  { store, logger, metrics, revocation, verifier }: { store: Store; logger: Logger; metrics: Metrics; revocation: Revocation; verifier: TokenVerifier },
): void {
  // RFC 7592 deletion takes everything the client held with it, before the
  // answer leaves: a token of the deleted client is dead on every instance by then.
  provider.on('registration_delete.success', (ctx, client) => {
    finishBeforeAnswering(ctx, revocation.revokeClient(client.clientId).catch((error: unknown) => logger.error({ err: error }, 'revoking a deleted client failed')));
    void audit(store, { event: 'client.deleted', actor: `client:${client.clientId}`, subject: client.clientId });
  });
  provider.on('registration_create.success', (ctx, client) => {
    logger.info({ client: client.clientId }, 'client registered');
    void audit(store, { event: 'client.registered', actor: `client:${client.clientId}`, subject: client.clientId, ip: ctx.ip, detail: { name: client.clientName } });
  });
  provider.on('registration_update.success', (ctx, client) => {
    void audit(store, { event: 'client.updated', actor: `client:${client.clientId}`, subject: client.clientId, ip: ctx.ip });
  });
  provider.on('grant.revoked', (ctx, grantId) => finishBeforeAnswering(ctx, revocation.grantRevokedByProvider(grantId)));
  provider.on('grant.success', (ctx) => metrics.tokenIssued(String(ctx.oidc.params?.grant_type ?? 'unknown')));
  provider.on('grant.error', (_ctx, error) => logger.info({ error: (error as { error?: string }).error }, 'token request refused'));
  provider.on('server_error', (_ctx, error) => logger.error({ err: error }, 'authorization server error'));
}
