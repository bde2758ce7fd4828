import { errors } from 'oidc-provider';
import { redirectHostRefusal, type RegistrationPolicySettings } from '../domain/registration-policy.ts';
import { looksNative, redirectUriRefusal } from '../domain/redirect-uris.ts';
import { registrationPolicyOf } from './request-edge.ts';

/** Client metadata properties Gatehouse keeps beyond oidc-provider's own. */
export const EXTRA_CLIENT_METADATA = ['software_id', 'software_version'];

type Metadata = Record<string, unknown> & { redirect_uris?: string[]; grant_types?: string[] };

interface RegistrationContext {
  oidc?: { route?: string; body?: Record<string, unknown> };
}

function invalidRedirect(description: string): Error {
  const error = new errors.InvalidRedirectUri();
  error.error_description = description;
  return error;
}

/**
 * The rules every self-registered client's redirect URIs meet, whether it
 * registered (DCR, RFC 7592 update) or published a metadata document (CIMD):
 * acceptable URIs, on hosts the registration policy allows.
 */
export function selfRegisteredRedirectRefusal(redirectUris: readonly string[], settings: RegistrationPolicySettings): string | undefined {
  for (const uri of redirectUris) {
    const refusal = redirectUriRefusal(uri);
    if (refusal) return refusal;
  }
  return redirectHostRefusal(redirectUris, settings);
}

/** Grants that act without a person's consent: only for clients an administrator creates. */
export const ADMIN_ONLY_GRANTS = ['client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer'];

export function asksForAdminOnlyGrant(grantTypes: unknown): boolean {
  return Array.isArray(grantTypes) && grantTypes.some((grant) => ADMIN_ONLY_GRANTS.includes(String(grant)));
}

/**
 * Runs inside oidc-provider's client schema before its own validation (the
 * `extraClientMetadata.validator` hook), so it may adjust what a registration
 * asked for. Only new registrations and RFC 7592 updates are checked and
 * adjusted, with the policy the route's handler read for this request;
 * stored clients load as saved.
 *
 * - Redirect URIs meet `selfRegisteredRedirectRefusal`.
 * - Clients that registered loopback or private-use-scheme callbacks without
 *   saying `application_type` are native apps (Claude Code, VS Code, Cursor):
 *   declaring them native gives them RFC 8252 loopback port matching.
 * - Every client that may use the code flow may also refresh: MCP clients run
 *   for days, and refresh tokens are how they do it without the person.
 * - Client credentials and ID-JAG act without a person's consent: an
 *   administrator creates those clients, nobody registers them.
 * - A registered `scope` would restrict the client to the names it guessed
 *   (`claudeai`, `read write`); the person's consent decides scope instead.
 */
export function normalizeClientMetadata(ctx: RegistrationContext | undefined, key: string, metadata: Metadata): void {
  const route = ctx?.oidc?.route;
  if (key !== EXTRA_CLIENT_METADATA[0] || (route !== 'registration' && route !== 'client_update')) return;
  const settings = registrationPolicyOf(ctx);
  // The registration routes always read the policy first; without it nothing is registered.
  if (!settings) throw new errors.InvalidClientMetadata('the registration policy could not be read');

  const redirectUris = Array.isArray(metadata.redirect_uris) ? metadata.redirect_uris.map(String) : [];
  const refusal = selfRegisteredRedirectRefusal(redirectUris, settings);
  if (refusal) throw invalidRedirect(refusal);

  if (ctx?.oidc?.body?.application_type === undefined && looksNative(redirectUris)) metadata.application_type = 'native';

  const grantTypes = Array.isArray(metadata.grant_types) ? metadata.grant_types : [];
  if (asksForAdminOnlyGrant(grantTypes)) {
    throw new errors.InvalidClientMetadata('client_credentials and ID-JAG (jwt-bearer) clients are created by an administrator, not self-registered');
  }
  if (grantTypes.includes('authorization_code') && !grantTypes.includes('refresh_token')) {
    metadata.grant_types = [...grantTypes, 'refresh_token'];
  }

  delete metadata.scope;
}

/**
 * A Client ID Metadata Document cannot be adjusted before oidc-provider reads
 * it, so the same native-app rule is applied to the resolved client: a
 * document listing loopback or private-use callbacks (Claude Code lists
 * `http://localhost/callback`) gets RFC 8252 loopback port matching.
 */
export function treatLoopbackClientsAsNative(client: { redirectUris?: readonly string[]; applicationType?: string }): void {
  if (client.applicationType !== 'native' && looksNative(client.redirectUris ?? [])) client.applicationType = 'native';
}
