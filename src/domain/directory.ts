import { clientNames } from '../data/client-index.ts';
import type { Queryable } from '../data/engines/store.ts';
import { findPersonalAccessToken } from '../data/personal-tokens.ts';
import { findUserById } from '../data/users.ts';
import type { Principal } from './principal.ts';

/** Who a principal is, in words people read: the person and the client app (or personal token) acting for them. */
export interface Described {
  /** Null for a service principal (a machine client with client credentials): it acts for no person. */
  person: { id: string; email: string | null; name: string | null } | null;
  client: { id: string; name: string | null };
}

export async function describePrincipal(db: Queryable, principal: Principal): Promise<Described> {
  if (principal.kind === 'service') {
    const name = (await clientNames(db, [principal.clientId])).get(principal.clientId) ?? null;
    return { person: null, client: { id: principal.clientId, name } };
  }
  const user = await findUserById(db, principal.userId);
  let clientName: string | null;
  if (principal.patId) {
    const token = await findPersonalAccessToken(db, principal.patId);
    clientName = token ? `personal access token "${token.name}"` : null;
  } else {
    clientName = (await clientNames(db, [principal.clientId])).get(principal.clientId) ?? null;
  }
  return {
    person: { id: principal.userId, email: user?.email ?? null, name: user?.name ?? null },
    client: { id: principal.clientId, name: clientName },
  };
}
