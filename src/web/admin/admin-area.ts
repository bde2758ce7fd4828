import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { Config } from '../../config/config.ts';
import type { ClientIndex } from '../../data/client-index.ts';
import type { Store } from '../../data/engines/store.ts';
import type { Access } from '../../domain/access.ts';
import type { RegistrationPolicy } from '../../domain/registration-policy.ts';
import type { IdentityProviders } from '../../domain/identity-providers.ts';
import type { PasswordSignIn } from '../../domain/sign-in.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import type { Tasks } from '../../mcp/tasks/tasks.ts';
import type { SessionRegistry } from '../../mcp/sessions/registry.ts';
import type { Csrf } from '../csrf.ts';
import { mergeHandlers, type Handlers } from '../handlers.ts';
import { AdminSessions } from './admin-session.ts';
import { Pages } from './pages.ts';
import { accountRoutes } from './routes/account.ts';
import { auditRoutes } from './routes/audit.ts';
import { clientRoutes } from './routes/clients.ts';
import { policyRoutes } from './routes/policy.ts';
import { providerRoutes } from './routes/providers.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { signInRoutes } from './routes/sign-in.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { upstreamRoutes } from './routes/upstreams.ts';
import { userRoutes } from './routes/users.ts';

export interface AdminAreaDeps {
  config: Config;
  store: Store;
  provider: Provider;
  registrationPolicy: RegistrationPolicy;
  clientIndex: ClientIndex;
  access: Access;
  sessions: SessionRegistry;
  signIn: PasswordSignIn;
  csrf: Csrf;
  identityProviders: IdentityProviders;
  gateway: Gateway;
  tasks: Tasks;
}

export interface AdminArea {
  handlers: Handlers;
  /** Sends visitors of routes that need a signed-in person (or an administrator) to sign in, or refuses them. */
  access: Middleware;
  /** Browser sign-ins to /admin and /account, for the periodic clean-up of expired ones. */
  adminSessions: AdminSessions;
}

/** /login, /logout, /account and /admin: the people-facing management pages, and who may see them. */
export function adminArea(deps: AdminAreaDeps): AdminArea {
  const { config, store, provider, registrationPolicy, clientIndex, access, sessions, signIn, csrf, identityProviders, gateway, tasks } = deps;
  const secureCookies = config.issuer.startsWith('https:');
  const adminSessions = new AdminSessions(store, { secure: secureCookies, ttlMs: config.adminSessionTtlMs });
  const pages = new Pages(adminSessions, csrf, config.issuer);

  const handlers = mergeHandlers(
    clientRoutes({ store, pages, access, registerManual: { store, provider, clientIndex } }),
    policyRoutes({ store, pages, policy: registrationPolicy, cimdConfigured: config.cimd.enabled }),
    tokenRoutes({ store, pages, access }),
    sessionRoutes({ store, pages, sessions, tasks }),
    userRoutes({ store, pages, access, identityProviders }),
    providerRoutes({ pages, identityProviders, redirectUri: `${config.issuer}/sso/callback` }),
    upstreamRoutes({ store, pages, gateway, resourceBase: config.resource }),
    auditRoutes({ store, pages }),
    accountRoutes({ store, pages, access }),
    signInRoutes({ store, signIn, sessions: adminSessions, pages, csrf, issuer: config.issuer, secureCookies, identityProviders, passwordLogin: config.passwordLogin }),
  );
  return { handlers, access: pages.accessControl(), adminSessions };
}
