import Provider, { errors, interactionPolicy, type Configuration } from 'oidc-provider';
import type { Config } from '../config/config.ts';
import type { Store } from '../data/engines/store.ts';
import { findUserById } from '../domain/accounts.ts';
import { StoreAdapter, type ResourceAliases } from './adapter.ts';
import type { ClientIndex, ClientMetadata } from '../data/client-index.ts';
import { asksForAdminOnlyGrant, EXTRA_CLIENT_METADATA, normalizeClientMetadata, selfRegisteredRedirectRefusal, treatLoopbackClientsAsNative } from './client-metadata.ts';
import { loadCookieKeys, loadSigningKeys } from '../domain/signing-keys.ts';
import { loadRememberedGrant, REMEMBERED_GRANT } from './remembered-consent.ts';
import { OIDC_SCOPES, RESOURCE_SCOPE_NAMES } from '../domain/scopes.ts';
import { JWT_BEARER_GRANT, registerIdJagGrant, type IdJagDeps } from './id-jag.ts';
import type { RegistrationPolicy } from '../domain/registration-policy.ts';

export interface ProviderDeps {
  config: Config;
  store: Store;
  registrationPolicy: RegistrationPolicy;
  clientIndex: ClientIndex;
  renderError: NonNullable<Configuration['renderError']>;
  /** Trusting company identity providers' ID-JAGs at /token. */
  idJag: Omit<IdJagDeps, 'config' | 'store' | 'resourceServer' | 'canonicalResource'>;
  /** Whether `$PUBLIC_URL/mcp/<name>` names an enabled upstream behind the gateway (its own protected resource). */
  isUpstreamResource?: (url: string) => boolean;
}

/**
 * The resource an indicator names, in its one spelling (`https://host/mcp`
 * and `https://host/mcp/` are the same), or undefined for a resource we do
 * not serve: `/mcp`, or an enabled upstream's `/mcp/<name>`.
 */
export function canonicalResource(config: Config, indicator: string, isUpstreamResource: (url: string) => boolean = () => false): string | undefined {
  const trimmed = indicator.endsWith('/') ? indicator.slice(0, -1) : indicator;
  if (trimmed === config.resource) return config.resource;
  return isUpstreamResource(trimmed) ? trimmed : undefined;
}

function resourceSpellings(config: Config, isUpstreamResource?: (url: string) => boolean): ResourceAliases {
  return (indicator) => {
    const canonical = canonicalResource(config, indicator, isUpstreamResource);
    return canonical ? [canonical, `${canonical}/`].filter((spelling) => spelling !== indicator) : [];
  };
}

/**
 * The authorization server: oidc-provider, configured for MCP clients.
 * Everything it stores goes through the Store, so any instance can continue
 * a flow another instance started.
 */
/** A resource server our access tokens are for: `$PUBLIC_URL/mcp` or an upstream's `/mcp/<name>`; JWT access tokens signed ES256. */
function resourceServer(config: Config, audience: string) {
  return {
    scope: RESOURCE_SCOPE_NAMES.join(' '),
    audience,
    accessTokenTTL: config.tokens.accessTokenTtl,
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: 'ES256' as const } },
  };
}

export async function createProvider({ config, store, registrationPolicy, clientIndex, renderError, idJag, isUpstreamResource }: ProviderDeps): Promise<Provider> {
  const [jwks, cookieKeys] = await Promise.all([loadSigningKeys(store), loadCookieKeys(store)]);
  const secureCookies = config.issuer.startsWith('https:');

  const policy = interactionPolicy.base();
  const consent = policy.get('consent')!;
  // oidc-provider always re-asks native apps; a person who ticked "remember"
  // for this client has already answered.
  consent.checks.remove('native_client_prompt');
  consent.checks.add(
    new interactionPolicy.Check('native_client_prompt', 'native clients require End-User interaction', 'interaction_required', (ctx) => {
      const { oidc } = ctx;
      const remembered = (ctx as unknown as Record<symbol, boolean>)[REMEMBERED_GRANT] === true;
      return oidc.client!.applicationType === 'native' && !oidc.result?.consent && !remembered
        ? interactionPolicy.Check.REQUEST_PROMPT
        : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
    0,
  );

  const aliases = resourceSpellings(config, isUpstreamResource);
  const configuration: Configuration = {
    adapter: (model: string) => new StoreAdapter(model, store, { aliases, refreshReuseGraceMs: config.tokens.refreshReuseGraceMs }),
    jwks: jwks as Configuration['jwks'],
    cookies: {
      keys: cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', secure: secureCookies },
      short: { httpOnly: true, sameSite: 'lax', secure: secureCookies },
      names: { session: 'gh_session', interaction: 'gh_interaction', resume: 'gh_interaction_resume' },
    },
    routes: {
      authorization: '/authorize',
      token: '/token',
      registration: '/register',
      revocation: '/revoke',
      introspection: '/introspect',
      jwks: '/jwks',
      userinfo: '/userinfo',
      // oidc-provider's default: /logout is the admin page's sign-out.
      end_session: '/session/end',
    },
    scopes: [...OIDC_SCOPES, ...RESOURCE_SCOPE_NAMES],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    responseTypes: ['code'],
    clientAuthMethods: ['none', 'client_secret_post', 'client_secret_basic'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    pkce: { required: () => true },
    extraClientMetadata: {
      properties: EXTRA_CLIENT_METADATA,
      validator: (ctx, key, _value, metadata) => normalizeClientMetadata(ctx as never, key, metadata as never),
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
      // A client may revoke or introspect only its own tokens.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => {
          if (!oneOf) return config.resource;
          return oneOf.find((indicator) => canonicalResource(config, indicator, isUpstreamResource)) ?? oneOf;
        },
        useGrantedResource: async () => true,
        // Each upstream behind the gateway is a resource of its own: its tokens carry its URL as `aud`.
        getResourceServerInfo: async (_ctx, indicator) => {
          const audience = canonicalResource(config, indicator, isUpstreamResource);
          if (!audience) throw new errors.InvalidTarget(`unknown resource; this server's resources are ${config.resource} and ${config.resource}/<upstream>`);
          return resourceServer(config, audience);
        },
      },
      // Machine clients an administrator created (never self-registered: see ADMIN_ONLY_GRANTS).
      clientCredentials: { enabled: true },
      // Sender-constrained tokens would need DPoP proof checks at /mcp; no MCP
      // client sends DPoP, so tokens stay plain bearer tokens.
      dPoP: { enabled: false },
      clientIdMetadataDocument: {
        enabled: config.cimd.enabled,
        ack: 'draft-02',
        allowFetch: async (_ctx, clientId) => registrationPolicy.allowsCimd(clientId),
        // A metadata document is a self-registration: its redirect URIs meet the same rules as DCR's.
        allowClient: async (_ctx, client) => {
          if (!(await registrationPolicy.allowsCimd(client.clientId))) return false;
          if (selfRegisteredRedirectRefusal(client.redirectUris ?? [], await registrationPolicy.settings())) return false;
          if (asksForAdminOnlyGrant(client.grantTypes)) return false;
          treatLoopbackClientsAsNative(client);
          // A CIMD client has no stored registration: this is where the admin page learns of it.
          void clientIndex.cimdClientSeen(client.metadata() as ClientMetadata);
          return true;
        },
      },
    },
    // Test-only: CIMD_ALLOW_PRIVATE_ADDRESSES drops oidc-provider's SSRF guard
    // so a loopback metadata server can be fetched. Never on in production.
    fetch: config.cimd.allowPrivateAddresses
      ? (url, options) => {
          const { dispatcher: _ssrfGuard, ...rest } = (options ?? {}) as RequestInit & { dispatcher?: unknown };
          return fetch(url, rest);
        }
      : (url, options) => fetch(url, options),
    extraTokenClaims: async (_ctx, token) => ('grantId' in token && token.grantId ? { gid: token.grantId } : undefined),
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    expiresWithSession: async () => false,
    loadExistingGrant: (ctx) => loadRememberedGrant(ctx, store),
    findAccount: async (_ctx, sub) => {
      const user = await findUserById(store, sub);
      if (!user || user.disabledAt !== null) return undefined;
      return {
        accountId: user.id,
        claims: async () => ({ sub: user.id, email: user.email, email_verified: true, name: user.name ?? undefined }),
      };
    },
    interactions: {
      policy,
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    ttl: {
      AccessToken: config.tokens.accessTokenTtl,
      ClientCredentials: config.tokens.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: config.tokens.refreshTokenTtl,
      // An ID-JAG's grant serves one access token: the client asks its identity provider again after.
      Grant: (ctx) => (ctx?.oidc?.params?.grant_type === JWT_BEARER_GRANT ? config.tokens.accessTokenTtl : 365 * 86_400),
      Session: config.tokens.loginSessionTtl,
      Interaction: 3600,
    },
    clientBasedCORS: () => true,
    renderError,
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  registerIdJagGrant(provider, {
    ...idJag,
    config,
    store,
    resourceServer: (audience) => ({ ...resourceServer(config, audience), identifier: () => audience }),
    canonicalResource: (indicator) => canonicalResource(config, indicator, isUpstreamResource),
  });
  return provider;
}
