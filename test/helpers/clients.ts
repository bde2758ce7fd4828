/**
 * Registration bodies as real MCP clients send them (from CLIENTS.md and the
 * clients' own code), and the redirect URI each then uses at /authorize.
 */
export interface ClientProfile {
  name: string;
  registration: Record<string, unknown>;
  /** The redirect_uri the client puts on the authorization request. */
  authorizeRedirect: string;
}

export const CLIENT_PROFILES: ClientProfile[] = [
  {
    name: 'Claude.ai',
    registration: {
      client_name: 'Claude',
      redirect_uris: ['https://claude.ai/api/mcp/auth_callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'claudeai',
    },
    authorizeRedirect: 'https://claude.ai/api/mcp/auth_callback',
  },
  {
    name: 'Claude.com',
    registration: {
      client_name: 'Claude',
      redirect_uris: ['https://claude.com/api/mcp/auth_callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
    authorizeRedirect: 'https://claude.com/api/mcp/auth_callback',
  },
  {
    name: 'Claude Code',
    registration: {
      client_name: 'Claude Code (gatehouse)',
      redirect_uris: ['http://localhost:51234/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
    },
    // A random port in 49152-65535, different from the registered one.
    authorizeRedirect: 'http://localhost:60999/callback',
  },
  {
    name: 'mcp-remote',
    registration: {
      client_name: 'MCP CLI Proxy',
      client_uri: 'https://github.com/modelcontextprotocol/mcp-cli',
      redirect_uris: ['http://localhost:3334/oauth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      software_id: '2e6dc280-f3c3-4e01-99a7-8181dbd1d23d',
      software_version: '0.1.29',
    },
    authorizeRedirect: 'http://localhost:3335/oauth/callback',
  },
  {
    name: 'n8n',
    registration: {
      redirect_uris: ['https://n8n.example.com/rest/oauth2-credential/callback'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      client_name: 'n8n',
      client_uri: 'https://n8n.io/',
    },
    authorizeRedirect: 'https://n8n.example.com/rest/oauth2-credential/callback',
  },
  {
    name: 'VS Code',
    registration: {
      client_name: 'Visual Studio Code',
      redirect_uris: [
        'https://insiders.vscode.dev/redirect',
        'https://vscode.dev/redirect',
        'http://localhost/',
        'http://127.0.0.1/',
        'http://localhost:33418/',
        'http://127.0.0.1:33418/',
      ],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    // Port 33418 was busy, so VS Code listens on another one.
    authorizeRedirect: 'http://127.0.0.1:41877/',
  },
  {
    name: 'Cursor',
    registration: {
      client_name: 'Cursor',
      redirect_uris: [
        'cursor://anysphere.cursor-mcp/oauth/callback',
        'https://cursor.com/oauth/callback',
        'https://www.cursor.com/oauth/callback',
      ],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    },
    authorizeRedirect: 'cursor://anysphere.cursor-mcp/oauth/callback',
  },
];
