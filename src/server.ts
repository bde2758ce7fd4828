import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import Koa from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from './config/config.ts';
import { ClientIndex } from './data/client-index.ts';
import { openStore } from './data/engines/open.ts';
import type { Store } from './data/engines/store.ts';
import { migrate } from './data/migrate.ts';
import { openNotifications } from './data/notifications.ts';
import { Access } from './domain/access.ts';
import { bootstrapFirstAdministrator } from './domain/accounts.ts';
import { describePrincipal } from './domain/directory.ts';
import { notesOf } from './domain/notes.ts';
import { RegistrationPolicy } from './domain/registration-policy.ts';
import { BASE_SCOPE } from './domain/scopes.ts';
import { PasswordSignIn } from './domain/sign-in.ts';
import { CompanySignIn } from './domain/company-sign-in.ts';
import { IdentityProviders } from './domain/identity-providers.ts';
import { loadVerificationKeys } from './domain/signing-keys.ts';
import { TokenVerifier } from './domain/token-verifier.ts';
import { loadUpstreamsFile } from './gateway/definition.ts';
import { Gateway } from './gateway/gateway.ts';
import { McpAuth } from './mcp/auth.ts';
import { messageLabels } from './mcp/message-labels.ts';
import { mcpResource, type ResourceIdentity } from './mcp/protected-resource.ts';
import { createServerFactory } from './mcp/server-factory.ts';
import { SessionRegistry } from './mcp/sessions/registry.ts';
import { builtinModule } from './mcp/tools/builtin.ts';
import { Tasks } from './mcp/tasks/tasks.ts';
import { ToolRegistry } from './mcp/tools/registry.ts';
import { accessTokenHandlers } from './oauth/access-tokens.ts';
import { clientCredentialsScopeHandlers } from './oauth/client-credentials-scope.ts';
import { followProvider } from './oauth/events.ts';
import { createProvider } from './oauth/provider.ts';
import { UpstreamSignIn } from './oauth/upstream.ts';
import { oauthEdgeHandlers } from './oauth/request-edge.ts';
import { answerUnavailableLikeEveryRoute } from './oauth/unavailable.ts';
import { createLogger, type Logger } from './ops/logging.ts';
import { Metrics } from './ops/metrics.ts';
import { startTimers } from './ops/timers.ts';
import { PACKAGE_JSON } from './paths.ts';
import { adminArea } from './web/admin/admin-area.ts';
import { Csrf } from './web/csrf.ts';
import { dispatch, mergeHandlers } from './web/handlers.ts';
import { mcpHandlers, type McpResourceServer } from './web/mcp-endpoint.ts';
import { cors } from './web/middleware/cors.ts';
import { errorHandler } from './web/middleware/errors.ts';
import { hostGuard, RequestGuard } from './web/middleware/host-guard.ts';
import { InFlight } from './web/middleware/in-flight.ts';
import { observeRequests } from './web/middleware/observe.ts';
import { RateLimits, routeRateLimits } from './web/middleware/rate-limits.ts';
import { resolveRoute } from './web/middleware/route.ts';
import { securityHeaders } from './web/middleware/security-headers.ts';
import { settleBeforeAnswering } from './web/middleware/settle.ts';
import { answerUnmatched } from './web/middleware/unmatched.ts';
import { opsHandlers } from './web/ops-endpoints.ts';
import { interactionHandlers } from './web/pages/interaction.ts';
import { companySignInHandlers } from './web/pages/company-sign-in.ts';
import { setupHandlers } from './web/pages/setup.ts';
import { resourceMetadataHandlers } from './web/resource-metadata.ts';
import { sseHandlers } from './web/sse-endpoint.ts';
import { sendMessage } from './web/views.ts';

export interface Gatehouse {
  app: Koa;
  store: Store;
  logger: Logger;
  sessions: SessionRegistry;
  verifier: TokenVerifier;
  registry: ToolRegistry;
  access: Access;
  metrics: Metrics;
  gateway: Gateway;
  tasks: Tasks;
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

/** Builds the whole service on one Store: authorization server, MCP resource server, pages. */
export async function createGatehouse(config: Config, options: GatehouseOptions = {}): Promise<Gatehouse> {
  // A bad UPSTREAMS file fails the start before anything else opens.
  const upstreamsFromFile = loadUpstreamsFile(config.upstreamsFile);
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = options.store ?? openStore(config.databaseUrl, { poolSize: config.databasePoolSize });
  await migrate(store);
  const first = await bootstrapFirstAdministrator(store, config.admin);
  if (first.created) logger.info({ user: first.created.id, email: first.created.email }, 'created the first administrator from ADMIN_EMAIL');
  // A one-time secret for the operator's eyes: printed, never sent to the log.
  if (first.setupToken) process.stdout.write(`\nNo users yet. Create the first administrator within 24 hours at:\n\n  ${config.issuer}/setup/${first.setupToken}\n\n`);
  // Listening before serving, so nothing another instance announces from here on is missed.
  const notifications = openNotifications(store, { enabled: config.databaseNotifications, logger });
  await notifications.start();

  const metrics = new Metrics();
  const gateway = new Gateway({
    config,
    store,
    notifications,
    logger,
    fromFile: upstreamsFromFile,
    version: VERSION,
    // Each upstream is guarded exactly like /mcp, for its own audience and scopes.
    authFor: (resource, scopes) => newMcpAuth(resource, [...scopes.base], scopes.of, scopes.challenge),
  });
  await gateway.start();
  const access = new Access(store, notifications);
  const signIn = new PasswordSignIn(store, (reason) => metrics.authFailure(reason));
  const registrationPolicy = new RegistrationPolicy(store, config.cimd.enabled);
  const clientIndex = new ClientIndex(store, logger);
  await clientIndex.backfill();
  const identityProviders = new IdentityProviders(store, config.sso);
  const companySignIn = new CompanySignIn(store, (reason) => metrics.authFailure(reason));
  const upstream = new UpstreamSignIn(`${config.issuer}/sso/callback`);
  // The one answer to "is this URL one of our resources besides /mcp", for the authorization server and the verifier alike.
  const isUpstreamResource = (url: string) => gateway.upstreamOfResource(url) !== undefined;
  const provider = await createProvider({
    config,
    store,
    registrationPolicy,
    clientIndex,
    idJag: { identityProviders, companySignIn, upstream },
    isUpstreamResource,
    renderError: async (ctx: KoaContextWithOIDC, out) => {
      sendMessage(ctx as never, ctx.status >= 400 ? ctx.status : 400, 'The app sent an invalid request', String(out.error_description ?? out.error), {
        detail: out.error,
      });
    },
  });
  followProvider(provider, { store, access, clientIndex, logger, metrics });
  const cookieKeys = provider.keys as string[];
  const csrf = new Csrf(cookieKeys[0]!);

  const registry = options.registry ?? new ToolRegistry();
  registry.addModule(builtinModule);
  await registry.loadModules(config.mcp.toolModules);
  const tasks = new Tasks(store, notifications, config.tasks, logger);
  tasks.start();
  const buildServer = createServerFactory(
    registry,
    { describe: (principal) => describePrincipal(store, principal), notesOf: (userId) => notesOf(store, userId), logger, tasks },
    VERSION,
    (instance) => gateway.buildProxy(instance),
  );
  const verifier = new TokenVerifier({
    store,
    issuer: config.issuer,
    audiences: [config.resource],
    isOurAudience: isUpstreamResource,
    livenessCacheMs: config.mcp.grantCheckCacheMs,
    loadVerificationKeys: () => loadVerificationKeys(store),
    notifications,
  });
  const sessions = new SessionRegistry({
    store,
    buildServer,
    resource: config.resource,
    logger,
    cacheSize: config.mcp.sessionCacheSize,
    idleTtlMs: config.mcp.sessionIdleTtlMs,
    warmMs: config.mcp.sessionWarmMs,
    maxAgeMs: config.mcp.sessionMaxAgeMs,
    deleteGraceMs: config.mcp.deleteGraceMs,
    keepAliveMs: config.mcp.keepAliveMs,
    // One process owns an SQLite file; on PostgreSQL any instance may end or rebind a session.
    confirmEveryMs: store.engine === 'postgres' ? 0 : config.mcp.grantCheckCacheMs,
    isLive: (principal) => verifier.isLive(principal),
    notifications,
    onDrained: (seconds) => metrics.deleteDrained(seconds),
  });

  const rateLimits = new RateLimits(store, config);
  registerMetrics(metrics, sessions, rateLimits);
  const newMcpAuth = (resource: ResourceIdentity, baseScopes: string[], requiredScopes: (tool: string) => readonly string[] | undefined, challengeScope: string) =>
    new McpAuth({
      config,
      verifier,
      resource,
      baseScopes,
      requiredScopes,
      challengeScope,
      admitOrWait: (principal) => rateLimits.takeBatched('mcp', `${principal.userId}:${principal.clientId}`),
      onFailure: (reason) => metrics.authFailure(reason),
      // An OAuth client's "last used" on the admin page includes its MCP calls (written at most once a minute).
      onAdmitted: (principal) => {
        if (principal.kind !== 'pat') void clientIndex.touch(principal.clientId).catch(() => {});
      },
    });
  const mcpAuth = newMcpAuth(mcpResource(config), [BASE_SCOPE], (tool) => registry.requiredScopes(tool), registry.allScopes().join(' '));
  const mainResource: McpResourceServer = {
    upstream: null,
    url: config.resource,
    auth: mcpAuth,
    hasTool: (name) => registry.has(name),
    toolListing: (name) => registry.listingOf(name),
  };
  const countMessages = (messages: readonly JSONRPCMessage[], era: 'legacy' | 'modern', resource = mainResource) => {
    for (const { method, tool } of messageLabels(messages, (name) => resource.hasTool(name))) metrics.mcpRequest(method, tool, era);
  };
  registerGatewayMetrics(metrics, gateway);

  const inFlight = new InFlight();
  const admin = adminArea({ config, store, provider, registrationPolicy, clientIndex, access, sessions, signIn, csrf, identityProviders, gateway, tasks });
  const handlers = mergeHandlers(
    opsHandlers({ store, metrics, metricsToken: config.metricsToken, isShuttingDown: () => inFlight.stopping }),
    resourceMetadataHandlers(config, (name) => gateway.catalog.get(name)?.settings),
    mcpHandlers({ config, main: mainResource, upstream: (name) => gateway.resourceServer(name), sessions, buildServer, onMessages: countMessages }),
    sseHandlers({ config, auth: mcpAuth, sessions, onMessages: countMessages }),
    oauthEdgeHandlers(registrationPolicy),
    accessTokenHandlers({ verifier, access }),
    clientCredentialsScopeHandlers(store),
    interactionHandlers({ provider, store, csrf, signIn, identityProviders, passwordLogin: config.passwordLogin }),
    companySignInHandlers({
      issuer: config.issuer,
      provider,
      upstream,
      identityProviders,
      companySignIn,
      adminSessions: admin.adminSessions,
      cookieSecret: cookieKeys[0]!,
      secureCookies: config.issuer.startsWith('https:'),
      logger,
    }),
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

  const stopTimers = startTimers({
    store,
    access,
    registrationPolicy,
    logger,
    sweeps: [() => sessions.pruneStored(), () => admin.adminSessions.pruneExpired(), () => tasks.sweep()],
  });

  const servers: Server[] = [];
  let closing: Promise<void> | undefined;
  async function shutDown(graceMs: number): Promise<void> {
    inFlight.stopping = true;
    stopTimers();
    tasks.stop();
    const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const server of servers) server.closeIdleConnections();
    sessions.closeStreams();
    const drained = await inFlight.drained(graceMs);
    if (!drained) logger.warn({ stillRunning: inFlight.size }, 'shutdown grace period over; cutting off what is left');
    await sessions.closeAll(0);
    // Upstream sessions end and stdio children exit; the Gatehouse sessions stay in the Store and reconnect upstream on their next request.
    await gateway.close();
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
    access,
    metrics,
    gateway,
    tasks,
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
function registerMetrics(metrics: Metrics, sessions: SessionRegistry, rateLimits: RateLimits): void {
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

/** The gateway's upstreams on /metrics: calls by upstream and outcome, their duration, and the sessions held upstream. */
function registerGatewayMetrics(metrics: Metrics, gateway: Gateway): void {
  gateway.pool.observe((upstream, outcome, seconds) => metrics.upstreamCall(upstream, outcome, seconds));
  metrics.gauge('gatehouse_upstream_sessions_live', 'Sessions this process holds with upstream MCP servers (one per caller and upstream)', () =>
    gateway.catalog.all().reduce((sum, entry) => sum + gateway.pool.health(entry.definition.name).connections, 0),
  );
}
