import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/config.ts';
import { audit } from '../data/audit-log.ts';
import type { Store } from '../data/engines/store.ts';
import { spendAssertion } from '../data/used-assertions.ts';
import type { CompanySignIn } from '../domain/company-sign-in.ts';
import type { IdentityProviders } from '../domain/identity-providers.ts';
import { DEFAULT_SCOPES, RESOURCE_SCOPE_NAMES } from '../domain/scopes.ts';
import type { UpstreamSignIn } from './upstream.ts';

/** RFC 7523's grant type, which the MCP enterprise-managed authorization extension uses to redeem an ID-JAG. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The JWT type an Identity Assertion JWT Authorization Grant carries. */
const ID_JAG_TYPE = 'oauth-id-jag+jwt';

const ASSERTION_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** invalid_grant, saying why (oidc-provider's own hides the detail; this one is for the client's developer). */
function refusal(description: string): errors.InvalidGrant {
  const error = new errors.InvalidGrant(description);
  error.error_description = description;
  return error;
}

export interface IdJagDeps {
  config: Config;
  store: Store;
  identityProviders: IdentityProviders;
  companySignIn: CompanySignIn;
  upstream: UpstreamSignIn;
  /** The token's resource server, as `getResourceServerInfo` gives it for that audience. */
  resourceServer: (audience: string) => Record<string, unknown>;
  canonicalResource: (indicator: string) => string | undefined;
}

/**
 * Enterprise-managed authorization at /token: a confidential client trades
 * an ID-JAG its company's identity provider issued for an access token for
 * the person it names, with no browser. The assertion must be signed with a
 * key from a trusted provider's jwks_uri, name that provider as `iss`, our
 * issuer as `aud`, the authenticated client as `client_id`, our MCP resource,
 * scopes we serve, be unexpired and never used before (its `jti`, on every
 * instance). The token is the same RFC 9068 JWT as any other, under a grant
 * of its own (so revoking the client or disabling the person ends it), and
 * comes without a refresh token: the client asks the provider again.
 */
export function registerIdJagGrant(provider: Provider, deps: IdJagDeps): void {
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  async function keysOf(trusted: Parameters<UpstreamSignIn['jwksUri']>[0]) {
    const uri = await deps.upstream.jwksUri(trusted).catch(() => {
      throw refusal("the assertion's issuer could not be reached to verify it");
    });
    let keys = keySets.get(uri);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(uri));
      keySets.set(uri, keys);
    }
    return keys;
  }

  async function verify(ctx: KoaContextWithOIDC): Promise<{ payload: JWTPayload & { sub: string; jti: string; exp: number; client_id: string }; trusted: NonNullable<Awaited<ReturnType<IdentityProviders['byIssuer']>>> }> {
    const assertion = String(ctx.oidc.params!.assertion ?? '');
    if (!assertion) throw new errors.InvalidRequest('missing required parameter assertion');
    let issuer: unknown;
    try {
      if (decodeProtectedHeader(assertion).typ !== ID_JAG_TYPE) throw refusal(`the assertion is not an ID-JAG (typ ${ID_JAG_TYPE})`);
      issuer = decodeJwt(assertion).iss;
    } catch (error) {
      if (error instanceof errors.OIDCProviderError) throw error;
      throw refusal('the assertion is not a JWT');
    }
    const trusted = typeof issuer === 'string' ? await deps.identityProviders.byIssuer(issuer) : undefined;
    if (!trusted) throw refusal("the assertion's issuer is not a trusted identity provider");
    try {
      const { payload } = await jwtVerify(assertion, await keysOf(trusted), {
        issuer: trusted.issuer,
        audience: deps.config.issuer,
        typ: ID_JAG_TYPE,
        algorithms: ASSERTION_ALGORITHMS,
        requiredClaims: ['sub', 'jti', 'exp', 'iat', 'client_id'],
        clockTolerance: 5,
      });
      return { payload: payload as never, trusted };
    } catch (error) {
      if (error instanceof errors.OIDCProviderError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw refusal('the assertion has expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed) throw refusal(`the assertion's ${error.claim} claim is not acceptable`);
      throw refusal("the assertion's signature does not verify with its issuer's keys");
    }
  }

  /** The scopes to grant: those asked for (or, without a request, the assertion's), all of which the assertion allows and we serve. */
  function scopesOf(payload: JWTPayload, requested: string | undefined): string[] {
    const asserted = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : undefined;
    const wanted = requested ? requested.split(' ').filter(Boolean) : asserted;
    if (!wanted || wanted.length === 0) return [...DEFAULT_SCOPES];
    const unknown = wanted.filter((scope) => !(RESOURCE_SCOPE_NAMES as string[]).includes(scope));
    if (unknown.length) throw new errors.InvalidScope(`scopes this server does not serve: ${unknown.join(' ')}`, unknown.join(' '));
    if (asserted && wanted.some((scope) => !asserted.includes(scope))) throw new errors.InvalidScope('the request asks for more than the assertion allows', wanted.join(' '));
    return wanted;
  }

  async function handler(ctx: KoaContextWithOIDC): Promise<void> {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as Record<string, string | undefined>;
    try {
      const { payload, trusted } = await verify(ctx);
      if (payload.client_id !== client.clientId) throw refusal('the assertion was issued for another client');
      const resource = typeof payload.resource === 'string' ? deps.canonicalResource(payload.resource) : undefined;
      if (!resource) throw new errors.InvalidTarget(`the assertion is not for this server's resource ${deps.config.resource}`);
      if (params.resource !== undefined && deps.canonicalResource(params.resource) !== resource) throw new errors.InvalidTarget('the resource asked for is not the assertion\'s');
      const scopes = scopesOf(payload, params.scope);
      if (!(await spendAssertion(deps.store, trusted.issuer, payload.jti, payload.exp * 1000))) throw refusal('the assertion was already used');
      const person = await deps.companySignIn.personFor(trusted, payload as never);
      if (!person.ok) throw refusal(person.reason);

      const grant = new provider.Grant({ accountId: person.user.id, clientId: client.clientId });
      grant.addResourceScope(resource, scopes.join(' '));
      const grantId = await grant.save();
      const token = new provider.AccessToken({ accountId: person.user.id, client, grantId, gty: JWT_BEARER_GRANT, scope: scopes.join(' ') });
      token.resourceServer = deps.resourceServer(resource) as never;
      ctx.oidc.entity('AccessToken', token);
      const accessToken = await token.save();
      await audit(deps.store, { event: 'id_jag.accepted', actor: `client:${client.clientId}`, subject: person.user.id, ip: ctx.ip, detail: { provider: trusted.id, grant: grantId, scope: scopes.join(' ') } });
      ctx.body = { access_token: accessToken, token_type: 'Bearer', expires_in: token.expiration, scope: scopes.join(' ') };
    } catch (error) {
      if (error instanceof errors.OIDCProviderError) {
        await audit(deps.store, { event: 'id_jag.refused', actor: `client:${client.clientId}`, ip: ctx.ip, detail: { error: error.error, reason: error.error_description } });
      }
      throw error;
    }
  }

  provider.registerGrantType(JWT_BEARER_GRANT, handler as never, ['assertion', 'scope', 'resource']);
}
