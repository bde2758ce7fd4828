import { randomBytes, randomUUID } from 'node:crypto';
import { audit } from '../data/audit-log.ts';
import type { Store } from '../data/engines/store.ts';
import { hashPat, insertPersonalAccessToken, PAT_PREFIX, type PersonalAccessToken } from '../data/personal-tokens.ts';
import { findUserById } from '../data/users.ts';
import { BASE_SCOPE, RESOURCE_SCOPE_NAMES } from './scopes.ts';

/** A refusal worded so it can be shown to the person as it is. */
export class TokenRequestError extends Error {}

export interface TokenRequest {
  ownerId: string;
  name: string;
  scopes: readonly string[];
  /** Epoch ms, or null for a token that never expires. */
  expiresAt: number | null;
}

export interface Requester {
  /** A user id, `cli`, or `system`. */
  actor: string;
  ip?: string;
}

/**
 * The rules every personal access token meets, whoever asks (the CLI, the
 * admin page, a person's account page): an owner who may sign in, a name,
 * scopes this server knows, including the one every MCP call needs (a token
 * without it could never call /mcp), and an expiry in the future.
 */
export function tokenRequestRefusal(request: Omit<TokenRequest, 'ownerId'>, now = Date.now()): string | undefined {
  const name = request.name.trim();
  if (!name) return 'Give the token a name, such as the app that will use it.';
  if (name.length > 100) return 'The name is too long (100 characters at most).';
  const unknown = request.scopes.filter((scope) => !(RESOURCE_SCOPE_NAMES as readonly string[]).includes(scope));
  if (unknown.length) return `Unknown scope(s): ${unknown.join(', ')}; choose from ${RESOURCE_SCOPE_NAMES.join(', ')}.`;
  if (!request.scopes.includes(BASE_SCOPE)) return `A token needs the ${BASE_SCOPE} scope: without it, it could not call anything.`;
  if (request.expiresAt !== null && request.expiresAt <= now) return 'The expiry must be in the future.';
  return undefined;
}

/** Issues a token: the secret is returned once and only its hash is kept; the issue is audited. */
export async function issuePersonalToken(store: Store, request: TokenRequest, by: Requester): Promise<{ token: string; record: PersonalAccessToken }> {
  const refusal = tokenRequestRefusal(request);
  if (refusal) throw new TokenRequestError(refusal);
  const owner = await findUserById(store, request.ownerId);
  if (!owner) throw new TokenRequestError('There is no such user.');
  if (owner.disabledAt !== null) throw new TokenRequestError(`${owner.email} is disabled: enable the account before giving it a token.`);
  const token = `${PAT_PREFIX}${randomBytes(32).toString('base64url')}`;
  const record = await insertPersonalAccessToken(store, {
    id: randomUUID(),
    userId: owner.id,
    name: request.name.trim(),
    tokenHash: hashPat(token),
    hint: `${token.slice(0, PAT_PREFIX.length + 4)}…`,
    scopes: [...new Set(request.scopes)],
    expiresAt: request.expiresAt,
  });
  await audit(store, { event: 'token.created', actor: by.actor, subject: record.id, ip: by.ip, detail: { user: owner.id, scopes: record.scopes, name: record.name } });
  return { token, record };
}
