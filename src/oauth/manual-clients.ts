import { randomBytes } from 'node:crypto';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { ClientIndex, ClientMetadata } from '../data/client-index.ts';
import type { Store } from '../data/engines/store.ts';
import { looksNative, redirectUriRefusal } from '../domain/redirect-uris.ts';
import { StoreAdapter } from './adapter.ts';

/** A refusal worded for the person who filled in the form. */
export class ClientInputError extends Error {}

export interface ManualClientInput {
  name: string;
  redirectUris: string[];
  confidential: boolean;
}

/**
 * Registers a client that cannot register itself, as an administrator does.
 * Redirect URIs get the same checks as self-registration (no javascript:, no
 * fragments, http only on loopback); the registration policy's host
 * allow-list does not apply, since an administrator chose them. oidc-provider
 * validates the rest, and the client is stored as registration stores it, so
 * oidc-provider finds it like any other. Returns the secret of a
 * confidential client: it is shown once.
 */
export async function registerManualClient(
  deps: { store: Store; provider: Provider; clientIndex: ClientIndex },
  input: ManualClientInput,
): Promise<{ clientId: string; secret?: string }> {
  const name = input.name.trim();
  if (!name) throw new ClientInputError('Give the client a name.');
  if (name.length > 200) throw new ClientInputError('The name is too long (200 characters at most).');
  if (input.redirectUris.length === 0) throw new ClientInputError('List at least one redirect URI.');
  for (const uri of input.redirectUris) {
    const refusal = redirectUriRefusal(uri);
    if (refusal) throw new ClientInputError(refusal);
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
    ...(looksNative(input.redirectUris) ? { application_type: 'native' } : {}),
  };
  try {
    await deps.provider.Client.validate(metadata as never);
  } catch (error) {
    if (error instanceof errors.OIDCProviderError) throw new ClientInputError(error.error_description ?? error.message);
    throw error;
  }
  const stored = { ...metadata, gatehouse_kind: 'manual' } as ClientMetadata & Record<string, unknown>;
  await new StoreAdapter('Client', deps.store).upsert(clientId, stored as never);
  await deps.clientIndex.record(stored, 'manual');
  return secret ? { clientId, secret } : { clientId };
}
