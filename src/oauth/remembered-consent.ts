import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Store } from '../data/engines/store.ts';

/** Set on the request context when the grant came from a remembered decision. */
export const REMEMBERED_GRANT = Symbol('gatehouse.rememberedGrant');

/**
 * oidc-provider's `loadExistingGrant`: the grant just consented to in this
 * flow, or the one the person asked us to remember for this client. Without
 * "remember", every authorization asks again.
 */
export async function loadRememberedGrant(ctx: KoaContextWithOIDC, store: Store) {
  const { oidc } = ctx;
  const consentedNow = oidc.result?.consent?.grantId as string | undefined;
  if (consentedNow) return oidc.provider.Grant.find(consentedNow);

  const accountId = oidc.session?.accountId;
  const clientId = oidc.client?.clientId;
  if (!accountId || !clientId) return undefined;
  const row = await store.get<{ grant_id: string }>('SELECT grant_id FROM remembered_consents WHERE user_id = ? AND client_id = ?', [
    accountId,
    clientId,
  ]);
  if (!row) return undefined;
  const grant = await oidc.provider.Grant.find(row.grant_id);
  if (grant) (ctx as unknown as Record<symbol, boolean>)[REMEMBERED_GRANT] = true;
  return grant;
}

export async function rememberConsent(store: Store, userId: string, clientId: string, grantId: string, scope: string): Promise<void> {
  await store.run(
    `INSERT INTO remembered_consents (user_id, client_id, grant_id, scope, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (user_id, client_id) DO UPDATE SET grant_id = excluded.grant_id, scope = excluded.scope, created_at = excluded.created_at`,
    [userId, clientId, grantId, scope, Date.now()],
  );
}

export async function forgetConsent(store: Store, userId: string, clientId: string): Promise<void> {
  await store.run('DELETE FROM remembered_consents WHERE user_id = ? AND client_id = ?', [userId, clientId]);
}
