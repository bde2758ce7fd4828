/**
 * Who a request to an MCP endpoint acts for, however it proved it: a person
 * through an OAuth client (`oauth`) or a personal access token (`pat`), or a
 * machine client acting for itself with client credentials (`service`: no
 * person; its `userId` is `service:<client id>`).
 */
export interface Principal {
  kind: 'oauth' | 'pat' | 'service';
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
  /** When a service principal's token was issued (epoch ms): revoking the client refuses tokens issued before. */
  issuedAt?: number;
}

/** The `userId` a service principal carries: never a person's id. */
export const serviceUserId = (clientId: string) => `service:${clientId}`;

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
