import { errors } from 'oidc-provider';
import type { RegistrationPolicy } from '../domain/registration-policy.ts';

/** RFC 8252 §7.3: loopback redirects, on any port. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'vbscript:', 'data:', 'blob:', 'file:', 'about:']);

/** Client metadata properties Gatehouse keeps beyond oidc-provider's own. */
export const EXTRA_CLIENT_METADATA = ['software_id', 'software_version'];

type Metadata = Record<string, unknown> & { redirect_uris?: string[]; grant_types?: string[] };

interface RegistrationContext {
  oidc?: { route?: string; body?: Record<string, unknown> };
}

function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

function isPrivateUseScheme(url: URL): boolean {
  return url.protocol !== 'http:' && url.protocol !== 'https:';
}

function invalidRedirect(description: string): Error {
  const error = new errors.InvalidRedirectUri();
  error.error_description = description;
  return error;
}

/** Refuses a redirect URI no legitimate client needs (OAuth 2.1 §2.3, RFC 8252). */
export function assertAcceptableRedirectUri(uri: string): void {
  const url = URL.parse(uri);
  if (!url) throw invalidRedirect(`redirect_uris must be absolute URIs: ${uri}`);
  if (FORBIDDEN_SCHEMES.has(url.protocol)) throw invalidRedirect(`redirect_uris must not use the ${url.protocol} scheme`);
  if (uri.includes('#')) throw invalidRedirect('redirect_uris must not contain a fragment');
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw invalidRedirect(`http redirect_uris are only allowed on loopback addresses (localhost, 127.0.0.1, [::1]): ${uri}`);
  }
}

/**
 * Runs inside oidc-provider's client schema before its own validation (the
 * `extraClientMetadata.validator` hook), so it may adjust what a registration
 * asked for. Only new registrations are adjusted; stored clients load as saved.
 *
 * - Clients that registered loopback or private-use-scheme callbacks without
 *   saying `application_type` are native apps (Claude Code, VS Code, Cursor):
 *   declaring them native gives them RFC 8252 loopback port matching.
 * - Every client that may use the code flow may also refresh: MCP clients run
 *   for days, and refresh tokens are how they do it without the person.
 * - A registered `scope` would restrict the client to the names it guessed
 *   (`claudeai`, `read write`); the person's consent decides scope instead.
 */
export function normalizeClientMetadata(
  ctx: RegistrationContext | undefined,
  key: string,
  metadata: Metadata,
  policy: RegistrationPolicy,
): void {
  const route = ctx?.oidc?.route;
  if (key !== EXTRA_CLIENT_METADATA[0] || (route !== 'registration' && route !== 'client_update')) return;

  const redirectUris = Array.isArray(metadata.redirect_uris) ? metadata.redirect_uris.map(String) : [];
  for (const uri of redirectUris) assertAcceptableRedirectUri(uri);
  const refusal = policy.redirectRefusal(redirectUris);
  if (refusal) throw invalidRedirect(refusal);

  const askedApplicationType = ctx?.oidc?.body?.application_type;
  if (askedApplicationType === undefined) {
    const urls = redirectUris.map((uri) => URL.parse(uri)).filter((url): url is URL => url !== null);
    if (urls.some((url) => isLoopbackHttp(url) || isPrivateUseScheme(url))) metadata.application_type = 'native';
  }

  const grantTypes = Array.isArray(metadata.grant_types) ? metadata.grant_types : [];
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
  if (client.applicationType === 'native') return;
  const urls = (client.redirectUris ?? []).map((uri) => URL.parse(uri)).filter((url): url is URL => url !== null);
  if (urls.some((url) => isLoopbackHttp(url) || isPrivateUseScheme(url))) client.applicationType = 'native';
}
