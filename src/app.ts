import type { Server } from 'node:http';
import Koa from 'koa';
import compose from 'koa-compose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { countUsers, createSetupToken, createUser, findUserByEmail } from './authorization/accounts.ts';
import { sweepExpiredModels } from './authorization/adapter.ts';
import { interactionRoutes } from './authorization/interaction-routes.ts';
import { createProvider } from './authorization/provider.ts';
import { RegistrationPolicy } from './authorization/registration-policy.ts';
import { authorizationRequestEdge } from './authorization/request-edge.ts';
import { setupRoutes } from './authorization/setup-routes.ts';
import type { Config } from './config.ts';
import { assets } from './http/assets.ts';
import { cors } from './http/cors.ts';
import { Csrf } from './http/csrf.ts';
import { errorHandler, notFound } from './http/errors.ts';
import { createLogger, requestLog, type Logger } from './http/logging.ts';
import { securityHeaders } from './http/security-headers.ts';
import { sendMessage } from './http/views.ts';
import { protectedResourceRoutes } from './mcp/protected-resource.ts';
import { healthRoutes } from './ops/health-routes.ts';
import { migrate } from './store/migrate.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/store.ts';

export interface Gatehouse {
  app: Koa;
  store: Store;
  logger: Logger;
  /** Serves on an already-listening or new node:http server until `close`. */
  attach(server: Server): void;
  close(): Promise<void>;
}

export interface GatehouseOptions {
  store?: Store;
  logger?: Logger;
}

/** Creates the first administrator from the environment, or prints a one-time setup link. */
async function bootstrapAdministrator(store: Store, config: Config, logger: Logger): Promise<void> {
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
  const store = options.store ?? openStore(config.databaseUrl);
  await migrate(store);
  await bootstrapAdministrator(store, config, logger);

  const registrationPolicy = new RegistrationPolicy(store, config.cimd.enabled);
  const provider = await createProvider({
    config,
    store,
    registrationPolicy,
    renderError: async (ctx: KoaContextWithOIDC, out) => {
      sendMessage(ctx as never, ctx.status >= 400 ? ctx.status : 400, 'The app sent an invalid request', String(out.error_description ?? out.error), {
        detail: out.error,
      });
    },
  });
  const cookieKeys = provider.keys as string[];
  const csrf = new Csrf(cookieKeys[0]!);

  const app = new Koa({ proxy: config.trustProxy });
  app.keys = cookieKeys;
  app.silent = true;

  app.use(errorHandler());
  app.use(requestLog(logger));
  app.use(securityHeaders());
  app.use(cors());
  app.use(assets(['gatehouse.css']));
  app.use(healthRoutes(store).routes());
  app.use(protectedResourceRoutes(config).routes());
  app.use(authorizationRequestEdge(registrationPolicy));
  app.use(interactionRoutes({ provider, store, csrf }).routes());
  app.use(setupRoutes({ store, csrf }).routes());
  app.use(compose(provider.middleware as Koa.Middleware[]));
  app.use(notFound());

  const sweeper = setInterval(() => void sweepExpiredModels(store).catch(() => {}), 10 * 60_000);
  sweeper.unref();

  let servers: Server[] = [];
  return {
    app,
    store,
    logger,
    attach(server) {
      servers.push(server);
      server.on('request', app.callback());
    },
    async close() {
      clearInterval(sweeper);
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
      servers = [];
      if (!options.store) await store.close();
    },
  };
}
