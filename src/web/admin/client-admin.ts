import { randomBytes } from 'node:crypto';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Revocation } from '../../domain/access.ts';
import { StoreAdapter } from '../../oauth/adapter.ts';
import { assertAcceptableRedirectUri, treatLoopbackClientsAsNative } from '../../oauth/client-metadata.ts';
import type { ClientIndex, ClientMetadata } from '../../data/client-index.ts';
import type { Store } from '../../data/engines/store.ts';
import { staleClientIds } from '../../data/client-queries.ts';

export class ClientInputError extends Error {}

export interface ManualClientInput {
  name: string;
  redirectUris: string[];
  confidential: boolean;
}

/** What an administrator does to clients: revoke, delete, register by hand, clean up. */
export class ClientAdmin {
  constructor(
    private readonly store: Store,
    private readonly provider: Provider,
    private readonly clientIndex: ClientIndex,
    private readonly revocation: Revocation,
  ) {}

  /** Grants, refresh tokens, codes and sessions go; live access tokens stop working at once. */
  revoke(clientId: string): Promise<{ grants: number; sessions: number }> {
    return this.revocation.revokeClient(clientId);
  }

  /** Everything `revoke` takes, then the registration itself. */
  async delete(clientId: string): Promise<{ grants: number; sessions: number }> {
    const revoked = await this.revocation.revokeClient(clientId);
    await this.store.run("DELETE FROM oidc_models WHERE model = 'Client' AND id = ?", [clientId]);
    await this.clientIndex.forget(clientId);
    return revoked;
  }

  /**
   * Registers a client that cannot register itself. Redirect URIs get the
   * same checks as self-registration (no javascript:, no fragments, http only
   * on loopback); the registration policy's host allow-list does not apply,
   * since an administrator chose them. Returns the secret of a confidential
   * client: it is shown once.
   */
  async registerManual(input: ManualClientInput): Promise<{ clientId: string; secret?: string }> {
    const name = input.name.trim();
    if (!name) throw new ClientInputError('Give the client a name.');
    if (name.length > 200) throw new ClientInputError('The name is too long (200 characters at most).');
    if (input.redirectUris.length === 0) throw new ClientInputError('List at least one redirect URI.');
    for (const uri of input.redirectUris) {
      try {
        assertAcceptableRedirectUri(uri);
      } catch (error) {
        throw new ClientInputError((error as { error_description?: string }).error_description ?? `not an acceptable redirect URI: ${uri}`);
      }
    }
    const clientId = randomBytes(16).toString('base64url');
    const secret = input.confidential ? randomBytes(32).toString('base64url') : undefined;
    const metadata: Record<string, unknown> = {
      client_id: clientId,
      client_id_issued_at: Math.floor(Date.now() / 1000),
      client_name: name,
      redirect_uris: input.redirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: secret ? 'client_secret_basic' : 'none',
      ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
    };
    const shape = { redirectUris: input.redirectUris, applicationType: undefined as string | undefined };
    treatLoopbackClientsAsNative(shape);
    if (shape.applicationType) metadata.application_type = shape.applicationType;

    try {
      await this.provider.Client.validate(metadata as never);
    } catch (error) {
      if (error instanceof errors.OIDCProviderError) throw new ClientInputError(error.error_description ?? error.message);
      throw error;
    }
    // Stored as registration stores it, so oidc-provider finds it like any other client.
    const stored = { ...metadata, gatehouse_kind: 'manual' } as ClientMetadata & Record<string, unknown>;
    await new StoreAdapter('Client', this.store).upsert(clientId, stored as never);
    await this.clientIndex.record(stored, 'manual');
    return secret ? { clientId, secret } : { clientId };
  }

  /** Deletes stale self-registered clients (see `staleClientIds`); returns how many went. */
  async cleanupStale(retentionDays: number, batch = 500): Promise<number> {
    if (retentionDays <= 0) return 0;
    const cutoff = Date.now() - retentionDays * 86_400_000;
    let deleted = 0;
    for (;;) {
      const ids = await staleClientIds(this.store, cutoff, batch);
      for (const id of ids) await this.delete(id);
      deleted += ids.length;
      if (ids.length < batch) return deleted;
    }
  }
}
