import { issuerRefusal, type Config } from '../config/config.ts';
import { audit } from '../data/audit-log.ts';
import type { Store } from '../data/engines/store.ts';
import { deleteIdentityProvider, listStoredIdentityProviders, saveIdentityProvider, type StoredIdentityProvider } from '../data/identity-providers.ts';
import type { Actor } from './access.ts';

/** An OpenID provider people sign in through, and whose ID-JAGs are trusted. */
export interface IdentityProvider extends Omit<StoredIdentityProvider, 'updatedAt'> {
  /** `config`: from SSO_* (changed by a restart); `admin`: added on the admin page. */
  source: 'config' | 'admin';
}

/** The id of the provider configured by SSO_*. */
export const CONFIGURED_PROVIDER_ID = 'company';

/** A refusal worded for the administrator who filled in the form. */
export class IdentityProviderInputError extends Error {}

const ID_SHAPE = /^[a-z0-9][a-z0-9-]{0,39}$/;

/**
 * The identity providers, as one list: the one from SSO_* and those added on
 * the admin page. Read from the Store every time it is asked (at each
 * sign-in's start and callback, each ID-JAG, each sign-in page), so a change
 * on the admin page applies on every instance at once, without a restart.
 */
export class IdentityProviders {
  constructor(
    private readonly store: Store,
    private readonly configured: Config['sso'],
  ) {}

  async list(): Promise<IdentityProvider[]> {
    const stored = (await listStoredIdentityProviders(this.store)).map((provider) => ({ ...provider, source: 'admin' as const }));
    return this.configured ? [{ id: CONFIGURED_PROVIDER_ID, ...this.configured, source: 'config' as const }, ...stored] : stored;
  }

  async find(id: string): Promise<IdentityProvider | undefined> {
    return (await this.list()).find((provider) => provider.id === id);
  }

  /** The provider whose ID-JAGs carry this `iss`. */
  async byIssuer(issuer: string): Promise<IdentityProvider | undefined> {
    return (await this.list()).find((provider) => provider.issuer === issuer);
  }

  /** Adds a provider, or changes the one with the same id; an empty secret keeps the current one. Audited. */
  async save(input: Omit<IdentityProvider, 'source'>, by: Actor): Promise<void> {
    const id = input.id.trim().toLowerCase();
    if (!ID_SHAPE.test(id)) throw new IdentityProviderInputError('The id is 1 to 40 lower-case letters, digits or dashes.');
    if (id === CONFIGURED_PROVIDER_ID) throw new IdentityProviderInputError(`"${CONFIGURED_PROVIDER_ID}" is the provider from SSO_*; choose another id.`);
    const name = input.name.trim();
    if (!name || name.length > 100) throw new IdentityProviderInputError('Give the provider a name (100 characters at most).');
    const issuer = input.issuer.trim();
    const refusal = issuerRefusal(issuer);
    if (refusal) throw new IdentityProviderInputError(`Issuer: ${refusal}.`);
    if (!input.clientId.trim()) throw new IdentityProviderInputError('The client id is needed.');
    const existing = (await this.list()).find((provider) => provider.id === id);
    const clientSecret = input.clientSecret || existing?.clientSecret;
    if (!clientSecret) throw new IdentityProviderInputError('The client secret is needed.');
    if ((await this.list()).some((provider) => provider.issuer === issuer && provider.id !== id)) {
      throw new IdentityProviderInputError('Another provider already has this issuer.');
    }
    await saveIdentityProvider(this.store, {
      id,
      name,
      issuer,
      clientId: input.clientId.trim(),
      clientSecret,
      allowedDomains: input.allowedDomains.map((domain) => domain.trim().toLowerCase().replace(/^@/, '')).filter(Boolean),
      adminGroups: input.adminGroups.map((group) => group.trim()).filter(Boolean),
    });
    await audit(this.store, { event: existing ? 'identity_provider.updated' : 'identity_provider.added', actor: by.actor, subject: id, ip: by.ip, detail: { issuer } });
  }

  async remove(id: string, by: Actor): Promise<boolean> {
    const removed = await deleteIdentityProvider(this.store, id);
    if (removed) await audit(this.store, { event: 'identity_provider.removed', actor: by.actor, subject: id, ip: by.ip });
    return removed;
  }
}
