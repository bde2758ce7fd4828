/** Who a request to an MCP endpoint acts for, however it proved it. */
export interface Principal {
  kind: 'oauth' | 'pat';
  userId: string;
  /** The OAuth client id, or `pat:<token id>` for a personal access token. */
  clientId: string;
  scopes: string[];
  /** When the credential stops being valid (epoch ms). */
  expiresAt: number;
  grantId?: string;
  patId?: string;
  /** The access token's own id (`jti`), so that one token can be revoked. */
  tokenId?: string;
}

/** Two credentials speak for the same principal when the person and the client are the same. */
export function samePrincipal(a: Principal, b: Principal): boolean {
  return a.userId === b.userId && a.clientId === b.clientId;
}

export function hasScopes(principal: Principal, required: readonly string[]): boolean {
  return required.every((scope) => principal.scopes.includes(scope));
}

/** The same credential: a fresh bearer for the same principal that differs renews a session's binding. */
export function sameCredential(a: Principal, b: Principal): boolean {
  return a.expiresAt === b.expiresAt && a.grantId === b.grantId && a.patId === b.patId && a.tokenId === b.tokenId && a.scopes.join(' ') === b.scopes.join(' ');
}
