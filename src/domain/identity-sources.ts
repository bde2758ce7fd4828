import type { Queryable } from '../data/engines/store.ts';
import { issuersOf } from '../data/identity-links.ts';
import type { User } from './accounts.ts';
import type { IdentityProviders } from './identity-providers.ts';

/** How each person signs in, in words for the admin's list: their identity providers (by name), and "password" when they have one. */
export async function identitySources(db: Queryable, identityProviders: IdentityProviders, people: readonly User[]): Promise<Map<string, string>> {
  const [issuers, providers] = await Promise.all([issuersOf(db, people.map((person) => person.id)), identityProviders.list()]);
  const nameOf = (issuer: string) => providers.find((provider) => provider.issuer === issuer)?.name ?? issuer;
  return new Map(
    people.map((person) => {
      const sources = (issuers.get(person.id) ?? []).map(nameOf);
      if (person.hasPassword) sources.push('password');
      return [person.id, sources.length ? sources.join(', ') : 'nothing yet'];
    }),
  );
}
