import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Store } from '../data/engines/store.ts';
import { rememberedGrantId } from '../data/remembered-consents.ts';

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
  const grantId = await rememberedGrantId(store, accountId, clientId);
  if (!grantId) return undefined;
  const grant = await oidc.provider.Grant.find(grantId);
  if (grant) (ctx as unknown as Record<symbol, boolean>)[REMEMBERED_GRANT] = true;
  return grant;
}
