/**
 * An OAuthClientProvider for the MCP SDK clients (v1 `@modelcontextprotocol/sdk`
 * and v2 `@modelcontextprotocol/client` share its shape): it keeps what the SDK
 * saves in memory and records where the SDK sends the person, so a test can
 * walk that URL with a UserAgent and hand the callback back.
 */
export class MemoryOAuthProvider {
  authorizationUrl?: URL;
  private info?: Record<string, unknown>;
  private savedTokens?: Record<string, unknown>;
  private verifier?: string;
  private discovery?: unknown;
  clientMetadataUrl?: string;

  constructor(
    readonly redirectUrl: string,
    private readonly metadata: Record<string, unknown> = {},
    options: { clientMetadataUrl?: string } = {},
  ) {
    if (options.clientMetadataUrl) this.clientMetadataUrl = options.clientMetadataUrl;
  }

  get clientMetadata() {
    return {
      client_name: 'SDK test client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...this.metadata,
    } as never;
  }

  clientInformation() {
    return this.info as never;
  }
  saveClientInformation(info: Record<string, unknown>) {
    this.info = info;
  }
  tokens() {
    return this.savedTokens as never;
  }
  saveTokens(tokens: Record<string, unknown>) {
    this.savedTokens = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }
  saveDiscoveryState(state: unknown) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery as never;
  }
  invalidateCredentials(scope: string) {
    if (scope === 'all' || scope === 'tokens') this.savedTokens = undefined;
    if (scope === 'all' || scope === 'client') this.info = undefined;
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
  }

  get accessToken(): string | undefined {
    return this.savedTokens?.access_token as string | undefined;
  }
  get clientId(): string | undefined {
    return this.info?.client_id as string | undefined;
  }
}
