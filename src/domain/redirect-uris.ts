/**
 * The redirect URIs a client may use, whatever way it registered (DCR, an RFC
 * 7592 update, a Client ID Metadata Document, or an administrator): OAuth 2.1
 * §2.3 and RFC 8252. Pure functions; each answer is a reason to refuse or
 * nothing.
 */

/** RFC 8252 §7.3: loopback redirects, on any port. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'vbscript:', 'data:', 'blob:', 'file:', 'about:']);

export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

function isPrivateUseScheme(url: URL): boolean {
  return url.protocol !== 'http:' && url.protocol !== 'https:';
}

/** Why no legitimate client needs this redirect URI, or undefined when it is acceptable. */
export function redirectUriRefusal(uri: string): string | undefined {
  const url = URL.parse(uri);
  if (!url) return `redirect_uris must be absolute URIs: ${uri}`;
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `redirect_uris must not use the ${url.protocol} scheme`;
  if (uri.includes('#')) return 'redirect_uris must not contain a fragment';
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    return `http redirect_uris are only allowed on loopback addresses (localhost, 127.0.0.1, [::1]): ${uri}`;
  }
  return undefined;
}

/**
 * Loopback or private-use-scheme callbacks mark a native app (Claude Code,
 * VS Code, Cursor), which gets RFC 8252 loopback port matching.
 */
export function looksNative(redirectUris: readonly string[]): boolean {
  return redirectUris.some((uri) => {
    const url = URL.parse(uri);
    return url !== null && (isLoopbackHttp(url) || isPrivateUseScheme(url));
  });
}
