import { randomBytes } from 'node:crypto';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { ClientIndex, ClientMetadata } from '../data/client-index.ts';
import type { Store } from '../data/engines/store.ts';
import { looksNative, redirectUriRefusal } from '../domain/redirect-uris.ts';
import { RESOURCE_SCOPE_NAMES } from '../domain/scopes.ts';
import { StoreAdapter } from './adapter.ts';
import { JWT_BEARER_GRANT } from './id-jag.ts';

import { ClientInputError } from './client-errors.ts';

export { ClientInputError };

export interface ManualClientInput {
  name: string;
  redirectUris: string[];
  confidential: boolean;
  /** A machine client: `client_credentials` tokens that name no person. */
  clientCredentials?: boolean;
  /** Enterprise-managed authorization: trades ID-JAGs from a trusted identity provider at /token. */
  idJag?: boolean;
  /** The resource scopes it may ask for (machine clients); none restricts nothing. */
  scope?: string;
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
  const machine = input.clientCredentials === true || input.idJag === true;
  if (input.redirectUris.length === 0 && !machine) throw new ClientInputError('List at least one redirect URI.');
  const scopes = (input.scope ?? '').split(/[\s,]+/).filter(Boolean);
  const unknown = scopes.filter((scope) => !(RESOURCE_SCOPE_NAMES as string[]).includes(scope));
  if (unknown.length) throw new ClientInputError(`Unknown scope ${unknown.join(' ')}: this server serves ${RESOURCE_SCOPE_NAMES.join(', ')}.`);
  for (const uri of input.redirectUris) {
    const refusal = redirectUriRefusal(uri);
    if (refusal) throw new ClientInputError(refusal);
  }
  const clientId = randomBytes(16).toString('base64url');
  // Client credentials and ID-JAG authenticate the client itself: it needs a secret.
  const secret = input.confidential || machine ? randomBytes(32).toString('base64url') : undefined;
  const browserFlow = input.redirectUris.length > 0;
  const metadata: Record<string, unknown> = {
    client_id: clientId,
    client_id_issued_at: Math.floor(Date.now() / 1000),
    client_name: name,
    redirect_uris: input.redirectUris,
    grant_types: [
      ...(browserFlow ? ['authorization_code', 'refresh_token'] : []),
      ...(input.clientCredentials ? ['client_credentials'] : []),
      ...(input.idJag ? [JWT_BEARER_GRANT] : []),
    ],
    response_types: browserFlow ? ['code'] : [],
    ...(scopes.length ? { scope: scopes.join(' ') } : {}),
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
