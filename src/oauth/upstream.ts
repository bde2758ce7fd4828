import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { isLoopbackIssuer } from '../config/config.ts';
import type { VerifiedIdentity } from '../domain/company-sign-in.ts';
import type { IdentityProvider } from '../domain/identity-providers.ts';

/** What a sign-in in progress must remember until the provider sends the person back. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
}

/** How long a provider's discovered metadata is believed before it is fetched again. */
const DISCOVERY_TTL_MS = 10 * 60_000;

/** The provider could not be reached, or its answer did not hold up; the message never carries a code or token. */
export class UpstreamError extends Error {
  constructor(
    readonly stage: 'discovery' | 'callback',
    readonly detail: string,
  ) {
    super(`identity provider ${stage} failed: ${detail}`);
  }
}

/**
 * Signing in at an organisation's OpenID provider with openid-client:
 * discovery (cached per provider configuration, so an edited provider is
 * rediscovered at once), the authorization code flow with PKCE, `state` and
 * `nonce`, and an ID token whose signature (from the provider's jwks_uri),
 * issuer, audience, nonce and expiry are all checked.
 */
export class UpstreamSignIn {
  private readonly configurations = new Map<string, { at: number; configuration: Promise<client.Configuration> }>();

  constructor(private readonly redirectUri: string) {}

  async start(provider: IdentityProvider): Promise<{ url: URL; pending: PendingSignIn }> {
    const configuration = await this.configuration(provider);
    const pending = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      response_type: 'code',
      scope: scopesFor(configuration),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
    });
    return { url, pending };
  }

  /** Redeems the code the provider sent back to `callbackUrl`, and returns the checked ID token's claims. */
  async finish(provider: IdentityProvider, callbackUrl: URL, pending: PendingSignIn): Promise<VerifiedIdentity> {
    const configuration = await this.configuration(provider);
    try {
      const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new UpstreamError('callback', 'no ID token');
      return claims as unknown as VerifiedIdentity;
    } catch (error) {
      throw error instanceof UpstreamError ? error : new UpstreamError('callback', describe(error));
    }
  }

  /** Where the provider publishes its signing keys (for ID-JAGs), from its discovery document. */
  async jwksUri(provider: IdentityProvider): Promise<string> {
    const uri = (await this.configuration(provider)).serverMetadata().jwks_uri;
    if (!uri) throw new UpstreamError('discovery', 'the provider publishes no jwks_uri');
    return uri;
  }

  private configuration(provider: IdentityProvider): Promise<client.Configuration> {
    const key = createHash('sha256').update(JSON.stringify([provider.issuer, provider.clientId, provider.clientSecret])).digest('hex');
    const cached = this.configurations.get(key);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.configuration;
    const execute = [client.enableNonRepudiationChecks, ...(isLoopbackIssuer(provider.issuer) ? [client.allowInsecureRequests] : [])];
    const configuration = client
      .discovery(new URL(provider.issuer), provider.clientId, { client_secret: provider.clientSecret }, client.ClientSecretBasic(provider.clientSecret), { execute })
      .catch((error: unknown) => {
        this.configurations.delete(key);
        throw new UpstreamError('discovery', describe(error));
      });
    this.configurations.set(key, { at: Date.now(), configuration });
    return configuration;
  }
}

/** `openid email profile`, and `groups` where the provider offers such a scope (Okta, Keycloak with a mapper): admin roles come from it. */
function scopesFor(configuration: client.Configuration): string {
  const offered = configuration.serverMetadata().scopes_supported ?? [];
  return ['openid', 'email', 'profile', ...(offered.includes('groups') ? ['groups'] : [])].join(' ');
}

/** An error's kind and OAuth error code, never a value it was about (codes and tokens stay out of logs and pages). */
function describe(error: unknown): string {
  if (error instanceof client.AuthorizationResponseError) return `the provider answered ${error.error}`;
  if (error instanceof client.ResponseBodyError) return `the provider's token endpoint answered ${error.error}`;
  if (error instanceof client.ClientError) return `${error.code ?? 'check failed'}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return 'unknown error';
}
