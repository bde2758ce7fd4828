/**
 * Every endpoint Gatehouse serves, once, as data. Each middleware reads the
 * route the request resolved to (see `route-match.ts`) and never looks at the
 * raw path: which error shape, whether CORS applies, which rate limit counts
 * it, the metric label, whether a signed-in person (or an administrator) is
 * needed, and whether the DNS-rebinding guard applies. A path that is not
 * spelled exactly as listed here (or as one of its aliases) is 404 before
 * anything else sees it, so no other spelling can reach a handler that
 * would skip a rule.
 */

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** How errors on the route are written: for programs (JSON-RPC, OAuth JSON, plain JSON) or for people (a page). */
export type ErrorShape = 'jsonrpc' | 'oauth' | 'json' | 'html';

/** The limits counted per IP address or per client before a handler runs; `mcp` counts per principal after authentication. */
export type RateLimitName = 'register' | 'token' | 'login' | 'mcp';

/** Who may use the route: anyone, anyone signed in on our pages, or administrators only. */
export type Access = 'public' | 'person' | 'admin';

export interface RouteSpec {
  /** What the code binds a handler to. */
  readonly name: string;
  /** The one spelling; `:param` matches one non-empty segment. Also the metric label. */
  readonly pattern: string;
  /** Other exact spellings served as the same route (clients use them). */
  readonly aliases?: readonly string[];
  /** GET also answers HEAD. OPTIONS is the CORS preflight, on `cors` routes only. */
  readonly methods: readonly Method[];
  /** `provider`: oidc-provider answers it (after any handler of ours runs first). */
  readonly owner: 'gatehouse' | 'provider';
  readonly shape: ErrorShape;
  readonly cors?: boolean;
  /** Counted on POST (the state-changing requests these limits exist for). */
  readonly rateLimit?: RateLimitName;
  readonly access?: Access;
  /** Host and Origin checked against DNS rebinding (the MCP endpoints). */
  readonly hostGuard?: boolean;
  /** A parameter is a secret (a setup token): logs name the pattern, not the path. */
  readonly secretParams?: boolean;
}

function route<const Name extends string>(name: Name, pattern: string, methods: readonly Method[], rest: Omit<RouteSpec, 'name' | 'pattern' | 'methods'>) {
  return { name, pattern, methods, ...rest } as const;
}

const ours = { owner: 'gatehouse' } as const;
const provider = { owner: 'provider' } as const;
const page = { owner: 'gatehouse', shape: 'html' } as const;
const adminPage = { ...page, access: 'admin' } as const;
const accountPage = { ...page, access: 'person' } as const;

export const ROUTES = [
  // Operations
  route('health', '/healthz', ['GET'], { ...ours, shape: 'json' }),
  route('ready', '/readyz', ['GET'], { ...ours, shape: 'json' }),
  route('metrics', '/metrics', ['GET'], { ...ours, shape: 'json' }),
  route('asset', '/assets/:file', ['GET'], { ...ours, shape: 'json' }),

  // The MCP resource server
  route('mcp', '/mcp', ['POST', 'GET', 'DELETE'], { ...ours, aliases: ['/mcp/'], shape: 'jsonrpc', cors: true, rateLimit: 'mcp', hostGuard: true }),
  // An upstream MCP server behind the gateway: its own protected resource, with the same attributes as /mcp.
  route('mcp.upstream', '/mcp/:name', ['POST', 'GET', 'DELETE'], { ...ours, aliases: ['/mcp/:name/'], shape: 'jsonrpc', cors: true, rateLimit: 'mcp', hostGuard: true }),
  route('sse.open', '/sse', ['GET'], { ...ours, shape: 'jsonrpc', cors: true, rateLimit: 'mcp', hostGuard: true }),
  route('sse.message', '/messages', ['POST'], { ...ours, shape: 'jsonrpc', cors: true, rateLimit: 'mcp', hostGuard: true }),
  route('resource.metadata', '/.well-known/oauth-protected-resource', ['GET'], {
    ...ours,
    aliases: ['/.well-known/oauth-protected-resource/'],
    shape: 'json',
    cors: true,
  }),
  route('resource.metadata.mcp', '/.well-known/oauth-protected-resource/mcp', ['GET'], {
    ...ours,
    aliases: ['/.well-known/oauth-protected-resource/mcp/'],
    shape: 'json',
    cors: true,
  }),
  route('resource.metadata.upstream', '/.well-known/oauth-protected-resource/mcp/:name', ['GET'], {
    ...ours,
    aliases: ['/.well-known/oauth-protected-resource/mcp/:name/'],
    shape: 'json',
    cors: true,
  }),

  // The authorization server (oidc-provider)
  route('oauth.metadata', '/.well-known/oauth-authorization-server', ['GET'], { ...provider, shape: 'oauth', cors: true }),
  route('oidc.metadata', '/.well-known/openid-configuration', ['GET'], { ...provider, shape: 'oauth', cors: true }),
  route('oauth.authorize', '/authorize', ['GET'], { ...provider, shape: 'html' }),
  route('oauth.authorize.resume', '/authorize/:uid', ['GET'], { ...provider, shape: 'html' }),
  route('oauth.token', '/token', ['POST'], { ...provider, shape: 'oauth', cors: true, rateLimit: 'token' }),
  route('oauth.register', '/register', ['POST'], { ...provider, shape: 'oauth', cors: true, rateLimit: 'register' }),
  route('oauth.client', '/register/:clientId', ['GET', 'PUT', 'DELETE'], { ...provider, shape: 'oauth', cors: true }),
  route('oauth.revoke', '/revoke', ['POST'], { ...provider, shape: 'oauth', cors: true }),
  route('oauth.introspect', '/introspect', ['POST'], { ...provider, shape: 'oauth', cors: true }),
  route('oauth.par', '/request', ['POST'], { ...provider, shape: 'oauth', cors: true }),
  route('oauth.jwks', '/jwks', ['GET'], { ...provider, shape: 'oauth', cors: true }),
  route('oidc.userinfo', '/userinfo', ['GET', 'POST'], { ...provider, shape: 'oauth', cors: true }),
  route('oidc.logout', '/session/end', ['GET'], { ...provider, shape: 'html' }),
  route('oidc.logout.confirm', '/session/end/confirm', ['POST'], { ...provider, shape: 'html' }),
  route('oidc.logout.done', '/session/end/success', ['GET'], { ...provider, shape: 'html' }),

  // Pages people see during an authorization
  route('interaction', '/interaction/:uid', ['GET'], page),
  route('interaction.login', '/interaction/:uid/login', ['POST'], { ...page, rateLimit: 'login' }),
  route('interaction.consent', '/interaction/:uid/consent', ['POST'], page),
  route('interaction.abort', '/interaction/:uid/abort', ['POST'], page),
  route('interaction.sso', '/interaction/:uid/sso/:provider', ['GET'], page),
  route('setup', '/setup/:token', ['GET', 'POST'], { ...page, secretParams: true }),

  // Sign-in for the account and admin pages
  route('login', '/login', ['GET', 'POST'], { ...page, rateLimit: 'login' }),
  // Company sign-in at an identity provider; the callback is the redirect URI registered there.
  route('sso.start', '/sso/start/:provider', ['GET'], page),
  route('sso.callback', '/sso/callback', ['GET'], page),
  route('logout', '/logout', ['POST'], accountPage),
  route('account', '/account', ['GET'], accountPage),
  route('account.token.create', '/account/tokens', ['POST'], accountPage),
  route('account.token.revoke', '/account/tokens/:id/revoke', ['POST'], accountPage),
  route('account.app.revoke', '/account/apps/:grantId/revoke', ['POST'], accountPage),

  // The admin page
  route('admin', '/admin', ['GET'], adminPage),
  route('admin.clients', '/admin/clients', ['GET', 'POST'], adminPage),
  route('admin.client.new', '/admin/clients/new', ['GET'], adminPage),
  route('admin.clients.cleanup', '/admin/clients/cleanup', ['POST'], adminPage),
  route('admin.client', '/admin/clients/:id', ['GET'], adminPage),
  route('admin.client.revoke', '/admin/clients/:id/revoke', ['POST'], adminPage),
  route('admin.client.delete', '/admin/clients/:id/delete', ['POST'], adminPage),
  route('admin.grant.revoke', '/admin/grants/:grantId/revoke', ['POST'], adminPage),
  route('admin.policy', '/admin/policy', ['GET', 'POST'], adminPage),
  route('admin.tokens', '/admin/tokens', ['GET', 'POST'], adminPage),
  route('admin.token.revoke', '/admin/tokens/:id/revoke', ['POST'], adminPage),
  route('admin.sessions', '/admin/sessions', ['GET'], adminPage),
  route('admin.session.end', '/admin/sessions/:hash/end', ['POST'], adminPage),
  route('admin.task.cancel', '/admin/tasks/:id/cancel', ['POST'], adminPage),
  route('admin.users', '/admin/users', ['GET', 'POST'], adminPage),
  route('admin.user', '/admin/users/:id', ['GET'], adminPage),
  route('admin.user.disable', '/admin/users/:id/disable', ['POST'], adminPage),
  route('admin.user.enable', '/admin/users/:id/enable', ['POST'], adminPage),
  route('admin.user.admin', '/admin/users/:id/admin', ['POST'], adminPage),
  route('admin.user.password', '/admin/users/:id/password', ['POST'], adminPage),
  route('admin.upstreams', '/admin/upstreams', ['GET', 'POST'], adminPage),
  route('admin.upstream.enabled', '/admin/upstreams/:name/enabled', ['POST'], adminPage),
  route('admin.audit', '/admin/audit', ['GET'], adminPage),
  route('admin.providers', '/admin/providers', ['GET', 'POST'], adminPage),
  route('admin.provider.delete', '/admin/providers/:id/delete', ['POST'], adminPage),
] as const satisfies readonly RouteSpec[];

export type Route = (typeof ROUTES)[number];
export type RouteName = Route['name'];
