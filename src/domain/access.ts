import { deleteAdminSessionsOf } from '../data/admin-sessions.ts';
import { audit, type AuditEvent } from '../data/audit-log.ts';
import { deleteIndexedClient } from '../data/client-index.ts';
import { recordClientRevocation } from '../data/client-revocations.ts';
import type { Queryable, Store } from '../data/engines/store.ts';
import { deleteSessionsWhere, type SessionColumn } from '../data/mcp-sessions.ts';
import { TOPICS, type Notifications } from '../data/notifications.ts';
import {
  deleteClientRegistration,
  deleteGrant,
  deleteIssuedToClient,
  deleteSignInSessionsOf,
  grantBelongsTo,
  grantIdsOf,
} from '../data/oidc-models.ts';
import { markPatRevoked, markPatsOfUserRevoked } from '../data/personal-tokens.ts';
import { forgetConsentsWhere } from '../data/remembered-consents.ts';
import { recordRevokedAccessToken } from '../data/revoked-access-tokens.ts';
import { findUserById, setDisabled, type User } from '../data/users.ts';
import { AccountError } from './accounts.ts';

/** Who asked, for the audit log: a user id, `client:<id>`, `cli` or `system`, and from where. */
export interface Actor {
  actor: string;
  ip?: string | undefined;
}

/** What a revocation took away, announced after it committed. */
interface Revoked {
  /** Machine clients whose client-credentials tokens (which have no grant) end. */
  clientIds?: readonly string[];
  grantIds?: readonly string[];
  patIds?: readonly string[];
  tokenIds?: readonly string[];
  /** Sessions ended by binding: their rows are gone, live transports and streams must close. */
  sessions?: { column: SessionColumn; value: string };
}

/**
 * Taking access away, in one place, for every caller (the admin page, a
 * person's account page, the CLI, oidc-provider's events, the stale-client
 * cleanup). Each use case changes the Store in one transaction (all or
 * nothing), then tells everyone who holds something in memory: this
 * process's token verifier and session registry at once (streams of both MCP
 * transports included), and, on PostgreSQL, every other instance through the
 * Store's notifications; without those, within GRANT_CHECK_CACHE.
 */
export class Access {
  constructor(
    private readonly store: Store,
    private readonly events: Notifications,
  ) {}

  /** Everything a client holds: grants, refresh tokens, codes, sessions, remembered consents. Its registration stays. */
  async revokeClient(clientId: string, by: Actor): Promise<{ grants: number; sessions: number }> {
    const { grantIds, sessions } = await this.store.transaction((tx) => this.takeFromClient(tx, clientId));
    await this.announce({ clientIds: [clientId], grantIds, sessions: { column: 'client_id', value: clientId } });
    await this.record('client.revoked', by, clientId, { grants: grantIds.length, sessions });
    return { grants: grantIds.length, sessions };
  }

  /** Everything `revokeClient` takes, then the registration itself. */
  async deleteClient(clientId: string, by: Actor): Promise<{ grants: number; sessions: number }> {
    const { grantIds, sessions } = await this.store.transaction(async (tx) => {
      const taken = await this.takeFromClient(tx, clientId);
      await deleteClientRegistration(tx, clientId);
      await deleteIndexedClient(tx, clientId);
      return taken;
    });
    await this.announce({ clientIds: [clientId], grantIds, sessions: { column: 'client_id', value: clientId } });
    await this.record('client.deleted', by, clientId, { grants: grantIds.length, sessions });
    return { grants: grantIds.length, sessions };
  }

  /**
   * oidc-provider already deleted the registration (RFC 7592 DELETE by the
   * client itself): take everything it held with it.
   */
  async clientDeletedItself(clientId: string): Promise<void> {
    const { grantIds } = await this.store.transaction(async (tx) => {
      const taken = await this.takeFromClient(tx, clientId);
      await deleteIndexedClient(tx, clientId);
      return taken;
    });
    await this.announce({ clientIds: [clientId], grantIds, sessions: { column: 'client_id', value: clientId } });
    await this.record('client.deleted', { actor: `client:${clientId}` }, clientId, { grants: grantIds.length });
  }

  /** One grant and every token issued under it; with `ownerId`, only that person's. False when there was none. */
  async revokeGrant(grantId: string, by: Actor, options: { ownerId?: string } = {}): Promise<boolean> {
    const revoked = await this.store.transaction(async (tx) => {
      if (options.ownerId && !(await grantBelongsTo(tx, grantId, options.ownerId))) return false;
      const existed = await deleteGrant(tx, grantId);
      await forgetConsentsWhere(tx, 'grant_id', grantId);
      await deleteSessionsWhere(tx, 'grant_id', grantId);
      return existed;
    });
    if (!revoked) return false;
    await this.announce({ grantIds: [grantId], sessions: { column: 'grant_id', value: grantId } });
    await this.record('grant.revoked', by, grantId);
    return true;
  }

  /**
   * oidc-provider already deleted this grant and its tokens (RFC 7009
   * revocation of a refresh token, a replayed code or refresh token): stop
   * believing it is live, here and on every instance. Sessions bound to it
   * stay, so bearer-less requests on them get a 401 challenge that sends the
   * client to sign in again.
   */
  async grantRevokedByProvider(grantId: string): Promise<void> {
    await this.announce({ grantIds: [grantId] });
  }

  /**
   * One JWT access token, revoked before it expires (RFC 7009 at /revoke):
   * refused everywhere from now on, until it would have expired anyway.
   * Sessions opened with it end; the grant and its refresh token stay.
   */
  async revokeAccessToken(token: { jti: string; expiresAt: number }, by: Actor): Promise<void> {
    await this.store.transaction(async (tx) => {
      await recordRevokedAccessToken(tx, token.jti, token.expiresAt);
      await deleteSessionsWhere(tx, 'token_id', token.jti);
    });
    await this.announce({ tokenIds: [token.jti], sessions: { column: 'token_id', value: token.jti } });
    await this.record('access_token.revoked', by, token.jti);
  }

  /** One personal access token; with `ownerId`, only that person's. False when there was no such active token. */
  async revokePersonalToken(id: string, by: Actor, options: { ownerId?: string } = {}): Promise<boolean> {
    const revoked = await this.store.transaction(async (tx) => {
      if (!(await markPatRevoked(tx, id, options.ownerId))) return false;
      await deleteSessionsWhere(tx, 'pat_id', id);
      return true;
    });
    if (!revoked) return false;
    await this.announce({ patIds: [id], sessions: { column: 'pat_id', value: id } });
    await this.record('token.revoked', by, id);
    return true;
  }

  /**
   * Disabling takes everything a person holds at once: their grants (and so
   * every token and remembered consent), personal tokens, MCP sessions,
   * browser sign-ins here and at the authorization server. Nobody disables
   * their own account.
   */
  async disablePerson(userId: string, by: Actor): Promise<User> {
    if (userId === by.actor) throw new AccountError('You cannot disable your own account.');
    const result = await this.store.transaction(async (tx) => {
      const user = await findUserById(tx, userId);
      if (!user) throw new AccountError('There is no such user.');
      await setDisabled(tx, userId, Date.now());
      const grantIds = await grantIdsOf(tx, 'account_id', userId);
      for (const grantId of grantIds) await deleteGrant(tx, grantId);
      await forgetConsentsWhere(tx, 'user_id', userId);
      await deleteSignInSessionsOf(tx, userId);
      const patIds = await markPatsOfUserRevoked(tx, userId);
      await deleteSessionsWhere(tx, 'user_id', userId);
      await deleteAdminSessionsOf(tx, userId);
      return { user, grantIds, patIds };
    });
    await this.announce({ grantIds: result.grantIds, patIds: result.patIds, sessions: { column: 'user_id', value: userId } });
    await this.record('user.disabled', by, userId, { grants: result.grantIds.length, tokens: result.patIds.length });
    return result.user;
  }

  /** Lets a disabled person sign in again; what disabling took stays taken. */
  async enablePerson(userId: string, by: Actor): Promise<User> {
    const user = await findUserById(this.store, userId);
    if (!user) throw new AccountError('There is no such user.');
    if (await setDisabled(this.store, userId, null)) await this.record('user.enabled', by, userId);
    return user;
  }

  /** Ends a person's browser sign-ins (here and at the authorization server), as after a password reset. */
  async signOutEverywhere(userId: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await deleteAdminSessionsOf(tx, userId);
      await deleteSignInSessionsOf(tx, userId);
    });
  }

  private async takeFromClient(tx: Queryable, clientId: string): Promise<{ grantIds: string[]; sessions: number }> {
    const grantIds = await grantIdsOf(tx, 'client_id', clientId);
    await deleteIssuedToClient(tx, clientId);
    await recordClientRevocation(tx, clientId, Date.now());
    await forgetConsentsWhere(tx, 'client_id', clientId);
    const sessions = await deleteSessionsWhere(tx, 'client_id', clientId);
    return { grantIds, sessions };
  }

  private async announce(revoked: Revoked): Promise<void> {
    const messages: Promise<void>[] = [];
    for (const clientId of revoked.clientIds ?? []) messages.push(this.events.publish(TOPICS.accessRevoked, { clientId }));
    for (const grantId of revoked.grantIds ?? []) messages.push(this.events.publish(TOPICS.accessRevoked, { grantId }));
    for (const patId of revoked.patIds ?? []) messages.push(this.events.publish(TOPICS.accessRevoked, { patId }));
    for (const tokenId of revoked.tokenIds ?? []) messages.push(this.events.publish(TOPICS.accessRevoked, { tokenId }));
    if (revoked.sessions) messages.push(this.events.publish(TOPICS.sessionsEnded, revoked.sessions));
    await Promise.all(messages);
  }

  private record(event: AuditEvent, by: Actor, subject: string, detail?: Record<string, unknown>): Promise<void> {
    return audit(this.store, { event, actor: by.actor, subject, ip: by.ip, detail });
  }
}
