import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Revocation } from '../../domain/access.ts';
import { audit } from '../../data/audit-log.ts';
import type { ClientIndex } from '../../data/client-index.ts';
import type { RegistrationPolicy } from '../../domain/registration-policy.ts';
import type { Config } from '../../config/config.ts';
import type { Csrf } from '../csrf.ts';
import type { Logger } from '../../ops/logging.ts';
import type { SessionManager } from '../../mcp/sessions/registry.ts';
import type { Store } from '../../data/engines/store.ts';
import { mergeHandlers, type Handlers } from '../handlers.ts';
import { AdminSessions } from './admin-session.ts';
import { ClientAdmin } from './client-admin.ts';
import { Pages } from './pages.ts';
import { accountRoutes } from './routes/account.ts';
import { auditRoutes } from './routes/audit.ts';
import { clientRoutes } from './routes/clients.ts';
import { policyRoutes } from './routes/policy.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { signInRoutes } from './routes/sign-in.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { userRoutes } from './routes/users.ts';
import { UserAdmin } from './user-admin.ts';

export interface AdminAreaDeps {
  config: Config;
  store: Store;
  provider: Provider;
  registrationPolicy: RegistrationPolicy;
  clientIndex: ClientIndex;
  revocation: Revocation;
  sessions: SessionManager;
  csrf: Csrf;
  logger: Logger;
}

export interface AdminArea {
  handlers: Handlers;
  /** Sends visitors of routes that need a signed-in person (or an administrator) to sign in, or refuses them. */
  access: Middleware;
  /** Stops the periodic stale-client cleanup. */
  close(): void;
}

const CLEANUP_EVERY_MS = 3600_000;
/** The first run comes soon after start, so a process that restarts often still cleans up. */
const FIRST_CLEANUP_AFTER_MS = 60_000;

/** /login, /logout, /account and /admin: the people-facing management pages, and who may see them. */
export function adminArea(deps: AdminAreaDeps): AdminArea {
  const { config, store, provider, registrationPolicy, clientIndex, revocation, sessions, csrf, logger } = deps;
  const secureCookies = config.issuer.startsWith('https:');
  const adminSessions = new AdminSessions(store, { secure: secureCookies, ttlMs: config.adminSessionTtlMs });
  const pages = new Pages(adminSessions, csrf, config.issuer);
  const clients = new ClientAdmin(store, provider, clientIndex, revocation);
  const users = new UserAdmin(store, revocation, adminSessions);

  const handlers = mergeHandlers(
    clientRoutes({ store, pages, clients, revocation }),
    policyRoutes({ store, pages, policy: registrationPolicy, cimdConfigured: config.cimd.enabled }),
    tokenRoutes({ store, pages, revocation }),
    sessionRoutes({ store, pages, sessions }),
    userRoutes({ store, pages, users }),
    auditRoutes({ store, pages }),
    accountRoutes({ store, pages, revocation }),
    signInRoutes({ store, sessions: adminSessions, pages, csrf, issuer: config.issuer, secureCookies }),
  );

  /** Deletes stale self-registered clients per the policy's retention, and expired admin sign-ins. */
  async function cleanup(): Promise<void> {
    await adminSessions.pruneExpired();
    const { staleClientRetentionDays: days } = await registrationPolicy.settings();
    const deleted = await store.exclusive('gatehouse:client-cleanup', () => clients.cleanupStale(days));
    if (deleted > 0) await audit(store, { event: 'clients.cleaned', actor: 'system', detail: { deleted, olderThanDays: days } });
  }

  const runCleanup = () => void cleanup().catch((error: unknown) => logger.error({ err: error }, 'stale client cleanup failed'));
  const first = setTimeout(runCleanup, FIRST_CLEANUP_AFTER_MS);
  const timer = setInterval(runCleanup, CLEANUP_EVERY_MS);
  first.unref();
  timer.unref();

  return {
    handlers,
    access: pages.accessControl(),
    close: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
