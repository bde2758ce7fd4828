import type { SessionManager } from '../mcp/sessions/registry.ts';
import type { TokenVerifier } from '../mcp/token-verifier.ts';
import { revokePersonalAccessToken } from '../data/personal-tokens.ts';
import type { Store } from '../data/engines/store.ts';

/**
 * Taking access away, in one place: the Store forgets the grants and tokens,
 * MCP sessions bound to them end, and this process stops believing cached
 * liveness at once. Other instances hear of it through the Store's
 * notifications (PostgreSQL) and act at once too; without them, within the
 * liveness cache period (GRANT_CHECK_CACHE, 2 s by default).
 */
export class Revocation {
  constructor(
    private readonly store: Store,
    private readonly sessions: SessionManager,
    private readonly verifier: TokenVerifier,
  ) {}

  private async grantIdsWhere(column: 'client_id' | 'grant_id', value: string): Promise<string[]> {
    const rows = await this.store.all<{ grant_id: string }>("SELECT grant_id FROM oidc_models WHERE model = 'Grant' AND " + column + ' = ?', [value]);
    return rows.map((row) => row.grant_id);
  }

  /** Everything a client holds: grants, refresh tokens, codes, sessions, remembered consents. */
  async revokeClient(clientId: string): Promise<{ grants: number; sessions: number }> {
    const grantIds = await this.grantIdsWhere('client_id', clientId);
    await this.store.run("DELETE FROM oidc_models WHERE client_id = ? AND model <> 'Client'", [clientId]);
    await this.store.run('DELETE FROM remembered_consents WHERE client_id = ?', [clientId]);
    await Promise.all(grantIds.map((grantId) => this.verifier.forget({ grantId })));
    const sessions = await this.sessions.endWhere('client_id', clientId);
    return { grants: grantIds.length, sessions };
  }

  /** One grant and every token issued under it. */
  async revokeGrant(grantId: string): Promise<void> {
    await this.store.run('DELETE FROM oidc_models WHERE grant_id = ?', [grantId]);
    await this.store.run('DELETE FROM remembered_consents WHERE grant_id = ?', [grantId]);
    await this.verifier.forget({ grantId });
    await this.sessions.endWhere('grant_id', grantId);
  }

  /**
   * oidc-provider already revoked this grant and its tokens (RFC 7009
   * revocation, a replayed code or refresh token): stop believing it is live,
   * here and on every instance. Sessions bound to it stay, so bearer-less
   * requests on them get a 401 challenge that sends the client to sign in again.
   */
  async grantRevokedByProvider(grantId: string): Promise<void> {
    await this.verifier.forget({ grantId });
  }

  /** Everything a person holds: their grants, personal tokens, sessions. */
  async revokeUser(userId: string): Promise<void> {
    const grants = await this.store.all<{ grant_id: string }>("SELECT grant_id FROM oidc_models WHERE model = 'Grant' AND account_id = ?", [userId]);
    for (const grant of grants) await this.revokeGrant(grant.grant_id);
    // Their browser sign-in sessions too, so the next authorization asks for the password.
    await this.store.run("DELETE FROM oidc_models WHERE model = 'Session' AND account_id = ?", [userId]);
    const tokens = await this.store.all<{ id: string }>('SELECT id FROM personal_access_tokens WHERE user_id = ? AND revoked_at IS NULL', [userId]);
    for (const token of tokens) await this.revokePersonalToken(token.id);
    await this.sessions.endWhere('user_id', userId);
  }

  async revokePersonalToken(id: string, ownerId?: string): Promise<boolean> {
    const revoked = await revokePersonalAccessToken(this.store, id, ownerId);
    if (revoked) {
      await this.verifier.forget({ patId: id });
      await this.sessions.endWhere('pat_id', id);
    }
    return revoked;
  }
}
